package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wantNs     []int
		wantWindow time.Duration
	}{
		{"defaults", nil, []int{10, 50, 250, 1000}, 10 * time.Second},
		{"failover round added when not listed", []string{"-n", "10, 50", "-failover", "20", "-secs", "2.5"}, []int{10, 50, 20}, 2500 * time.Millisecond},
		{"no failover", []string{"-n", "10", "-failover", "0"}, []int{10}, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.ns, tc.wantNs) || o.secs != tc.wantWindow {
				t.Errorf("ns, secs = %v, %v; want %v, %v", o.ns, o.secs, tc.wantNs, tc.wantWindow)
			}
		})
	}
	for _, bad := range [][]string{
		{"-n", "0"}, {"-n", "8161"}, {"-n", "ten"}, {"-secs", "0"}, {"-secs", "601"},
		{"-failover", "-1"}, {"-only", "bird"}, {"extra"},
	} {
		if o, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) = %+v, want an error", bad, o)
		}
	}
}
