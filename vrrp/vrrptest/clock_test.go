package vrrptest_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

const advInt = 100 * time.Millisecond

var (
	addrM = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	vip   = netip.MustParseAddr("192.0.2.100")
)

type pair struct {
	clk      *vrrptest.Clock
	m, b     *vrrp.Router
	epM, epB *vrrptest.Endpoint
	stopM    context.CancelFunc
	doneM    chan error
}

// startPair runs a master (priority 150) and a backup (priority 100) of one VRRPv3
// instance on a Network driven by a Clock, and returns once both Routers have started.
func startPair(t *testing.T) *pair {
	t.Helper()
	p := &pair{clk: vrrptest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	nw := vrrptest.NewNetwork()
	nw.SetClock(p.clk)
	p.epM, p.epB = nw.Attach(addrM), nw.Attach(addrB)
	router := func(ep *vrrptest.Endpoint, prio uint8, src netip.Addr) *vrrp.Router {
		r, err := vrrp.NewRouter(&vrrp.RouterConfig{
			Instances: []vrrp.Config{{Name: "vi", VRID: 51, Version: 3, Priority: prio,
				AdvertInterval: advInt, Primary: src, Addrs: []netip.Addr{vip}}},
			Transport: ep, Clock: p.clk,
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	p.m, p.b = router(p.epM, 150, addrM), router(p.epB, 100, addrB)
	ctxM, stopM := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	p.stopM, p.doneM = stopM, make(chan error, 1)
	doneB := make(chan error, 1)
	go func() { p.doneM <- p.m.Run(ctxM) }()
	go func() { doneB <- p.b.Run(ctxB) }()
	t.Cleanup(func() {
		stopM()
		stopB()
		<-doneB
	})
	<-p.m.Started()
	<-p.b.Started()
	return p
}

func state(r *vrrp.Router) vrrp.State { return r.Snapshot()[0].State }

// masterSince returns when r last became Master, from its events.
func masterSince(t *testing.T, r *vrrp.Router) time.Time {
	t.Helper()
	var at time.Time
	for {
		select {
		case e := <-r.Events():
			if e.To == vrrp.StateMaster {
				at = e.Time
			}
		default:
			if at.IsZero() {
				t.Fatal("no transition to Master")
			}
			return at
		}
	}
}

// TestNetworkClockElection is the test a user writes first: two Routers, advance,
// look. It must give the same answer every run (go test -count=1000 -race).
func TestNetworkClockElection(t *testing.T) {
	p := startPair(t)
	p.clk.Advance(5 * time.Second)
	if s := state(p.m); s != vrrp.StateMaster {
		t.Errorf("priority 150 is %v after 5s, want MASTER", s)
	}
	if s := state(p.b); s != vrrp.StateBackup {
		t.Errorf("priority 100 is %v after 5s, want BACKUP", s)
	}
	// The master became Master at its own Master_Down_Interval and then sent one
	// advert per interval; every one reached the backup before its next timer.
	t0 := masterSince(t, p.m)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if want := start.Add(vrrp.MasterDownInterval(3, 150, advInt)); !t0.Equal(want) {
		t.Errorf("master since %v, want %v", t0, want)
	}
	sent := len(p.epM.Sent())
	if want := 1 + int(start.Add(5*time.Second).Sub(t0)/advInt); sent != want {
		t.Errorf("master sent %d adverts, want %d", sent, want)
	}
	if got := p.b.Counters().RxAdverts; got != uint64(sent) {
		t.Errorf("backup processed %d adverts, want all %d", got, sent)
	}
	if n := len(p.epB.Sent()); n != 0 {
		t.Errorf("backup sent %d adverts, want none", n)
	}
}

// TestNetworkClockFailover: the master's link goes down (a crash, no priority 0) and
// the backup becomes Master exactly one Master_Down_Interval after the last advert it
// received, to the fake clock's microsecond.
func TestNetworkClockFailover(t *testing.T) {
	p := startPair(t)
	p.clk.Advance(5 * time.Second)
	t0 := masterSince(t, p.m)
	now := p.clk.Now()
	last := t0.Add(now.Sub(t0) / advInt * advInt) // the master's last advert
	p.epM.SetUp(false)
	takeover := last.Add(vrrp.MasterDownInterval(3, 100, advInt))
	p.clk.Advance(takeover.Sub(now) - time.Microsecond)
	if s := state(p.b); s != vrrp.StateBackup {
		t.Fatalf("backup is %v 1µs before the master-down interval, want BACKUP", s)
	}
	p.clk.Advance(time.Microsecond)
	if s := state(p.b); s != vrrp.StateMaster {
		t.Fatalf("backup is %v at the master-down interval, want MASTER", s)
	}
	if got := masterSince(t, p.b); !got.Equal(takeover) {
		t.Errorf("backup became Master at %v, want %v", got, takeover)
	}
}

// TestNetworkClockResign: the master stops (Run returns, sending priority 0) and the
// backup takes over after its Skew_Time, not a whole Master_Down_Interval.
func TestNetworkClockResign(t *testing.T) {
	p := startPair(t)
	p.clk.Advance(5 * time.Second)
	p.stopM()
	if err := <-p.doneM; err != nil {
		t.Fatal(err)
	}
	p.clk.Settle()
	now := p.clk.Now()
	skew := vrrp.SkewTime(3, 100, advInt)
	p.clk.Advance(skew - time.Microsecond)
	if s := state(p.b); s != vrrp.StateBackup {
		t.Fatalf("backup is %v before Skew_Time after priority 0, want BACKUP", s)
	}
	p.clk.Advance(time.Microsecond)
	if s := state(p.b); s != vrrp.StateMaster {
		t.Fatalf("backup is %v Skew_Time after priority 0, want MASTER", s)
	}
	if got, want := masterSince(t, p.b), now.Add(skew); !got.Equal(want) {
		t.Errorf("backup became Master at %v, want %v", got, want)
	}
}
