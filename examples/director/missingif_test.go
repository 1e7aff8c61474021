package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
)

func TestMissingInterfaces(t *testing.T) {
	cfg := &kaconf.Config{
		Instances: []kaconf.Instance{{
			Pos: kaconf.Pos{File: "k.conf", Line: 3}, Name: "VI_1", Interface: "eth9",
			TrackInterfaces: []kaconf.TrackInterface{
				{Pos: kaconf.Pos{File: "k.conf", Line: 7}, Name: "eth0"},
				{Pos: kaconf.Pos{File: "k.conf", Line: 8}, Name: "bond7"},
			},
			VIPs: []kaconf.VIP{{Pos: kaconf.Pos{File: "k.conf", Line: 11}, Dev: "eth9"}},
		}},
	}
	exists := func(name string) bool { return name == "eth0" }
	// eth9 is reported once, at its first mention.
	got := missingInterfaces(cfg, exists)
	want := []string{
		"k.conf:3: interface eth9 for vrrp_instance VI_1 does not exist",
		"k.conf:8: interface bond7 for vrrp_instance VI_1 track_interface does not exist",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("missingInterfaces (-want +got):\n%s", diff)
	}
}
