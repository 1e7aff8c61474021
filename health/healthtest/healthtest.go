// Package healthtest provides a health.Checker whose outcome a test controls, for
// testing programs that wire a health.Scheduler to IPVS or VRRP without real servers.
//
// Drive the Scheduler on a fake clock shared with the rest of the program
// (vrrptest.Clock satisfies health.Clock), deterministic without synctest:
//
//	clk := vrrptest.NewClock(start)
//	s := health.NewScheduler(&health.SchedulerConfig{Clock: clk, OnTransition: apply})
//	c := healthtest.NewChecker()
//	s.Add("rs1", health.Check{Checker: c, Interval: time.Second})
//	go s.Run(ctx)
//	<-s.Started()
//	c.SetDown(errors.New("connection refused"))
//	clk.Advance(2 * time.Second) // returns once apply has seen rs1 go down
//	// assert that the program removed rs1 from the IPVS fake
//
// or inside a testing/synctest bubble with the default clock, where time.Sleep and
// synctest.Wait take the place of Advance.
package healthtest

import (
	"context"
	"sync"
	"time"

	"github.com/lvskit/lvskit/health"
)

// Checker is a health.Checker that returns whatever the test last set. The zero value
// is not usable; call NewChecker.
type Checker struct {
	mu    sync.Mutex
	res   health.Result
	err   error
	delay time.Duration
	calls int
}

// NewChecker returns a Checker that reports up with no weight.
func NewChecker() *Checker { return &Checker{res: health.Result{Detail: "healthtest up"}} }

// SetUp makes later checks succeed without a weight.
func (c *Checker) SetUp() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res, c.err = health.Result{Detail: "healthtest up"}, nil
}

// SetWeight makes later checks succeed with a dynamic weight.
func (c *Checker) SetWeight(w int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res, c.err = health.Result{Weight: w, WeightSet: true, Detail: "healthtest weight"}, nil
}

// SetDown makes later checks fail with err.
func (c *Checker) SetDown(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res, c.err = health.Result{}, err
}

// SetDelay makes later checks take d of real time (virtual time inside synctest), or
// until their ctx ends, whichever is first, in which case they fail with the ctx's
// error. The delay never waits for a fake health.Clock: on one, an attempt keeps
// the clock held until it returns, so a delay beyond the check's Timeout reliably
// gives a timeout failure and a shorter one a success.
func (c *Checker) SetDelay(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delay = d
}

// Calls returns how many times Check was called.
func (c *Checker) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// Check implements health.Checker.
func (c *Checker) Check(ctx context.Context) (health.Result, error) {
	c.mu.Lock()
	c.calls++
	res, err, delay := c.res, c.err, c.delay
	c.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return health.Result{}, ctx.Err()
		}
	}
	return res, err
}
