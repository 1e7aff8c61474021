package vrrp_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	vip   = netip.MustParseAddr("203.0.113.10")
)

func inst(name string, vrid uint8, prio uint8, primary netip.Addr, mod func(*vrrp.Config)) vrrp.Config {
	c := vrrp.Config{Name: name, VRID: vrid, Priority: prio, AdvertInterval: 100 * time.Millisecond, Primary: primary, Addrs: []netip.Addr{vip}}
	if mod != nil {
		mod(&c)
	}
	return c
}

type running struct {
	r      *vrrp.Router
	cancel context.CancelFunc
	done   chan error
}

func run(t *testing.T, tr vrrp.Transport, buf int, cfgs ...vrrp.Config) *running {
	t.Helper()
	r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: cfgs, Transport: tr, EventBuffer: buf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rr := &running{r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { rr.done <- r.Run(ctx) }()
	t.Cleanup(func() { rr.stop(t) })
	return rr
}

func (rr *running) stop(t *testing.T) {
	rr.cancel()
	if err := <-rr.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	rr.done <- nil // later stops return at once
}

func states(rs ...*running) []vrrp.State {
	var out []vrrp.State
	for _, r := range rs {
		for _, s := range r.r.Snapshot() {
			out = append(out, s.State)
		}
	}
	return out
}

func TestRouterElectionAndResign(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := vrrptest.NewNetwork()
		a := run(t, nw.Attach(addrA), 0, inst("a", 51, 150, addrA, nil))
		b := run(t, nw.Attach(addrB), 0, inst("b", 51, 100, addrB, nil))
		time.Sleep(time.Second)
		if diff := cmp.Diff([]vrrp.State{vrrp.StateMaster, vrrp.StateBackup}, states(a, b)); diff != "" {
			t.Fatalf("after 1s (-want +got):\n%s", diff)
		}
		// a, priority 150 with a 100 ms interval, became Master after its down interval.
		ev := <-a.r.Events()
		if ev.To != vrrp.StateBackup {
			t.Errorf("first event %+v", ev)
		}
		ev = <-a.r.Events()
		if ev.To != vrrp.StateMaster || ev.Reason != vrrp.ReasonTimeout || ev.Priority != 150 {
			t.Errorf("second event %+v, want MASTER by timeout at priority 150", ev)
		}
		if ev.Time.Sub(time.Time{}) < 0 {
			t.Error("event without time")
		}
		// Graceful stop: a resigns with priority 0 and b takes over after Skew_Time.
		stopped := time.Now()
		a.stop(t)
		for ev := range b.r.Events() {
			if ev.To == vrrp.StateMaster {
				if ev.Reason != vrrp.ReasonPeerResigned {
					t.Errorf("takeover reason %v, want %v", ev.Reason, vrrp.ReasonPeerResigned)
				}
				skew := vrrp.SkewTime(3, 100, 100*time.Millisecond)
				if got := ev.Time.Sub(stopped); got != skew {
					t.Errorf("takeover after %v, want Skew_Time %v", got, skew)
				}
				break
			}
		}
		c := b.r.Counters()
		if c.RxAdverts == 0 || c.TxPackets == 0 || c.StateChanges != 2 {
			t.Errorf("counters %+v", c)
		}
	})
}

func TestRouterCrashFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := vrrptest.NewNetwork()
		epA := nw.Attach(addrA)
		run(t, epA, 0, inst("a", 51, 150, addrA, nil))
		b := run(t, nw.Attach(addrB), 0, inst("b", 51, 100, addrB, nil))
		time.Sleep(time.Second)
		epA.SetUp(false) // the master vanishes without resigning
		cut := time.Now()
		mdi := vrrp.MasterDownInterval(3, 100, 100*time.Millisecond)
		time.Sleep(mdi + 5*time.Millisecond)
		snap := b.r.Snapshot()[0]
		if snap.State != vrrp.StateMaster {
			t.Fatalf("b is %v %v after the master vanished", snap.State, time.Since(cut))
		}
		// b's last advert from a came at most one interval before the cut.
		var took time.Time
		for ev := range b.r.Events() {
			if ev.To == vrrp.StateMaster {
				took = ev.Time
				break
			}
		}
		if d := took.Sub(cut); d > mdi || d < mdi-100*time.Millisecond {
			t.Errorf("failover after %v, want within (%v - interval, %v]", d, mdi, mdi)
		}
	})
}

// Conformance 16: adverts go to 224.0.0.18 / ff02::12 or to each unicast peer, from the
// primary address (link-local for IPv6), with TTL 255 (the transport's job; the
// in-memory one records it).
func TestConformance16Destinations(t *testing.T) {
	ll := netip.MustParseAddr("fe80::1")
	peer2 := netip.MustParseAddr("192.0.2.3")
	tests := []struct {
		name string
		cfg  vrrp.Config
		src  netip.Addr
		dsts []netip.Addr
	}{
		{"IPv4 multicast", inst("m4", 1, 255, addrA, nil), addrA, []netip.Addr{vrrp.MulticastIPv4}},
		{"IPv6 multicast", inst("m6", 1, 255, ll, func(c *vrrp.Config) { c.Addrs = []netip.Addr{netip.MustParseAddr("2001:db8::1")} }), ll, []netip.Addr{vrrp.MulticastIPv6}},
		{"unicast peers", inst("u", 1, 255, addrA, func(c *vrrp.Config) { c.Peers = []netip.Addr{addrB, peer2} }), addrA, []netip.Addr{addrB, peer2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ep := vrrptest.NewNetwork().Attach(tt.src)
				run(t, ep, 0, tt.cfg)
				time.Sleep(50 * time.Millisecond)
				sent := ep.Sent()
				if len(sent) != len(tt.dsts) {
					t.Fatalf("sent %d packets, want %d (one per destination)", len(sent), len(tt.dsts))
				}
				for i, p := range sent {
					if p.Src != tt.src || p.Dst != tt.dsts[i] || p.TTL != 255 {
						t.Errorf("packet %d: %v -> %v TTL %d, want %v -> %v TTL 255", i, p.Src, p.Dst, p.TTL, tt.src, tt.dsts[i])
					}
					var a vrrp.Advert
					if err := vrrp.Parse(p.Data, p.Src, p.Dst, &a); err != nil {
						t.Errorf("packet %d does not parse: %v", i, err)
					}
				}
			})
		})
	}
}

func TestRouterCountsDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := vrrptest.NewNetwork()
		ep := nw.Attach(addrA)
		r := run(t, ep, 0, inst("a", 51, 100, addrA, nil))
		good := vrrp.Advert{Version: 3, VRID: 51, Priority: 200, Interval: 10, Addrs: []netip.Addr{vip}}
		b, _ := good.Append(nil, addrB, vrrp.MulticastIPv4)
		other := good
		other.VRID = 52
		ob, _ := other.Append(nil, addrB, vrrp.MulticastIPv4)
		bad := append([]byte(nil), b...)
		bad[7]++
		ep.Inject(vrrptest.Packet{Data: b, Src: addrB, Dst: vrrp.MulticastIPv4, TTL: 64})
		ep.Inject(vrrptest.Packet{Data: bad, Src: addrB, Dst: vrrp.MulticastIPv4, TTL: 255})
		ep.Inject(vrrptest.Packet{Data: ob, Src: addrB, Dst: vrrp.MulticastIPv4, TTL: 255})
		ep.Inject(vrrptest.Packet{Data: b, Src: addrB, Dst: vrrp.MulticastIPv4, TTL: 255})
		synctest.Wait()
		c := r.r.Counters()
		var want vrrp.Counters
		want.RxPackets, want.RxAdverts, want.StateChanges = 4, 1, 1
		want.Drops[vrrp.DropTTL] = 1
		want.Drops[vrrp.DropChecksum] = 1
		want.Drops[vrrp.DropVRID] = 1
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("counters (-want +got):\n%s", diff)
		}
		// The valid advert taught the Backup the Master's interval.
		if s := r.r.Snapshot()[0]; s.MasterAdverInterval != 100*time.Millisecond || s.MasterAddr != addrB {
			t.Errorf("snapshot %+v", s)
		}
	})
}

func TestRouterSlowConsumerDoesNotStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := vrrptest.NewNetwork()
		ep := nw.Attach(addrA)
		// Nobody reads the events of a, whose priority flips many times.
		a := run(t, ep, 2, inst("a", 51, 100, addrA, nil))
		run(t, nw.Attach(addrB), 0, inst("b", 51, 150, addrB, nil))
		time.Sleep(time.Second)
		for i := range 20 {
			p := uint8(200)
			if i%2 == 1 {
				p = 100
			}
			if err := a.r.SetPriority("a", p); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		c := a.r.Counters()
		if c.StateChanges < 20 || c.EventsDropped == 0 {
			t.Errorf("counters %+v: want >= 20 state changes and dropped events", c)
		}
		if len(a.r.Events()) != 2 {
			t.Errorf("%d events buffered, want 2", len(a.r.Events()))
		}
		// The newest events survive: the last one is the latest change (priority 100
		// last, so a is Backup).
		<-a.r.Events()
		if ev := <-a.r.Events(); ev.To != vrrp.StateBackup {
			t.Errorf("newest event %+v, want the step down to BACKUP", ev)
		}
	})
}

func TestRouterSyncGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := vrrptest.NewNetwork()
		sg := func(c *vrrp.Config) { c.SyncGroup = "g" }
		a := run(t, nw.Attach(addrA), 0, inst("a1", 1, 200, addrA, sg), inst("a2", 2, 200, addrA, sg))
		b := run(t, nw.Attach(addrB), 0, inst("b1", 1, 100, addrB, nil), inst("b2", 2, 100, addrB, nil))
		time.Sleep(time.Second)
		M, B, F := vrrp.StateMaster, vrrp.StateBackup, vrrp.StateFault
		check := func(when string, want ...vrrp.State) {
			t.Helper()
			if diff := cmp.Diff(want, states(a, b)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", when, diff)
			}
		}
		check("start", M, M, B, B)
		// a1's interface fails: the whole group goes to FAULT and b takes over both.
		if err := a.r.SetInterfaceUp("a1", false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		check("a1 down", F, F, M, M)
		if a.r.Snapshot()[1].State != F {
			t.Error("a2 not in FAULT")
		}
		if err := a.r.SetInterfaceUp("a1", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		check("a1 up again", M, M, B, B)
	})
}

func TestRouterRuntimePriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := vrrptest.NewNetwork()
		a := run(t, nw.Attach(addrA), 0, inst("a", 51, 150, addrA, nil))
		b := run(t, nw.Attach(addrB), 0, inst("b", 51, 100, addrB, nil))
		time.Sleep(time.Second)
		if err := a.r.SetPriority("a", 50); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if diff := cmp.Diff([]vrrp.State{vrrp.StateBackup, vrrp.StateMaster}, states(a, b)); diff != "" {
			t.Errorf("after lowering a (-want +got):\n%s", diff)
		}
		if err := a.r.SetPriority("nope", 50); err == nil {
			t.Error("SetPriority on an unknown instance succeeded")
		}
		if err := a.r.Track("a", 0, false); err == nil {
			t.Error("Track on a missing tracker succeeded")
		}
		addrs := []netip.Addr{vip, netip.MustParseAddr("203.0.113.11")}
		if err := b.r.SetAddresses("b", addrs); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(addrs, b.r.Snapshot()[0].Addrs, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
			t.Errorf("addresses (-want +got):\n%s", diff)
		}
	})
}

func TestNewRouterRejects(t *testing.T) {
	ep := vrrptest.NewNetwork().Attach(addrA)
	tests := []struct {
		name string
		cfg  *vrrp.RouterConfig
	}{
		{"nil", nil},
		{"no transport", &vrrp.RouterConfig{Instances: []vrrp.Config{inst("a", 1, 100, addrA, nil)}}},
		{"no instances", &vrrp.RouterConfig{Transport: ep}},
		{"duplicate VRID", &vrrp.RouterConfig{Transport: ep, Instances: []vrrp.Config{inst("a", 1, 100, addrA, nil), inst("b", 1, 100, addrA, nil)}}},
		{"duplicate name", &vrrp.RouterConfig{Transport: ep, Instances: []vrrp.Config{inst("a", 1, 100, addrA, nil), inst("a", 2, 100, addrA, nil)}}},
		{"invalid instance", &vrrp.RouterConfig{Transport: ep, Instances: []vrrp.Config{inst("a", 0, 100, addrA, nil)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := vrrp.NewRouter(tt.cfg); err == nil {
				t.Error("NewRouter succeeded")
			}
		})
	}
}

func TestRouterOnFakeClock(t *testing.T) {
	clk := vrrptest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ep := vrrptest.NewNetwork().Attach(addrA)
	var announced []string
	r, err := vrrp.NewRouter(&vrrp.RouterConfig{
		Instances: []vrrp.Config{inst("a", 1, 100, addrA, nil)}, Transport: ep, Clock: clk,
		OnAnnounce: func(name string, addrs []netip.Addr) { announced = append(announced, name) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	for r.Snapshot()[0].State != vrrp.StateBackup {
		time.Sleep(time.Millisecond) // Run starts the instance on its own goroutine
	}
	clk.Advance(vrrp.MasterDownInterval(3, 100, 100*time.Millisecond) - time.Microsecond)
	if s := r.Snapshot()[0].State; s != vrrp.StateBackup {
		t.Fatalf("master before the down interval: %v", s)
	}
	clk.Advance(time.Microsecond)
	if s := r.Snapshot()[0].State; s != vrrp.StateMaster {
		t.Fatalf("state at the down interval: %v", s)
	}
	clk.Advance(time.Second) // ten more adverts
	if got := len(ep.Sent()); got != 11 {
		t.Errorf("sent %d adverts in 1s as Master at 100ms, want 11", got)
	}
	if diff := cmp.Diff([]string{"a"}, announced); diff != "" {
		t.Errorf("announcements (-want +got):\n%s", diff)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx); err == nil {
		t.Error("second Run succeeded")
	}
}

// TestRouterTenThousandInstances runs 10,000 instances in one process: 20 simulated
// links, each with two Routers of 250 instances (all masters on one, all backups on
// the other), for 10 s of synctest time.
func TestRouterTenThousandInstances(t *testing.T) {
	if testing.Short() || inGuest() {
		t.Skip("-short, or the emulated kernel-test guest: runs on the host")
	}
	const links, perRouter = 20, 250
	synctest.Test(t, func(t *testing.T) {
		var masters, backups []*running
		for range links {
			nw := vrrptest.NewNetwork()
			mk := func(name string, prio uint8, primary netip.Addr) []vrrp.Config {
				cs := make([]vrrp.Config, perRouter)
				for i := range cs {
					cs[i] = inst(fmt.Sprintf("%s%d", name, i), uint8(i+1), prio, primary, func(c *vrrp.Config) { c.AdvertInterval = time.Second })
				}
				return cs
			}
			masters = append(masters, run(t, nw.Attach(addrA), 1, mk("m", 200, addrA)...))
			backups = append(backups, run(t, nw.Attach(addrB), 1, mk("b", 100, addrB)...))
		}
		time.Sleep(10 * time.Second)
		count := func(rs []*running, s vrrp.State) int {
			n := 0
			for _, r := range rs {
				for _, st := range r.r.Snapshot() {
					if st.State == s {
						n++
					}
				}
			}
			return n
		}
		if m, b := count(masters, vrrp.StateMaster), count(backups, vrrp.StateBackup); m != links*perRouter || b != links*perRouter {
			t.Errorf("%d masters and %d backups, want %d of each", m, b, links*perRouter)
		}
		var rx uint64
		for _, r := range backups {
			rx += r.r.Counters().RxAdverts
		}
		// About 6 adverts per instance after the masters took over at ~3.2 s.
		if rx < links*perRouter*5 {
			t.Errorf("backups accepted %d adverts, want at least %d", rx, links*perRouter*5)
		}
	})
}

// A consumer that converges on state is told of every change through
// OnStateChange, also of the changes whose events were dropped.
func TestRouterOnStateChangeSeesDroppedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := vrrptest.NewNetwork()
		var calls atomic.Uint64
		r, err := vrrp.NewRouter(&vrrp.RouterConfig{
			Instances: []vrrp.Config{inst("a", 51, 100, addrA, nil)}, Transport: nw.Attach(addrA),
			EventBuffer: 1, OnStateChange: func() { calls.Add(1) },
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		run(t, nw.Attach(addrB), 0, inst("b", 51, 150, addrB, nil))
		time.Sleep(time.Second)
		for i := range 10 {
			p := uint8(200)
			if i%2 == 1 {
				p = 100
			}
			if err := r.SetPriority("a", p); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		c := r.Counters()
		if c.EventsDropped == 0 {
			t.Fatalf("counters %+v: the test needs dropped events", c)
		}
		if got := calls.Load(); got != c.StateChanges {
			t.Errorf("OnStateChange called %d times for %d state changes (%d events dropped)", got, c.StateChanges, c.EventsDropped)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
