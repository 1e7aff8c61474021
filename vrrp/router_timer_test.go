package vrrp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// manualClock is a Clock whose timers never fire on their own: the test takes an
// expiry out of a timer (as the time package does when it starts the callback's
// goroutine) and runs the callback when it chooses, to reproduce an expiry that is on
// its way while the Router re-arms the timer. With reset false its Stoppers have no
// Reset method, like vrrptest's fake clock.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	reset  bool
	timers []*manualTimer
}

type manualTimer struct {
	c      *manualClock
	f      func()
	active bool
	after  time.Duration
}

// stopOnly hides Reset.
type stopOnly struct{ t *manualTimer }

func (s stopOnly) Stop() bool { return s.t.Stop() }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) AfterFunc(d time.Duration, f func()) Stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, f: f, active: true, after: d}
	c.timers = append(c.timers, t)
	if !c.reset {
		return stopOnly{t}
	}
	return t
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func (t *manualTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active, t.after = true, d
	return was
}

// take expires the one active timer and returns its callback, not yet run.
func (c *manualClock) take(t *testing.T) func() {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var found *manualTimer
	for _, tm := range c.timers {
		if tm.active {
			if found != nil {
				t.Fatal("more than one active timer")
			}
			found = tm
		}
	}
	if found == nil {
		t.Fatal("no active timer")
	}
	found.active = false
	return found.f
}

func (c *manualClock) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// chanTransport is a Transport fed by a channel.
type chanTransport struct {
	in   chan []byte
	src  netip.Addr
	once sync.Once
	done chan struct{}
}

func (c *chanTransport) ReadFrom(b []byte) (int, PacketInfo, error) {
	select {
	case p := <-c.in:
		return copy(b, p), PacketInfo{Src: c.src, Dst: MulticastIPv4, TTL: 255}, nil
	case <-c.done:
		return 0, PacketInfo{}, net.ErrClosed
	}
}

func (c *chanTransport) WriteTo(b []byte, src, dst netip.Addr) error { return nil }

func (c *chanTransport) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

// TestRouterTimerReuse checks the receive path's timer handling: with a Clock whose
// timers can Reset, every advert resets the one Master_Down_Timer instead of creating a
// timer, and an expiry that was already on its way when an advert re-armed the timer
// does not make the Backup take over; with a Clock without Reset the stale expiry is
// dropped by its generation.
func TestRouterTimerReuse(t *testing.T) {
	for _, reset := range []bool{true, false} {
		t.Run(fmt.Sprintf("reset=%v", reset), func(t *testing.T) {
			peer := netip.MustParseAddr("192.0.2.9")
			clk := &manualClock{reset: reset}
			tr := &chanTransport{in: make(chan []byte), src: peer, done: make(chan struct{})}
			r, err := NewRouter(&RouterConfig{Transport: tr, Clock: clk, Instances: []Config{{
				Name: "a", VRID: 7, Priority: 100, AdvertInterval: 100 * time.Millisecond,
				Primary: netip.MustParseAddr("192.0.2.1"), Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.1")},
			}}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()
			<-r.Started()
			if s := r.Snapshot()[0].State; s != StateBackup {
				t.Fatalf("state after start %v, want BACKUP", s)
			}
			adv := Advert{Version: 3, Type: TypeAdvertisement, VRID: 7, Priority: 200, Interval: 10, Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.1")}}
			pkt, err := adv.Append(nil, peer, MulticastIPv4)
			if err != nil {
				t.Fatal(err)
			}
			receive := func(want uint64) {
				t.Helper()
				tr.in <- pkt
				for deadline := time.Now().Add(10 * time.Second); r.Counters().RxAdverts < want; {
					if time.Now().After(deadline) {
						t.Fatalf("advert not processed: %+v", r.Counters())
					}
					time.Sleep(time.Millisecond)
				}
			}
			receive(1)
			stale := clk.take(t) // the down timer expires; its callback is delayed
			receive(2)           // an advert re-arms the timer meanwhile
			stale()
			if s := r.Snapshot()[0].State; s != StateBackup {
				t.Fatalf("a stale expiry made the Backup %v", s)
			}
			receive(3)
			receive(4)
			if reset {
				if n := clk.count(); n != 1 {
					t.Errorf("Clock.AfterFunc called %d times for 4 adverts, want 1 (then Reset)", n)
				}
			}
			clk.take(t)()
			if s := r.Snapshot()[0].State; s != StateMaster {
				t.Fatalf("state after the current expiry %v, want MASTER", s)
			}
		})
	}
}
