// Command minidirector is the smallest LVS-DR director: VRRP keeps the VIP on one
// machine, which then holds the VIP and an IPVS service over two real servers.
// The README shows it in full; examples/director is the complete daemon.
package main

import (
	"context"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"time"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, "eth0", netip.MustParseAddr("192.0.2.1")); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, ifName string, self netip.Addr) error {
	vipAddr := netip.MustParseAddr("192.0.2.100")
	addr := vip.Address{Interface: ifName, Prefix: netip.PrefixFrom(vipAddr, 32)}
	service := ipvs.VirtualServer{
		Service: ipvs.Service{Protocol: ipvs.TCP, Address: vipAddr, Port: 80, Scheduler: ipvs.RoundRobin},
		Destinations: []ipvs.Destination{
			{Address: netip.MustParseAddr("192.0.2.11"), Port: 80, Forward: ipvs.DirectRoute, Weight: 1},
			{Address: netip.MustParseAddr("192.0.2.12"), Port: 80, Forward: ipvs.DirectRoute, Weight: 1},
		},
	}

	lvs, err := ipvs.Dial(nil)
	if err != nil {
		return err
	}
	defer lvs.Close()
	vips, err := vip.Dial(nil)
	if err != nil {
		return err
	}
	defer vips.Close()
	announcer, err := vips.NewAnnouncer(&vip.AnnouncerConfig{Interface: ifName})
	if err != nil {
		return err
	}
	defer announcer.Close()
	transport, err := vrrp.ListenIP(&vrrp.TransportConfig{Interface: ifName})
	if err != nil {
		return err
	}
	router, err := vrrp.NewRouter(&vrrp.RouterConfig{
		Transport: transport,
		Instances: []vrrp.Config{{Name: "VI_1", VRID: 51, Priority: 100, AdvertInterval: time.Second,
			Primary: self, Addrs: []netip.Addr{vipAddr}}},
	})
	if err != nil {
		return err
	}
	go router.Run(ctx)

	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return vips.Remove(rctx, addr)
		case ev := <-router.Events():
			log.Printf("%s: %s -> %s (%s)", ev.Instance, ev.From, ev.To, ev.Reason)
			if ev.To != vrrp.StateMaster {
				if err := vips.Remove(ctx, addr); err != nil {
					return err
				}
				continue
			}
			if err := vips.Add(ctx, addr); err != nil {
				return err
			}
			go announcer.Announce(ctx, vip.KeepalivedPolicy(), vipAddr)
			if _, err := lvs.Reconcile(ctx, []ipvs.VirtualServer{service}); err != nil {
				return err
			}
		}
	}
}
