package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

func TestFileTrackStatus(t *testing.T) {
	for _, tt := range []struct {
		weight  int
		reverse bool
		v       int64
		fault   bool
		offset  int
	}{
		{0, false, 0, false, 0},
		{0, false, 3, true, 0},
		{0, true, 0, true, 0},
		{0, true, -1, false, 0},
		{10, false, 3, false, 30},
		{10, true, 3, false, -30},
		{-10, false, 25, false, -250},
		{-10, false, 26, true, 0},
		{254, false, 2, false, 253},
		{1, true, 254, true, 0},
	} {
		f := &fileTrack{weight: tt.weight, reverse: tt.reverse}
		fault, off := f.status(tt.v)
		if fault != tt.fault || off != tt.offset {
			t.Errorf("weight %d reverse %v value %d: fault %v offset %d, want %v %d", tt.weight, tt.reverse, tt.v, fault, off, tt.fault, tt.offset)
		}
	}
}

// TestTrackFileDaemon runs a daemon whose instances track files: a weighted file
// moves VI_1's priority as its value changes, a weight-0 file puts VI_2 (through
// its sync group) in FAULT while it holds a non-zero value.
func TestTrackFileDaemon(t *testing.T) {
	dir := t.TempDir()
	prioFile, gateFile := filepath.Join(dir, "prio"), filepath.Join(dir, "gate")
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(prioFile, "2\n")
	write(gateFile, "1\n")
	conf := fmt.Sprintf(`
track_file prio {
    file %s
    weight 5
}
track_file gate {
    file %s
    weight 0
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority 100
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_file {
        prio
    }
}
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 52
    version 3
    advert_int 0.1
    priority 100
    virtual_ipaddress {
        198.51.100.100/24
    }
}
vrrp_sync_group G {
    group {
        VI_2
    }
    track_file {
        gate
    }
}
`, prioFile, gateFile)
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	waitFor(t, "VI_1 at 100+2*5", func() bool { return h.instance("VI_1").Priority == 110 })
	waitFor(t, "VI_2 in FAULT (gate is 1)", func() bool { return h.instance("VI_2").State == "FAULT" })
	if s := h.instance("VI_2").State; s != "FAULT" {
		t.Fatalf("VI_2 %s", s)
	}

	write(prioFile, "-4")
	h.d.vr.feedTrackFiles()
	waitFor(t, "VI_1 at 100-4*5", func() bool { return h.instance("VI_1").Priority == 80 })
	write(gateFile, "0")
	h.d.vr.feedTrackFiles()
	waitFor(t, "VI_2 leaves FAULT", func() bool { return h.instance("VI_2").State == "MASTER" })
	// A reload of the same file keeps the Router, though the gate's value (which
	// the tracker started from) changed.
	rr := h.d.vr.routers["group:G"]
	if err := h.d.reload(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	if h.d.vr.routers["group:G"] != rr || rr == nil {
		t.Error("a reload restarted the Router of G after its track_file changed")
	}
	// The timer alone picks up a change too.
	write(prioFile, "-60")
	waitFor(t, "VI_1 in FAULT at -300", func() bool { return h.instance("VI_1").State == "FAULT" })
	os.Remove(prioFile) // a missing file reads as 0
	waitFor(t, "VI_1 back at 100", func() bool {
		in := h.instance("VI_1")
		return in.Priority == 100 && in.State == "MASTER"
	})
}
