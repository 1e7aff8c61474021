package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/vrrp"
)

// TestIntegrationVirtualRoutes programs the routes of vroutesConf with real
// rtnetlink in a namespace of its own (eth0 and eth1 are veths there): the static
// route and MASTER A's routes appear in `ip route show` marked proto keepalived, B's
// do not; failing over swaps them; a route deleted with `ip route del` comes back at
// the drift check; stopping deletes them all, and an administrator's route on the
// same interface stays, and a route of the protocol that no one wants (a crashed
// run's) goes at the first pass.
func TestIntegrationVirtualRoutes(t *testing.T) {
	ns := testenv.NewNetNS(t)
	for _, c := range [][]string{
		{"ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"},
		{"ip", "link", "add", "eth1", "type", "veth", "peer", "name", "peer1"},
		{"ip", "link", "set", "peer0", "up"},
		{"ip", "link", "set", "peer1", "up"},
		{"ip", "link", "set", "eth0", "up"},
		{"ip", "link", "set", "eth1", "up"},
		{"ip", "addr", "add", "192.0.2.10/24", "dev", "eth0"},
		{"ip", "route", "add", "10.77.0.0/16", "dev", "eth1"},
		{"ip", "route", "add", "10.99.0.0/16", "dev", "eth1", "proto", "keepalived"}, // left by a crash
	} {
		ns.MustExec(t, c[0], c[1:]...)
	}
	show := func(table string) string {
		return strings.TrimSpace(ns.MustExec(t, "ip", "route", "show", "table", table))
	}
	has := func(out, line string) bool {
		for _, l := range strings.Split(out, "\n") {
			if strings.TrimSpace(l) == line {
				return true
			}
		}
		return false
	}

	cfg := readRoutesConf(t, vroutesConf)
	src := &staticView{}
	a, b := instView{name: "A"}, instView{name: "B"}
	src.set(map[string]vrrp.State{"A": vrrp.StateMaster, "B": vrrp.StateBackup}, a, b)
	r := newReconciler(slog.New(slog.DiscardHandler), src, &metrics{}, nil)
	var rb routeBackend
	// The socket and the interface lookups belong to the namespace: every call
	// that resolves dev runs inside it.
	reconcile := func() {
		t.Helper()
		if err := ns.Do(func() error {
			if rb == nil {
				var err error
				if rb, err = dialKRoutes(); err != nil {
					return err
				}
				rc, _ := routesOf(cfg)
				r.setRoutes(rb, rc)
			}
			_, err := r.reconcile(context.Background())
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	reconcile()
	main, t100 := show("main"), show("100")
	for _, want := range []string{
		"10.9.0.0/16 via 192.0.2.254 dev eth0 proto keepalived",
		"198.51.100.0/24 via 192.0.2.254 dev eth0 proto keepalived metric 5",
	} {
		if !has(main, want) {
			t.Errorf("MASTER A: main table lacks %q:\n%s", want, main)
		}
	}
	if !has(t100, "blackhole 203.0.113.0/24 proto keepalived") {
		t.Errorf("MASTER A: table 100 lacks the blackhole:\n%s", t100)
	}
	if strings.Contains(main, "10.99.0.0/16") {
		t.Errorf("the route a crashed run left is still there:\n%s", main)
	}
	if strings.Contains(main, "10.20.0.0/16") {
		t.Errorf("BACKUP B's route is installed:\n%s", main)
	}

	src.set(map[string]vrrp.State{"A": vrrp.StateBackup, "B": vrrp.StateMaster}, a, b)
	reconcile()
	main, t100 = show("main"), show("100")
	if !has(main, "10.20.0.0/16 dev eth1 proto keepalived") || strings.Contains(main, "198.51.100.0/24") || t100 != "" {
		t.Errorf("after failover to B: main:\n%s\ntable 100:\n%s", main, t100)
	}

	ns.MustExec(t, "ip", "route", "del", "10.20.0.0/16", "dev", "eth1", "proto", "keepalived")
	r.resync(true)
	reconcile()
	if main = show("main"); !has(main, "10.20.0.0/16 dev eth1 proto keepalived") {
		t.Errorf("a route deleted from outside did not come back at the drift check:\n%s", main)
	}

	// An administrator's route with the key of a wanted one is left alone, and
	// the conflict is an error naming the route's line.
	ns.MustExec(t, "ip", "route", "del", "10.20.0.0/16", "dev", "eth1", "proto", "keepalived")
	ns.MustExec(t, "ip", "route", "add", "10.20.0.0/16", "dev", "eth0")
	r.resync(true)
	if err := ns.Do(func() error { _, err := r.reconcile(context.Background()); return err }); err == nil ||
		!strings.Contains(err.Error(), "k.conf:22") || !strings.Contains(err.Error(), "another protocol") {
		t.Errorf("adding over an administrator's route: %v, want a conflict naming k.conf:22", err)
	}
	if main = show("main"); !has(main, "10.20.0.0/16 dev eth0 scope link") {
		t.Errorf("the administrator's 10.20.0.0/16 was changed:\n%s", main)
	}
	ns.MustExec(t, "ip", "route", "del", "10.20.0.0/16", "dev", "eth0")

	r.setRoutes(nil, routeConfig{})
	reconcile()
	main = show("main")
	if strings.Contains(main, "proto keepalived") {
		t.Errorf("routes left after the stop:\n%s", main)
	}
	if !has(main, "10.77.0.0/16 dev eth1 scope link") {
		t.Errorf("the administrator's route is gone:\n%s", main)
	}
	r.closeRoutes()
}
