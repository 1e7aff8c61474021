package vip

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
)

func dialNS(t *testing.T, ns *testenv.NetNS, cfg *Config) *Client {
	t.Helper()
	if cfg == nil {
		cfg = &Config{}
	}
	cfg.NetNS = ns.Path()
	c, err := Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestIntegrationAddListRemove(t *testing.T) {
	ns := testenv.NewNetNS(t)
	other := testenv.NewNetNS(t)
	testenv.Veth(t, ns, "eth0", other, "eth0")
	c := dialNS(t, ns, nil)

	adds := []Address{
		{Interface: "lo", Prefix: netip.MustParsePrefix("192.0.2.10/32")},
		{Interface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.7/24"), Label: "eth0:vip", NoPrefixRoute: true},
		{Interface: "lo", Prefix: netip.MustParsePrefix("2001:db8::10/128")},
		{Interface: "eth0", Prefix: netip.MustParsePrefix("2001:db8:1::7/64"), Scope: ScopeUniverse},
		{Interface: "lo", Prefix: netip.MustParsePrefix("203.0.113.9/32"), Scope: ScopeHost},
	}
	for _, a := range adds {
		if err := c.Add(context.Background(), a); err != nil {
			t.Fatalf("Add(%s): %v", a, err)
		}
		// Adding again is not an error.
		if err := c.Add(context.Background(), a); err != nil {
			t.Fatalf("second Add(%s): %v", a, err)
		}
	}
	owned, err := c.Owned(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var want []Address
	for _, a := range adds {
		a.Owned = true
		want = append(want, a)
	}
	sortAddrs(want)
	sortAddrs(owned)
	if diff := cmp.Diff(want, owned); diff != "" {
		t.Fatalf("Owned (-want +got):\n%s", diff)
	}

	// What the kernel shows through ip(8).
	out := ns.MustExec(t, "ip", "-d", "addr", "show")
	for _, frag := range []string{
		"inet 198.51.100.7/24 scope global noprefixroute eth0:vip",
		"inet6 2001:db8::10/128 scope global nodad",
		"preferred_lft 0sec",
		"inet 203.0.113.9/32 scope host lo",
	} {
		if !strings.Contains(out, frag) {
			t.Errorf("ip addr lacks %q:\n%s", frag, out)
		}
	}
	if strings.Contains(ns.MustExec(t, "ip", "route", "show", "table", "main"), "198.51.100.0/24") {
		t.Error("noprefixroute address got a prefix route")
	}

	// A clash: the same address on the same interface with another length.
	for _, a := range []Address{
		{Interface: "lo", Prefix: netip.MustParsePrefix("192.0.2.10/24")},
	} {
		if err := c.Add(context.Background(), a); !errors.Is(err, ErrConflict) {
			t.Errorf("Add(%s) = %v, want ErrConflict", a, err)
		}
	}
	if err := c.Add(context.Background(), Address{Interface: "eth9", Prefix: netip.MustParsePrefix("192.0.2.11/32")}); !errors.Is(err, ErrUnknownInterface) {
		t.Errorf("Add on eth9 = %v, want ErrUnknownInterface", err)
	}

	// The same address on another interface is added beside the first, as the
	// kernel allows and keepalived does for instances on different links.
	twin := Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/32")}
	if err := c.Add(context.Background(), twin); err != nil {
		t.Fatalf("Add(%s) beside the same address on lo: %v", twin, err)
	}
	for _, dev := range []string{"lo", "eth0"} {
		if out := ns.MustExec(t, "ip", "-4", "addr", "show", "dev", dev); !strings.Contains(out, "inet 192.0.2.10/32") {
			t.Errorf("ip addr show dev %s lacks 192.0.2.10/32:\n%s", dev, out)
		}
	}
	adds = append(adds, twin)

	for _, a := range adds {
		if err := c.Remove(context.Background(), a); err != nil {
			t.Fatalf("Remove(%s): %v", a, err)
		}
		if err := c.Remove(context.Background(), a); err != nil {
			t.Fatalf("second Remove(%s): %v", a, err)
		}
	}
	owned, err = c.Owned(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 0 {
		t.Fatalf("Owned after removing all = %v, want none", owned)
	}
}
