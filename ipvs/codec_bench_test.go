package ipvs

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/mdlayher/netlink"
)

var benchService = Service{Family: IPv4, Protocol: TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80,
	Scheduler: RoundRobin, Flags: FlagPersistent, Timeout: 300 * time.Second, Netmask: 24}

// BenchmarkEncodeService measures packing one full service (a create request's body).
func BenchmarkEncodeService(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ae := netlink.NewAttributeEncoder()
		encodeService(ae, benchService, true)
		if _, err := ae.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeService measures decoding one service of a dump reply as ipvstest
// sends it (the kernel's attributes: 32- and 64-bit statistics, flags, netmask).
func BenchmarkDecodeService(b *testing.B) {
	c, err := NewClient(ipvstest.New(nil).Dial())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.CreateService(ctx, benchService); err != nil {
		b.Fatal(err)
	}
	var bodies [][]byte
	if err := c.do(ctx, func() error {
		bodies, err = c.exec(cmdGetService, true, nil)
		return err
	}); err != nil || len(bodies) != 1 {
		b.Fatalf("dump: %d replies, %v", len(bodies), err)
	}
	got, err := decodeServiceMessage(bodies[0])
	if err != nil || got.Service != benchService {
		b.Fatalf("decoded %+v, %v; want %+v", got.Service, err, benchService)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeServiceMessage(bodies[0]); err != nil {
			b.Fatal(err)
		}
	}
}
