package main

import (
	"fmt"
	"io"
	"net/netip"
	"testing"

	"github.com/lvskit/lvskit/ipvs"
)

// benchSnap is the benchmark's table (2,000 services x 4 destinations) as Snapshot
// returns it, in an order other than ipvsadm's.
func benchSnap() []ipvs.ServiceStatus {
	snap := make([]ipvs.ServiceStatus, 2000)
	for i := range snap {
		vip := netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i%250)})
		s := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: vip, Port: uint16(1000 + i/250), Scheduler: "wlc"}
		ds := make([]ipvs.DestinationStatus, 4)
		for j := range ds {
			ds[j].Destination = ipvs.Destination{Family: ipvs.IPv4, Address: netip.AddrFrom4([4]byte{198, 51, 100, byte(4 - j)}), Port: 80, Forward: ipvs.DirectRoute, Weight: 1}
		}
		snap[(i*7919)%2000] = ipvs.ServiceStatus{Service: s, Destinations: ds}
	}
	return snap
}

// BenchmarkSave is -Sn's work after Snapshot: sorting and formatting.
func BenchmarkSave(b *testing.B) {
	snap := benchSnap()
	b.ReportAllocs()
	for b.Loop() {
		writeSave(io.Discard, snap, true)
	}
}

// BenchmarkSort is sortTable alone.
func BenchmarkSort(b *testing.B) {
	snap := benchSnap()
	b.ReportAllocs()
	for b.Loop() {
		snap = sortTable(snap)
	}
}

// BenchmarkList is -Ln's work after Snapshot.
func BenchmarkList(b *testing.B) {
	snap := benchSnap()
	b.ReportAllocs()
	for b.Loop() {
		writeList(io.Discard, ipvs.Info{}, snap, listOpts{}, true, true)
	}
}

// BenchmarkRestoreParse is -R's work before Apply: splitting and parsing the benchmark's
// 10,000 rules.
func BenchmarkRestoreParse(b *testing.B) {
	var lines []string
	for i := 0; i < 2000; i++ {
		vip := fmt.Sprintf("192.0.2.%d:%d", 1+i%250, 1000+i/250)
		lines = append(lines, "-A -t "+vip+" -s wlc")
		for j := 0; j < 4; j++ {
			lines = append(lines, fmt.Sprintf("-a -t %s -r 198.51.100.%d:80 -g -w 1", vip, j+1))
		}
	}
	b.ReportAllocs()
	var p parser
	var fields []string
	for b.Loop() {
		for _, l := range lines {
			fields = splitWords(fields[:0], l)
			cmd, err := p.parse(fields)
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := cmd.op(); !ok {
				b.Fatalf("%s: no op", l)
			}
		}
	}
}
