package hatest_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/hatest"
	"github.com/lvskit/lvskit/health/healthtest"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

var (
	vip     = netip.MustParseAddr("192.0.2.100")
	service = ipvs.Service{Protocol: ipvs.TCP, Address: vip, Port: 80, Scheduler: ipvs.RoundRobin}
	rs1     = ipvs.Destination{Address: netip.MustParseAddr("198.51.100.11"), Port: 80, Forward: ipvs.DirectRoute, Weight: 1}
	rs2     = ipvs.Destination{Address: netip.MustParseAddr("198.51.100.12"), Port: 80, Forward: ipvs.DirectRoute, Weight: 1}
	// foreign is another program's service on the same host; the director must leave
	// it alone.
	foreign = ipvs.Service{Protocol: ipvs.UDP, Address: netip.MustParseAddr("203.0.113.53"), Port: 53}
)

// host is one director with its own IPVS kernel.
type host struct {
	d    *hatest.Director
	ep   *vrrptest.Endpoint
	ipvs *ipvs.Client // the director's own client
	look *ipvs.Client // a second client to look at the table
}

// lab is two directors (priorities 150 and 100) and two real servers.
type lab struct {
	a, b     *host
	rs1, rs2 *healthtest.Checker
}

// newLab starts the lab on clk (nil: the system clock, for synctest) and returns once
// both directors have started.
func newLab(t *testing.T, clk *vrrptest.Clock) *lab {
	t.Helper()
	nw := vrrptest.NewNetwork()
	var clock vrrp.Clock
	if clk != nil {
		nw.SetClock(clk)
		clock = clk
	}
	l := &lab{rs1: healthtest.NewChecker(), rs2: healthtest.NewChecker()}
	mk := func(self netip.Addr, prio uint8) *host {
		srv := ipvstest.New(nil)
		own, err := ipvs.NewClient(srv.Dial())
		if err != nil {
			t.Fatal(err)
		}
		look, err := ipvs.NewClient(srv.Dial())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { own.Close(); look.Close() })
		if err := look.CreateService(context.Background(), foreign); err != nil {
			t.Fatal(err)
		}
		h := &host{ep: nw.Attach(self), ipvs: own, look: look}
		h.d, err = hatest.New(&hatest.Config{
			Clock: clock, Transport: h.ep, IPVS: own, Service: service,
			Instance: vrrp.Config{Name: "web", VRID: 51, Version: 3, Priority: prio,
				AdvertInterval: 100 * time.Millisecond, Primary: self, Addrs: []netip.Addr{vip}},
			Backends:      []hatest.Backend{{Destination: rs1, Check: l.rs1}, {Destination: rs2, Check: l.rs2}},
			CheckInterval: time.Second,
			Resync:        500 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	l.a = mk(netip.MustParseAddr("192.0.2.1"), 150)
	l.b = mk(netip.MustParseAddr("192.0.2.2"), 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	for _, h := range []*host{l.a, l.b} {
		go func() { done <- h.d.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	})
	<-l.a.d.Started()
	<-l.b.d.Started()
	return l
}

// table returns h's IPVS table, the foreign service included.
func (h *host) table(t *testing.T) []ipvs.VirtualServer {
	t.Helper()
	tb, err := hatest.Table(context.Background(), h.look)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// serving is the table of a director that serves the given real servers.
func serving(dests ...ipvs.Destination) []ipvs.VirtualServer {
	return []ipvs.VirtualServer{{Service: service, Destinations: dests}, {Service: foreign}}
}

var idle = []ipvs.VirtualServer{{Service: foreign}}

// scenario is the HA test: election, a real server down and back, failover. advance
// moves the shared time forward and returns once everything due by then has
// happened.
func scenario(t *testing.T, l *lab, advance func(time.Duration)) {
	check := func(step string, h *host, state vrrp.State, want []ipvs.VirtualServer) {
		t.Helper()
		if s := h.d.State(); s != state {
			t.Errorf("%s: state %v, want %v", step, s, state)
		}
		if diff := cmp.Diff(want, h.table(t), cmp.Comparer(func(a, b ipvs.Service) bool { return a.Equal(b) }),
			cmp.Comparer(func(a, b ipvs.Destination) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("%s: table (-want +got):\n%s", step, diff)
		}
		if err := h.d.Err(); err != nil {
			t.Errorf("%s: last reconcile: %v", step, err)
		}
	}
	advance(5 * time.Second)
	check("election", l.a, vrrp.StateMaster, serving(rs1, rs2))
	check("election", l.b, vrrp.StateBackup, idle)

	l.rs2.SetDown(errors.New("connection refused"))
	advance(2 * time.Second)
	check("rs2 down", l.a, vrrp.StateMaster, serving(rs1))

	l.rs2.SetUp()
	advance(2 * time.Second)
	check("rs2 back", l.a, vrrp.StateMaster, serving(rs1, rs2))

	l.a.ep.SetUp(false) // the master's host dies without a word
	advance(2 * time.Second)
	check("failover", l.b, vrrp.StateMaster, serving(rs1, rs2))
}

// TestHAOnFakeClock runs the scenario on one vrrptest.Clock shared by VRRP, the health
// checks and the resync; it passes go test -race -count=1000 without synctest.
func TestHAOnFakeClock(t *testing.T) {
	clk := vrrptest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newLab(t, clk)
	scenario(t, l, clk.Advance)
}

// TestHAInSynctest runs the same scenario on the system clock inside a synctest
// bubble.
func TestHAInSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t, nil)
		scenario(t, l, func(d time.Duration) {
			time.Sleep(d)
			synctest.Wait()
		})
	})
}
