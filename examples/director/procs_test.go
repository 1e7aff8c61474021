package main

import (
	"io"
	"testing"
)

func TestDaemonProcs(t *testing.T) {
	for _, c := range []struct {
		flag int
		env  string
		want int
	}{
		{0, "", 1},     // the default: one P, like keepalived's VRRP process
		{0, "4", 4},    // GOMAXPROCS in the environment is honoured
		{0, "zero", 1}, // a malformed one is ignored, as the runtime ignores it
		{0, "0", 1},    // and a non-positive one
		{3, "4", 3},    // -procs wins over the environment
		{2, "", 2},
	} {
		if got := daemonProcs(c.flag, c.env); got != c.want {
			t.Errorf("daemonProcs(%d, %q) = %d, want %d", c.flag, c.env, got, c.want)
		}
	}
}

func TestProcsFlag(t *testing.T) {
	o, err := parseFlags([]string{"-procs", "2"}, io.Discard)
	if err != nil || o.procs != 2 {
		t.Fatalf("-procs 2: %+v, %v", o.procs, err)
	}
	if _, err := parseFlags([]string{"-procs", "-1"}, io.Discard); err == nil {
		t.Fatal("-procs -1 accepted")
	}
}
