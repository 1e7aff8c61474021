package vrrp_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// Routers share one transport through a Mux, each attached with its own VRIDs. On
// Linux the transport comes from vrrp.ListenIP; here it is an in-memory one.
func ExampleMux() {
	nw := vrrptest.NewNetwork()
	self, peer := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1")
	mux := vrrp.NewMux(nw.Attach(self))
	defer mux.Close()

	ep, err := mux.Attach([]uint8{1, 2}, nil)
	if err != nil {
		panic(err)
	}
	_, err = mux.Attach([]uint8{2, 3}, nil) // VRID 2 is taken
	fmt.Println(err)

	cfg := func(name string, vrid uint8) vrrp.Config {
		return vrrp.Config{Name: name, VRID: vrid, Priority: 100, AdvertInterval: time.Second,
			Primary: self, Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.10")}}
	}
	r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: []vrrp.Config{cfg("web", 1), cfg("db", 2)}, Transport: ep})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-r.Started()

	// The peer advertises VRID 1, which the Router holds, and VRID 9, which nobody does.
	peerEP := nw.Attach(peer)
	for _, vrid := range []uint8{1, 9} {
		a := vrrp.Advert{Version: 3, VRID: vrid, Priority: 200, Interval: 100, Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.10")}}
		b, _ := a.Append(nil, peer, vrrp.MulticastIPv4)
		peerEP.WriteTo(b, peer, vrrp.MulticastIPv4)
	}
	for r.Counters().RxAdverts < 1 || mux.Counters().Read < 2 {
		time.Sleep(time.Millisecond)
	}
	c := mux.Counters()
	fmt.Printf("mux: read %d, delivered %d, no endpoint %d\n", c.Read, c.Delivered, c.DropNoEndpoint)
	fmt.Println("web follows", r.Snapshot()[0].MasterAddr)
	cancel()
	<-done
	// Output:
	// vrrp: invalid configuration: VRID 2 is already attached for multicast on this mux
	// mux: read 2, delivered 1, no endpoint 1
	// web follows 192.0.2.1
}
