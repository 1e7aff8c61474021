package ipvs_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
)

// A director's table, declared and reconciled. The example runs against ipvstest; a
// real program would call ipvs.Dial(nil) instead.
func ExampleClient_Reconcile() {
	c, err := ipvs.NewClient(ipvstest.New(nil).Dial())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	desired := []ipvs.VirtualServer{{
		Service: ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80, Scheduler: ipvs.RoundRobin},
		Destinations: []ipvs.Destination{
			{Address: netip.MustParseAddr("198.51.100.10"), Port: 80, Forward: ipvs.DirectRoute, Weight: 1},
			{Address: netip.MustParseAddr("198.51.100.11"), Port: 80, Forward: ipvs.DirectRoute, Weight: 1},
		},
	}}
	ops, err := c.Reconcile(context.Background(), desired)
	if err != nil {
		log.Fatal(err)
	}
	for _, op := range ops {
		fmt.Println(op)
	}
	ops, _ = c.Reconcile(context.Background(), desired)
	fmt.Println(len(ops), "operations the second time")
	// Output:
	// create service TCP 192.0.2.1:80
	// create destination TCP 192.0.2.1:80 -> 198.51.100.10:80
	// create destination TCP 192.0.2.1:80 -> 198.51.100.11:80
	// 0 operations the second time
}

func ExampleClient_CreateService() {
	c, err := ipvs.NewClient(ipvstest.New(nil).Dial())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	svc := ipvs.Service{FWMark: 100, Scheduler: ipvs.SourceHashing, Flags: ipvs.FlagSHFallback}
	if err := c.CreateService(ctx, svc); err != nil {
		log.Fatal(err)
	}
	err = c.CreateService(ctx, svc)
	fmt.Println(errors.Is(err, ipvs.ErrExists))
	fmt.Println(err)
	// Output:
	// true
	// ipvs: create service FWM 100: already exists: file exists
}

func ExampleClient_Snapshot() {
	c, err := ipvs.NewClient(ipvstest.New(nil).Dial())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.UDP, Address: netip.MustParseAddr("2001:db8::1"), Port: 53}
	_ = c.CreateService(ctx, svc)
	_ = c.CreateDestination(ctx, svc, ipvs.Destination{Address: netip.MustParseAddr("2001:db8::10"), Port: 53, Weight: 1})
	snap, err := c.Snapshot(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range snap {
		fmt.Println(s.Service, s.Service.Scheduler)
		for _, d := range s.Destinations {
			fmt.Println("  ->", d.Destination, d.Destination.Forward, d.Destination.Weight, d.ActiveConns)
		}
	}
	// Output:
	// UDP [2001:db8::1]:53 wlc
	//   -> [2001:db8::10]:53 Masq 1 0
}
