package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/arpctl"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/route"
	"github.com/lvskit/lvskit/vip"
)

// TestIntegrationScaleOutRoutes runs the scale-out mode with real rtnetlink in a
// namespace (route table 100 and lo) and the fake IPVS (the host has none): a
// route a crash left is withdrawn at start and another protocol's is kept; the VIP
// goes on lo and its blackhole route into table 100 once IPVS converged; losing
// quorum withdraws it, regaining announces it, the drain withdraws it before the
// wait, and the stop takes the VIP off lo.
func TestIntegrationScaleOutRoutes(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip")
	ns := testenv.NewNetNS(t)
	routes := func() string {
		return strings.TrimSpace(ns.MustExec(t, "ip", "route", "show", "table", "100"))
	}
	onLo := func() bool {
		return strings.Contains(ns.MustExec(t, "ip", "-4", "addr", "show", "dev", "lo"), "203.0.113.10/32")
	}
	// What a crashed run left (protocol 108), and an administrator's route.
	ns.MustExec(t, "ip", "route", "add", "blackhole", "203.0.113.99/32", "table", "100", "proto", "108")
	ns.MustExec(t, "ip", "route", "add", "blackhole", "203.0.113.98/32", "table", "100", "proto", "static")

	h := newScaleOutHost(t, nil)
	h.d.deps.routes = func(table uint32) (routeAnnouncer, error) {
		return route.Dial(&route.Config{NetNS: ns.Path(), Table: table})
	}
	h.d.deps.vips = func() (vipBackend, error) {
		c, err := vip.Dial(&vip.Config{NetNS: ns.Path()})
		if err != nil {
			return nil, err
		}
		return &vipClient{c: c, ann: map[string]*announcer{}}, nil
	}
	conf, _ := scaleOutConf(t)
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			h.d.stop()
		}
	})
	const announced = "blackhole 203.0.113.10 proto 108 \nblackhole 203.0.113.98 proto static"
	const withdrawn = "blackhole 203.0.113.98 proto static"
	norm := func(s string) string { return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ") }
	eventually(t, "the VIP announced, the leftover withdrawn, the static route kept", 5*time.Second, func() bool {
		return norm(routes()) == norm(announced)
	})
	if !onLo() {
		t.Error("the VIP is not on lo")
	}
	h.setHealth(0, false)
	h.setHealth(1, false)
	h.d.rec.sync()
	if got := routes(); norm(got) != norm(withdrawn) {
		t.Errorf("without quorum, table 100 is %q", got)
	}
	if !onLo() {
		t.Error("the VIP left lo with quorum; it must stay while the mode runs")
	}
	h.setHealth(0, true)
	h.d.rec.sync()
	if got := routes(); norm(got) != norm(announced) {
		t.Errorf("with quorum back, table 100 is %q", got)
	}
	var atWait string
	h.d.ecmp.wait = func(time.Duration) { atWait = routes() }
	h.d.drain()
	if norm(atWait) != norm(withdrawn) {
		t.Errorf("during the drain wait, table 100 is %q", atWait)
	}
	h.d.stop()
	stopped = true
	if got := routes(); norm(got) != norm(withdrawn) {
		t.Errorf("after stop, table 100 is %q", got)
	}
	if onLo() {
		t.Error("the VIP is still on lo after stop")
	}
}

// TestIntegrationScaleOutSysctlsNoIPVS: the real sysctl profile in a namespace of a
// kernel without ip_vs fails the start with an error that names the cause.
func TestIntegrationScaleOutSysctlsNoIPVS(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNetNS(t)
	if _, err := os.Stat("/proc/sys/net/ipv4/vs"); err == nil {
		t.Skip("this kernel has ip_vs loaded: the missing-sysctl error cannot happen")
	}
	h := newScaleOutHost(t, nil)
	h.d.deps.scaleOut = func() (func() error, error) {
		c, err := arpctl.New(&arpctl.Config{NetNS: ns.Path()})
		if err != nil {
			return nil, err
		}
		snap, err := c.Apply(arpctl.ScaleOutDirector())
		if err != nil {
			return nil, err
		}
		return snap.Restore, nil
	}
	conf, _ := scaleOutConf(t)
	err := h.d.start(context.Background(), readConf(t, conf))
	t.Cleanup(h.d.stop)
	if !errors.Is(err, arpctl.ErrNoIPVS) || !strings.Contains(err.Error(), "need the ip_vs module") {
		t.Fatalf("start: %v; want the missing ip_vs named", err)
	}
	t.Logf("start: %v", err)
	if got := h.routes.list(); len(got) != 0 {
		t.Errorf("announced %v without the sysctls", got)
	}
}
