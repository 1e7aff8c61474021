package ipvstest_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
)

func client(t *testing.T, srv *ipvstest.Server) *ipvs.Client {
	t.Helper()
	c, err := ipvs.NewClient(srv.Dial())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTable(t *testing.T) {
	ctx := context.Background()
	srv := ipvstest.New(nil)
	if got := srv.Table(); got != nil {
		t.Fatalf("Table of an empty server = %v, want nil", got)
	}
	c := client(t, srv)
	web := ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80, Scheduler: ipvs.WeightedRoundRobin,
		Flags: ipvs.FlagPersistent, Timeout: 300 * time.Second, Netmask: 24}
	mark := ipvs.Service{Family: ipvs.IPv6, FWMark: 7, Scheduler: ipvs.SourceHashing}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateService(ctx, mark))
	must(c.CreateService(ctx, web))
	must(c.CreateDestination(ctx, web, ipvs.Destination{Address: netip.MustParseAddr("198.51.100.1"), Port: 8080, Weight: 2}))
	must(c.CreateDestination(ctx, web, ipvs.Destination{Address: netip.MustParseAddr("198.51.100.2"), Port: 8080,
		Forward: ipvs.Tunnel, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, UpperThreshold: 10, LowerThreshold: 5}))
	must(c.CreateDestination(ctx, mark, ipvs.Destination{Address: netip.MustParseAddr("2001:db8::1"), Forward: ipvs.DirectRoute, Weight: 1}))
	srv.AddTraffic(3)
	requests := srv.Requests()

	want := []ipvstest.Service{
		{Family: 2, Protocol: 6, Address: netip.MustParseAddr("192.0.2.1"), Port: 80, Scheduler: "wrr", Flags: 1,
			Timeout: 300, Netmask: 0xffffff00, Destinations: []ipvstest.Destination{
				{Family: 2, Address: netip.MustParseAddr("198.51.100.2"), Port: 8080, Forward: 2, UpperThreshold: 10,
					LowerThreshold: 5, TunnelType: 1, TunnelPort: 6080, ActiveConns: 3, InactiveConns: 3},
				{Family: 2, Address: netip.MustParseAddr("198.51.100.1"), Port: 8080, Weight: 2, ActiveConns: 3, InactiveConns: 3},
			}},
		{Family: 10, Protocol: 6, FWMark: 7, Scheduler: "sh", Netmask: 128, Destinations: []ipvstest.Destination{
			{Family: 10, Address: netip.MustParseAddr("2001:db8::1"), Forward: 3, Weight: 1, ActiveConns: 3, InactiveConns: 3},
		}},
	}
	if diff := cmp.Diff(want, srv.Table(), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("Table (-want +got):\n%s", diff)
	}
	if srv.Requests() != requests {
		t.Errorf("Table counted as a request: %d, want %d", srv.Requests(), requests)
	}
	// The copy is the caller's.
	tab := srv.Table()
	tab[0].Destinations[0].Weight = 99
	if srv.Table()[0].Destinations[0].Weight != 0 {
		t.Error("changing Table's result changed the server")
	}
	// The client reads the same order.
	snap, err := c.Snapshot(ctx)
	must(err)
	if len(snap) != 2 || snap[0].Service.Port != 80 || snap[1].Service.FWMark != 7 ||
		snap[0].Destinations[0].Destination.Address != netip.MustParseAddr("198.51.100.2") {
		t.Errorf("Snapshot order differs from Table's: %v", ipvs.Table(snap))
	}
}

func TestServiceOrder(t *testing.T) {
	tcp := func(addr string, port uint16) ipvs.Service {
		return ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr(addr), Port: port}
	}
	type key struct {
		addr   string
		port   uint16
		fwmark uint32
	}
	// With seed 0 the kernel's bucket of a TCP service is (6 ^ address ^ port) & 255
	// (the port's high byte folded in): 192.0.2.1:80 and 192.0.2.2:83 share bucket
	// 0x57, 192.0.2.2:80 is in 0x54; firewall mark m is in bucket m ^ seed.
	services := []ipvs.Service{
		{Family: ipvs.IPv4, FWMark: 1},
		tcp("192.0.2.1", 80),
		{Family: ipvs.IPv4, FWMark: 3},
		tcp("192.0.2.2", 80),
		tcp("192.0.2.2", 83),
	}
	tests := []struct {
		seed uint8
		want []key
	}{
		// Address services before firewall marks, by bucket, newest first in a bucket.
		{0, []key{{"192.0.2.2", 80, 0}, {"192.0.2.2", 83, 0}, {"192.0.2.1", 80, 0}, {"", 0, 1}, {"", 0, 3}}},
		// Seed 3 swaps buckets 0x54 and 0x57, and the marks' buckets 1 and 3 become 2 and 0.
		{3, []key{{"192.0.2.2", 83, 0}, {"192.0.2.1", 80, 0}, {"192.0.2.2", 80, 0}, {"", 0, 3}, {"", 0, 1}}},
	}
	for _, tt := range tests {
		srv := ipvstest.New(&ipvstest.Config{ServiceHashSeed: tt.seed})
		c := client(t, srv)
		for _, s := range services {
			if err := c.CreateService(context.Background(), s); err != nil {
				t.Fatal(err)
			}
		}
		var got []key
		for _, s := range srv.Table() {
			k := key{port: s.Port, fwmark: s.FWMark}
			if s.Address.IsValid() {
				k.addr = s.Address.String()
			}
			got = append(got, k)
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(key{})); diff != "" {
			t.Errorf("seed %d: services (-want +got):\n%s", tt.seed, diff)
		}
	}
}

func TestFailNext(t *testing.T) {
	ctx := context.Background()
	srv := ipvstest.New(nil)
	c := client(t, srv)
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80}
	srv.FailNext(ipvstest.CmdNewService, ipvstest.EPERM)
	srv.FailNext(ipvstest.CmdNewService, ipvstest.EEXIST)
	srv.FailNext(ipvstest.CmdGetService, ipvstest.ENOENT)

	if err := c.CreateService(ctx, svc); !errors.Is(err, os.ErrPermission) {
		t.Errorf("first create: %v, want EPERM", err)
	}
	if err := c.CreateService(ctx, svc); !errors.Is(err, ipvs.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	if srv.Table() != nil {
		t.Errorf("a failed request changed the table: %v", srv.Table())
	}
	// The queue of CmdNewService is used up; the failure of CmdGetService waits for one.
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatalf("third create: %v", err)
	}
	if _, err := c.Services(ctx); err == nil {
		t.Error("Services after FailNext(CmdGetService): no error")
	}
	// A refused request leaves the connection usable.
	if got, err := c.Services(ctx); err != nil || len(got) != 1 {
		t.Errorf("Services: %d services, %v; want 1", len(got), err)
	}
}
