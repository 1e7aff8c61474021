package ipvs_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/lvskit/lvskit/ipvs"
)

// benchTable is n TCP services with d DR destinations each, the shape of the kernel
// comparison in docs/benchmarks/ipvs.md.
func benchTable(n, d int) []ipvs.VirtualServer {
	table := make([]ipvs.VirtualServer, n)
	for i := range table {
		s := ipvs.Service{Protocol: ipvs.TCP, Address: netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i%250)}),
			Port: uint16(1000 + i/250), Scheduler: ipvs.WeightedLeastConnection}
		ds := make([]ipvs.Destination, d)
		for j := range ds {
			ds[j] = ipvs.Destination{Address: netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + j)}), Port: 80,
				Forward: ipvs.DirectRoute, Weight: 1}
		}
		table[i] = ipvs.VirtualServer{Service: s, Destinations: ds}
	}
	return table
}

// BenchmarkApply applies 200 services with 4 destinations each (1,000 operations) to an
// empty ipvstest table; the flush between iterations is not timed. It measures the
// client's encoding and pipelining, not the kernel.
func BenchmarkApply(b *testing.B) {
	c, _ := newFake(b, nil)
	ctx := context.Background()
	ops := ipvs.Diff(benchTable(200, 4), nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Apply(ctx, ops); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := c.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ops)), "ns/operation")
}

// BenchmarkSnapshot reads a table of 200 services with 4 destinations each from ipvstest.
func BenchmarkSnapshot(b *testing.B) {
	c, _ := newFake(b, nil)
	ctx := context.Background()
	if err := c.Apply(ctx, ipvs.Diff(benchTable(200, 4), nil)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		snap, err := c.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(snap) != 200 || len(snap[199].Destinations) != 4 {
			b.Fatalf("snapshot has %d services", len(snap))
		}
	}
}
