package hatest_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/lvskit/lvskit/examples/hatest"
	"github.com/lvskit/lvskit/health/healthtest"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// Two directors share one fake clock: VRRP elects the higher priority, whose IPVS table
// follows the health of the real servers, and the backup takes over with the table
// when the master dies.
func Example() {
	clk := vrrptest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	nw := vrrptest.NewNetwork()
	nw.SetClock(clk) // Advance waits for adverts in flight
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.100"), Port: 80}
	rs := healthtest.NewChecker()
	backends := []hatest.Backend{
		{Destination: ipvs.Destination{Address: netip.MustParseAddr("198.51.100.11"), Port: 80, Weight: 1}, Check: healthtest.NewChecker()},
		{Destination: ipvs.Destination{Address: netip.MustParseAddr("198.51.100.12"), Port: 80, Weight: 1}, Check: rs},
	}
	ctx, cancel := context.WithCancel(context.Background())
	type host struct {
		d    *hatest.Director
		ep   *vrrptest.Endpoint
		look *ipvs.Client
	}
	var hosts []host
	var stopped []chan error
	for i, prio := range []uint8{150, 100} {
		self := netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
		kernel := ipvstest.New(nil) // this host's IPVS
		own, _ := ipvs.NewClient(kernel.Dial())
		look, _ := ipvs.NewClient(kernel.Dial())
		ep := nw.Attach(self)
		d, err := hatest.New(&hatest.Config{
			Clock: clk, Transport: ep, IPVS: own, Service: svc, Backends: backends,
			Instance: vrrp.Config{Name: "web", VRID: 51, Version: 3, Priority: prio,
				AdvertInterval: 100 * time.Millisecond, Primary: self, Addrs: []netip.Addr{svc.Address}},
			CheckInterval: time.Second, Resync: 500 * time.Millisecond,
		})
		if err != nil {
			panic(err)
		}
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		<-d.Started()
		hosts = append(hosts, host{d, ep, look})
		stopped = append(stopped, done)
	}
	show := func(step string) {
		fmt.Println(step)
		for i, h := range hosts {
			t, _ := hatest.Table(ctx, h.look)
			fmt.Printf("  lb%d %-7v %v\n", i+1, h.d.State(), t)
		}
	}

	clk.Advance(5 * time.Second)
	show("elected:")
	rs.SetDown(errors.New("connection refused"))
	clk.Advance(2 * time.Second)
	show("198.51.100.12 down:")
	rs.SetUp()
	clk.Advance(2 * time.Second)
	show("198.51.100.12 back:")
	hosts[0].ep.SetUp(false) // lb1 dies
	clk.Advance(2 * time.Second)
	show("lb1 dead:")

	cancel()
	for _, done := range stopped {
		<-done
	}
	// Output:
	// elected:
	//   lb1 MASTER  [{TCP 192.0.2.100:80 [198.51.100.11:80 198.51.100.12:80]}]
	//   lb2 BACKUP  []
	// 198.51.100.12 down:
	//   lb1 MASTER  [{TCP 192.0.2.100:80 [198.51.100.11:80]}]
	//   lb2 BACKUP  []
	// 198.51.100.12 back:
	//   lb1 MASTER  [{TCP 192.0.2.100:80 [198.51.100.11:80 198.51.100.12:80]}]
	//   lb2 BACKUP  []
	// lb1 dead:
	//   lb1 MASTER  [{TCP 192.0.2.100:80 [198.51.100.11:80 198.51.100.12:80]}]
	//   lb2 MASTER  [{TCP 192.0.2.100:80 [198.51.100.11:80 198.51.100.12:80]}]
}
