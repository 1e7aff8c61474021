package vrrptest

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

// settleTimeout bounds how long (in real time) Advance and Settle wait for work in
// flight before they panic: work that never finishes is a bug in the test (a packet
// queued for an Endpoint no Router reads, a Hold never released), and a panic that
// says so beats a hung test.
const settleTimeout = 30 * time.Second

// Clock is a fake vrrp.Clock. Time stands still until Advance moves it; timers that
// fall due run inside Advance, one at a time, in deadline order (ties in the order
// they were armed), with Now set to their deadline.
//
// Between two timers Advance waits until the work the earlier one started has
// settled: every Hold taken is released. A Network attached with Network.SetClock
// holds the Clock for each packet in flight, from the moment it is sent until the
// receiving Router has processed it (asked its Endpoint for the next packet), or the
// Endpoint is closed; health.Scheduler holds it while an attempt and its transition
// are on their way between its goroutines. So two Routers on one Network see each
// other's adverts before the next timer fires, and a test that advances time and then
// looks gets the same answer every run, without testing/synctest.
//
// Clock also satisfies the Clock interface of package health (Now and AfterFunc
// returning a Stopper), so VRRP and health checks can share one fake time source.
// (Inside testing/synctest the real vrrp.SystemClock is as good and needs no
// Advance.)
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer
	holds  int
	idle   *sync.Cond // signalled when holds drops to zero; uses mu
}

type fakeTimer struct {
	c    *Clock
	at   time.Time
	seq  uint64
	f    func()
	dead bool
}

var _ vrrp.Clock = (*Clock)(nil)

// NewClock returns a Clock set to start.
func NewClock(start time.Time) *Clock {
	c := &Clock{now: start}
	c.idle = sync.NewCond(&c.mu)
	return c
}

// Now implements vrrp.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc implements vrrp.Clock. f runs inside a later Advance.
func (c *Clock) AfterFunc(d time.Duration, f func()) vrrp.Stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop implements vrrp.Stopper: it reports whether the timer was still pending.
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.dead
	t.dead = true
	return was
}

// Hold marks work in flight that Advance must wait for before it fires the next timer
// or returns: a packet on its way, or an attempt handed to another goroutine. The
// returned release ends the hold; calling it more than once has no further effect.
// Code that hands work between goroutines calls Hold where the work is handed off
// and release where it is done.
func (c *Clock) Hold() (release func()) {
	c.mu.Lock()
	c.holds++
	c.mu.Unlock()
	var once sync.Once
	return func() { once.Do(c.release) }
}

func (c *Clock) release() {
	c.mu.Lock()
	c.holds--
	if c.holds < 0 {
		c.mu.Unlock()
		panic("vrrptest: Clock hold released more often than taken")
	}
	if c.holds == 0 {
		c.idle.Broadcast()
	}
	c.mu.Unlock()
}

// Settle waits until every Hold is released: the packets and attempts that earlier
// timers (or calls such as Router.SetPriority) set off have been processed. Advance
// settles before each timer and before it returns; call Settle after acting on a
// Router or Scheduler directly and before looking at the outcome.
func (c *Clock) Settle() {
	c.mu.Lock()
	c.settleLocked()
	c.mu.Unlock()
}

// settleLocked waits for holds to drop to zero. c.mu is held.
func (c *Clock) settleLocked() {
	if c.holds == 0 {
		return
	}
	stuck := time.AfterFunc(settleTimeout, func() {
		c.mu.Lock()
		c.idle.Broadcast()
		c.mu.Unlock()
	})
	defer stuck.Stop()
	deadline := time.Now().Add(settleTimeout)
	for c.holds > 0 {
		if !time.Now().Before(deadline) {
			panic(fmt.Sprintf("vrrptest: Clock: %d holds still taken after %v (a packet queued for an Endpoint nobody reads, or a Hold never released)", c.holds, settleTimeout))
		}
		c.idle.Wait()
	}
}

// Advance moves time forward by d, running every timer due by then (including ones
// that the running timers arm) with the clock set to its deadline. Before each timer
// and before returning it waits for the work in flight to settle (see Settle).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		c.settleLocked()
		live := c.timers[:0]
		for _, t := range c.timers {
			if !t.dead {
				live = append(live, t)
			}
		}
		clear(c.timers[len(live):])
		c.timers = live
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			if !a.at.Equal(b.at) {
				return a.at.Before(b.at)
			}
			return a.seq < b.seq
		})
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			break
		}
		t := c.timers[0]
		t.dead = true
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}
