package main

import (
	"context"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestIntegrationMultipathRoutes adds, lists and deletes multipath routes with real
// rtnetlink in a namespace: keepalived's "via A or B" and nexthop lines (with
// weights and devices, IPv4 and IPv6) come out of `ip route show` as the kernel's
// multipath routes, marked proto keepalived.
func TestIntegrationMultipathRoutes(t *testing.T) {
	ns := testenv.NewNetNS(t)
	for _, c := range [][]string{
		{"ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"},
		{"ip", "link", "add", "eth1", "type", "veth", "peer", "name", "peer1"},
		{"ip", "link", "set", "peer0", "up"},
		{"ip", "link", "set", "peer1", "up"},
		{"ip", "link", "set", "eth0", "up"},
		{"ip", "link", "set", "eth1", "up"},
		{"ip", "addr", "add", "192.0.2.10/24", "dev", "eth0"},
		{"ip", "addr", "add", "198.51.100.10/24", "dev", "eth1"},
		{"ip", "addr", "add", "2001:db8:1::10/64", "dev", "eth0", "nodad"},
		{"ip", "addr", "add", "2001:db8:2::10/64", "dev", "eth1", "nodad"},
	} {
		ns.MustExec(t, c[0], c[1:]...)
	}
	cfg := readRoutesConf(t, `static_routes {
   10.8.0.0/16 via 192.0.2.252 or 192.0.2.253 dev eth0
   10.7.0.0/16 metric 3 nexthop via 192.0.2.1 dev eth0 weight 3 nexthop via 198.51.100.1 dev eth1
   2001:db8:99::/48 nexthop via 2001:db8:1::1 dev eth0 nexthop via 2001:db8:2::1 dev eth1 weight 2
}
`)
	var rb routeBackend
	do := func(f func(ctx context.Context) error) {
		t.Helper()
		if err := ns.Do(func() error {
			if rb == nil {
				var err error
				if rb, err = dialKRoutes(); err != nil {
					return err
				}
			}
			return f(context.Background())
		}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if rb != nil {
			rb.Close()
		}
	})
	do(func(ctx context.Context) error {
		for _, r := range cfg.StaticRoutes {
			if err := rb.Add(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	flat := func(args ...string) string {
		return strings.Join(strings.Fields(ns.MustExec(t, "ip", args...)), " ")
	}
	v4, v6 := flat("route", "show"), flat("-6", "route", "show")
	for _, want := range []string{
		"10.7.0.0/16 proto keepalived metric 3 nexthop via 192.0.2.1 dev eth0 weight 3 nexthop via 198.51.100.1 dev eth1 weight 1",
		"10.8.0.0/16 proto keepalived nexthop via 192.0.2.252 dev eth0 weight 1 nexthop via 192.0.2.253 dev eth0 weight 1",
	} {
		if !strings.Contains(v4, want) {
			t.Errorf("ip route show lacks %q:\n%s", want, v4)
		}
	}
	if want := "2001:db8:99::/48 proto keepalived metric 1024 pref medium nexthop via 2001:db8:1::1 dev eth0 weight 1 nexthop via 2001:db8:2::1 dev eth1 weight 2"; !strings.Contains(v6, want) {
		t.Errorf("ip -6 route show lacks %q:\n%s", want, v6)
	}
	// The director finds them as its own, and deletes them.
	do(func(ctx context.Context) error {
		keys, err := rb.List(ctx)
		if err != nil {
			return err
		}
		if len(keys) != 3 {
			t.Errorf("List found %d routes of the director, want 3: %v", len(keys), keys)
		}
		for _, r := range cfg.StaticRoutes {
			if err := rb.Delete(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if out := flat("route", "show") + flat("-6", "route", "show"); strings.Contains(out, "keepalived") {
		t.Errorf("routes left after Delete:\n%s", out)
	}
}
