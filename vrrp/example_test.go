package vrrp_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// A Machine is driven by hand: every input returns the actions to carry out.
func ExampleMachine() {
	m, err := vrrp.NewMachine(&vrrp.Config{
		VRID:           51,
		Priority:       100,
		AdvertInterval: time.Second,
		Primary:        netip.MustParseAddr("192.0.2.1"),
		Addrs:          []netip.Addr{netip.MustParseAddr("192.0.2.100")},
	})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	acts := m.Start(now, nil)
	for _, a := range acts {
		if a.Kind == vrrp.ActArm {
			fmt.Println("arm", a.Timer, "for", a.After)
			// ... and when it fires:
			acts = m.Expire(now.Add(a.After), a.Timer, a.Gen, nil)
		}
	}
	for _, a := range acts {
		switch a.Kind {
		case vrrp.ActSend:
			fmt.Println("send advert at priority", a.Priority)
		case vrrp.ActState:
			fmt.Println(a.From, "->", a.To, "("+a.Reason.String()+")")
		}
	}
	// Output:
	// arm master-down for 3.609375s
	// send advert at priority 100
	// BACKUP -> MASTER (master down timeout)
}

// Parse decodes into a reused Advert; Append encodes into a reused buffer.
func ExampleParse() {
	src := netip.MustParseAddr("192.0.2.1")
	out := vrrp.Advert{Version: 2, VRID: 51, Priority: 100, Interval: 100, AuthType: vrrp.AuthSimple,
		AuthData: [8]byte{'1', '1', '1', '1'}, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	b, err := out.Append(make([]byte, 0, 64), src, vrrp.MulticastIPv4)
	if err != nil {
		panic(err)
	}
	var in vrrp.Advert
	if err := vrrp.Parse(b, src, vrrp.MulticastIPv4, &in); err != nil {
		panic(err)
	}
	fmt.Println(in.String(), in.Addrs)
	b[7]++ // corrupt the checksum
	err = vrrp.Parse(b, src, vrrp.MulticastIPv4, &in)
	fmt.Println(err, vrrp.ReasonOf(err) == vrrp.DropChecksum)
	// Output:
	// v2 vrid 51 prio 100 int 100cs 1 addrs [192.0.2.100]
	// vrrp: dropped: bad checksum true
}

// A Router runs instances over a transport; here the in-memory one from vrrptest
// (ListenIP on Linux for the real network).
func ExampleRouter() {
	ep := vrrptest.NewNetwork().Attach(netip.MustParseAddr("192.0.2.1"))
	r, err := vrrp.NewRouter(&vrrp.RouterConfig{
		Transport: ep,
		Instances: []vrrp.Config{{
			Name:           "VI_1",
			VRID:           51,
			AdvertInterval: 10 * time.Millisecond,
			Primary:        netip.MustParseAddr("192.0.2.1"),
			Addrs:          []netip.Addr{netip.MustParseAddr("192.0.2.100")},
		}},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go r.Run(ctx)
	for ev := range r.Events() {
		fmt.Println(ev.Instance, ev.From, "->", ev.To)
		if ev.To == vrrp.StateMaster {
			break
		}
	}
	// Output:
	// VI_1 INIT -> BACKUP
	// VI_1 BACKUP -> MASTER
}
