package vip_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/lvskit/lvskit/vip"
)

// A director taking over a VIP: clean up after a crashed predecessor, add the
// address, announce it the way keepalived does, and remove it when done.
func Example() {
	c, err := vip.Dial(&vip.Config{StateFile: "/var/lib/lvskit/vips"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if stale, err := c.Cleanup(context.Background()); err != nil {
		log.Fatal(err)
	} else if len(stale) > 0 {
		log.Printf("removed %d VIPs left by a crashed run", len(stale))
	}

	a := vip.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.100/24"), Label: "eth0:vip"}
	if err := c.Add(context.Background(), a); err != nil {
		log.Fatal(err)
	}
	defer c.Remove(context.Background(), a)

	ann, err := c.NewAnnouncer(&vip.AnnouncerConfig{Interface: "eth0"})
	if err != nil {
		log.Fatal(err)
	}
	defer ann.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ann.Announce(ctx, vip.KeepalivedPolicy(), a.Prefix.Addr()); err != nil {
		log.Fatal(err)
	}
}

// A daemon that keeps its VIPs in place.
func ExampleWatcher_Next() {
	c, err := vip.Dial(&vip.Config{NetNS: "/run/netns/director"})
	if err != nil {
		log.Fatal(err)
	}
	w, err := c.NewWatcher()
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			log.Fatal(err)
		}
		switch ev.Kind {
		case vip.AddressRemoved:
			a := ev.Address
			a.Owned = false
			if err := c.Add(context.Background(), a); err != nil {
				log.Print(err)
			}
		case vip.LinkUp:
			// announce again
		}
	}
}

func ExampleAddress_Validate() {
	a := vip.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.100/32"), Label: "eth1:0"}
	fmt.Println(a.Validate())
	a.Label = "eth0:0"
	fmt.Println(a.Validate())
	// Output:
	// vip: label "eth1:0": label must start with the interface name and be at most 15 bytes
	// <nil>
}

func ExampleKeepalivedPolicy() {
	p := vip.KeepalivedPolicy()
	fmt.Printf("%d now, %d more after %v\n", p.Count, p.RepeatCount, p.RepeatDelay)
	// Output: 5 now, 5 more after 5s
}
