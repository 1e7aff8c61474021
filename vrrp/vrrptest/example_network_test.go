package vrrptest_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// Two real vrrp.Routers on an in-memory Network, driven by one fake Clock: the higher
// priority becomes Master, and when its link goes down the other takes over after the
// Master_Down_Interval. Advance returns only once every advert sent so far has been
// processed, so the states read after it are the same on every run.
func ExampleNetwork() {
	clk := vrrptest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	nw := vrrptest.NewNetwork()
	nw.SetClock(clk)
	ctx, cancel := context.WithCancel(context.Background())
	var routers []*vrrp.Router
	var eps []*vrrptest.Endpoint
	var done []chan error
	for i, prio := range []uint8{150, 100} {
		self := netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
		ep := nw.Attach(self)
		r, err := vrrp.NewRouter(&vrrp.RouterConfig{
			Clock: clk, Transport: ep,
			Instances: []vrrp.Config{{Name: fmt.Sprintf("lb%d", i+1), VRID: 51, Version: 3, Priority: prio,
				AdvertInterval: 100 * time.Millisecond, Primary: self,
				Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}},
		})
		if err != nil {
			panic(err)
		}
		d := make(chan error, 1)
		go func() { d <- r.Run(ctx) }()
		<-r.Started()
		routers, eps, done = append(routers, r), append(eps, ep), append(done, d)
	}
	show := func() {
		a, b := routers[0].Snapshot()[0], routers[1].Snapshot()[0]
		fmt.Printf("%s %s, %s %s\n", a.Name, a.State, b.Name, b.State)
	}
	clk.Advance(5 * time.Second)
	show()
	eps[0].SetUp(false) // lb1's link goes down
	clk.Advance(time.Second)
	show()
	cancel()
	for _, d := range done {
		<-d
	}
	// Output:
	// lb1 MASTER, lb2 BACKUP
	// lb1 MASTER, lb2 MASTER
}
