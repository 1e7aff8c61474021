package viptest_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vip/viptest"
)

// A daemon's VIP handling tested without root: a real vip.Client adds a VIP to the
// fake kernel, an administrator deletes it behind the daemon's back, and the test
// sees what is left.
func Example() {
	ctx := context.Background()
	k := viptest.New(&viptest.Config{
		// The host's own address, which the daemon must never touch.
		Addresses: []vip.Address{{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.1/24")}},
	})
	c := vip.NewClient(k.Dial(), nil)
	defer c.Close()

	for _, p := range []string{"192.0.2.10/32", "2001:db8::10/128"} {
		if err := c.Add(ctx, vip.Address{Interface: "eth0", Prefix: netip.MustParsePrefix(p)}); err != nil {
			fmt.Println(err)
		}
	}
	// ip addr del 192.0.2.10/32 dev eth0
	if err := k.DeleteAddress(vip.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/32")}); err != nil {
		fmt.Println(err)
	}
	for _, a := range k.Addresses() {
		fmt.Println(a, "owned:", a.Owned)
	}
	removed, err := c.Cleanup(ctx)
	fmt.Println("cleanup removed", removed, err)
	fmt.Println("left", k.Addresses())
	// Output:
	// 192.0.2.1/24 dev eth0 owned: false
	// 2001:db8::10/128 dev eth0 owned: true
	// cleanup removed [2001:db8::10/128 dev eth0] <nil>
	// left [192.0.2.1/24 dev eth0]
}
