package health

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for zero fields of Check and SchedulerConfig.
const (
	// DefaultInterval is Check.Interval's default.
	DefaultInterval = 5 * time.Second
	// DefaultRetryDelay is Check.RetryDelay's default (keepalived's for non-HTTP checks).
	DefaultRetryDelay = time.Second
	// DefaultMaxConcurrent is SchedulerConfig.MaxConcurrent's default: at most this many
	// attempts (and probe sockets) at once. Raise it for thousands of checks per second.
	DefaultMaxConcurrent = 256
)

// Errors returned by the Scheduler's methods.
var (
	// ErrCheckExists is returned by Add for a name already in use.
	ErrCheckExists = errors.New("health: check already exists")
	// ErrCheckNotFound is returned by Update and Remove for an unknown name.
	ErrCheckNotFound = errors.New("health: no such check")
	// ErrClosed is returned by Add after Run has returned.
	ErrClosed = errors.New("health: scheduler has stopped")
	// ErrRunTwice is returned by a second call of Run (vrrp's Router returns
	// vrrp.ErrRouterClosed in the same case).
	ErrRunTwice = errors.New("health: Scheduler.Run called twice")
)

// Clock is the Scheduler's time source: it has the shape of vrrp.Clock (and its
// Stopper is the same type as vrrp.Stopper), so one fake clock, such as
// vrrptest.Clock, drives both packages. The package imports neither.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d, unless stopped first.
	AfterFunc(d time.Duration, f func()) Stopper
}

// Stopper stops a timer that Clock.AfterFunc started. *time.Timer is one. Stop
// prevents the timer from firing and reports whether it did so. It is an alias of
// the unnamed interface so that it is identical to vrrp.Stopper.
type Stopper = interface{ Stop() bool }

// holder is implemented by fake clocks (vrrptest.Clock) that wait, before firing
// the next timer, for the work in flight to finish: Hold marks work handed between
// goroutines, release marks it done.
type holder interface {
	Hold() (release func())
}

type systemClock struct{}

func (systemClock) Now() time.Time                              { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) Stopper { return time.AfterFunc(d, f) }

// SystemClock returns the Clock of package time, the default.
func SystemClock() Clock { return systemClock{} }

// Check is one scheduled health check: a Checker and the timing and counting rules that
// turn its results into an up/down state. The zero value of every field but Checker is
// usable.
//
// Counting: while up, a failed attempt is retried Retry times, RetryDelay apart; only
// when all Retry+1 attempts fail does the round count as one failure, and Fall
// consecutive failed rounds make the check down. While down there are no retries, and
// Rise consecutive successful attempts make it up. Any opposite result resets the count.
// keepalived's checkers are Rise 1, Fall 1, Retry = retry (nb_get_retry), RetryDelay =
// delay_before_retry, Interval = delay_loop; HAProxy's are Rise rise, Fall fall,
// FastInterval fastinter, DownInterval downinter.
type Check struct {
	// Checker probes the target. Required.
	Checker Checker
	// Interval is the time between the starts of two scheduled attempts while the
	// state is stable; zero means DefaultInterval. An attempt that lasts longer than
	// the interval is followed at once by the next, never overlapped.
	Interval time.Duration
	// Timeout bounds one attempt (the Checker's ctx deadline); zero means the smaller
	// of Interval and DefaultTimeout.
	Timeout time.Duration
	// Rise is how many consecutive successes bring a down check up; zero means 1.
	Rise int
	// Fall is how many consecutive failed rounds bring an up check down; zero means 1.
	Fall int
	// Retry is how many times a failed attempt is retried, while up, before the round
	// counts as failed; zero means no retry.
	Retry int
	// RetryDelay separates the end of a failed attempt from its retry; zero means
	// DefaultRetryDelay.
	RetryDelay time.Duration
	// FastInterval replaces Interval while a rise or fall count is in progress; zero
	// means Interval.
	FastInterval time.Duration
	// DownInterval replaces Interval while the check is down and not rising; zero means
	// Interval.
	DownInterval time.Duration
	// Warmup delays the first attempt by a uniform random duration in [0, Warmup), so
	// that many checks added together spread out; zero starts at once.
	Warmup time.Duration
	// Jitter adds a uniform random duration in [0, Jitter) to every interval (not to
	// retry delays); zero adds none.
	Jitter time.Duration
	// StartDown makes the check start down (keepalived's alpha) instead of up.
	StartDown bool
}

func (c Check) validate() error {
	if c.Checker == nil {
		return errors.New("health: check has no Checker")
	}
	for _, d := range []time.Duration{c.Interval, c.Timeout, c.RetryDelay, c.FastInterval, c.DownInterval, c.Warmup, c.Jitter} {
		if d < 0 {
			return fmt.Errorf("health: negative duration %v in check", d)
		}
	}
	if c.Rise < 0 || c.Fall < 0 || c.Retry < 0 {
		return errors.New("health: negative Rise, Fall or Retry in check")
	}
	return nil
}

func (c Check) interval() time.Duration     { return cmp.Or(c.Interval, DefaultInterval) }
func (c Check) fastInterval() time.Duration { return cmp.Or(c.FastInterval, c.interval()) }
func (c Check) downInterval() time.Duration { return cmp.Or(c.DownInterval, c.interval()) }
func (c Check) retryDelay() time.Duration   { return cmp.Or(c.RetryDelay, DefaultRetryDelay) }
func (c Check) rise() int                   { return max(c.Rise, 1) }
func (c Check) fall() int                   { return max(c.Fall, 1) }
func (c Check) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return min(c.interval(), DefaultTimeout)
}

// Event is the kind of a Transition.
type Event int

// Events a Transition reports.
const (
	EventUp     Event = iota + 1 // the check went up
	EventDown                    // the check went down
	EventWeight                  // an up check reported a new dynamic weight
)

// String returns "up", "down" or "weight".
func (e Event) String() string {
	switch e {
	case EventUp:
		return "up"
	case EventDown:
		return "down"
	case EventWeight:
		return "weight"
	}
	return fmt.Sprintf("Event(%d)", int(e))
}

// Transition reports a change of a check's state or weight.
type Transition struct {
	// Name is the check's name.
	Name string
	// Event says what changed.
	Event Event
	// Up is the check's state after the change.
	Up bool
	// Weight and WeightSet are the check's dynamic weight after the change.
	Weight    int
	WeightSet bool // WeightSet reports whether the check has reported a weight at all.
	// Reason says why, e.g. "3 consecutive failures".
	Reason string
	// Err is the last attempt's error (nil when it succeeded).
	Err error
	// At is when the deciding attempt ended.
	At time.Time
	// Coalesced counts earlier transitions of the same check that this one replaced
	// because the consumer had not taken them yet.
	Coalesced int
}

// Status is a snapshot of one check's state and counters.
type Status struct {
	// Name is the check's name.
	Name string
	// Up is the current state.
	Up bool
	// Weight and WeightSet are the last dynamic weight reported.
	Weight    int
	WeightSet bool // WeightSet reports whether the check has reported a weight at all.
	// Rising counts consecutive successes while down; Falling counts consecutive failed
	// rounds while up; Retries counts retries spent in the current round.
	Rising, Falling, Retries int
	// Attempts and Failures count every attempt and every failed attempt.
	Attempts, Failures uint64
	// Transitions counts state and weight changes.
	Transitions uint64
	// LastError is the error of the most recent failed attempt (kept after successes).
	LastError error
	// LastDetail is the Result.Detail of the most recent successful attempt.
	LastDetail string
	// LastStart, LastDuration and LastLateness describe the most recent attempt;
	// lateness is how long after its scheduled time it started.
	LastStart    time.Time
	LastDuration time.Duration // LastDuration is how long the most recent attempt took.
	LastLateness time.Duration // LastLateness is how late the most recent attempt started.
	// Running reports whether an attempt is in progress; Next is when the next one is
	// due (zero while running or before Run).
	Running bool
	Next    time.Time // Next is when the next attempt is due (see Running).
	// Suspended reports that the check is paused by Suspend: no attempt is due and
	// its state is frozen.
	Suspended bool
}

// SchedulerConfig configures a Scheduler. A nil *SchedulerConfig means all defaults.
type SchedulerConfig struct {
	// MaxConcurrent bounds how many attempts run at once across all checks; zero
	// means DefaultMaxConcurrent. A due check waits for a free slot; that wait counts
	// as lateness.
	MaxConcurrent int
	// OnTransition, when set, receives transitions instead of the Transitions channel.
	// It is called from one goroutine, one transition at a time; while it runs, newer
	// transitions are coalesced as described on Scheduler. It must not call Run.
	OnTransition func(Transition)
	// OnAttempt, when set, is called after every attempt with its outcome, for metrics.
	// It runs on the attempt's goroutine before the next attempt is scheduled, so it
	// must be quick; nil calls nothing.
	OnAttempt func(Attempt)
	// Coalesce, when positive, lets the Scheduler start due attempts in batches: it
	// wakes only at multiples of Coalesce (counted from NewScheduler) and starts every
	// attempt due by then, so each attempt starts up to Coalesce late and the process
	// wakes at most once per Coalesce instead of once per due time. Thousands of
	// checks spread over their interval cost noticeably less CPU with a few
	// milliseconds. Zero starts every attempt at its due time.
	Coalesce time.Duration
	// Clock is the time source for due times, intervals and the times in Status,
	// Transition and Attempt; nil means SystemClock(). Attempt timeouts (the Checker's
	// ctx deadline) are always in real time, since Checkers talk to real sockets.
	//
	// A fake clock makes scheduling deterministic: vrrptest.Clock satisfies Clock, and
	// since it also has a method Hold() (release func()), the Scheduler holds it from
	// the timer that makes a check due until the attempt has been recorded and its
	// transition handed to OnTransition (which has returned) or taken from the
	// Transitions channel, so that the clock's Advance fires no later timer before
	// then. A Checker must not wait for the fake clock to advance: its attempt holds
	// the clock, and Advance would wait for it.
	Clock Clock
	// Rand is the random source for Check.Warmup and Check.Jitter, used under the
	// Scheduler's lock; nil means math/rand/v2's unseeded global source. Tests pass a
	// seeded one (rand.New(rand.NewPCG(1, 2))) to make warmups and jitter repeatable.
	Rand *rand.Rand
}

// Attempt describes one finished attempt, for SchedulerConfig.OnAttempt.
type Attempt struct {
	// Name is the check's name.
	Name string
	// Due is when the attempt was scheduled; Start is when it began (after waiting for
	// a concurrency slot), so Start.Sub(Due) is its lateness.
	Due, Start time.Time
	// Duration is how long the Checker ran.
	Duration time.Duration
	// Err is the Checker's error.
	Err error
}

// Scheduler runs many checks from one queue ordered by due time, never overlapping a
// check with itself, and with at most MaxConcurrent attempts in flight. One goroutine
// and one timer serve the queue; attempts run on up to MaxConcurrent worker goroutines,
// started as needed and kept until Run returns, so an attempt costs no goroutine or
// timer of its own.
//
// Delivery: transitions go to one delivery goroutine that hands them to OnTransition or
// the Transitions channel. Checks never wait for the consumer. If a check changes again
// before its previous transition was taken, the newer transition replaces the older
// one (latest state wins; its Coalesced field and Scheduler.Coalesced count the
// replaced ones). A consumer therefore always converges to every check's current state,
// but may not see every intermediate flap.
type Scheduler struct {
	clock   Clock
	sys     bool          // clock is SystemClock: the dispatcher uses a time.Timer
	holder  holder        // clock's Hold, or nil
	rng     *rand.Rand    // nil: the global source
	ready   chan struct{} // closed once Run has scheduled every check
	maxConc int
	slack   time.Duration // SchedulerConfig.Coalesce
	work    chan *entry   // due entries, from the dispatcher to idle workers
	kick    chan struct{} // wakes the dispatcher when the earliest due time moved earlier
	onTrans func(Transition)
	onAtt   func(Attempt)
	out     chan Transition
	wake    chan struct{}

	mu      sync.Mutex
	checks  map[string]*entry
	started bool
	stopped bool
	pending map[string]*Transition
	order   []string
	flight  sync.WaitGroup
	queue   dueQueue  // armed entries, earliest due first
	epoch   time.Time // origin of dueItem.at

	coalesced atomic.Uint64

	// Holds of a fake clock (see SchedulerConfig.Clock), guarded by mu: kickRels for
	// wakes of the dispatcher not yet acted on, pendRel for undelivered transitions.
	kickRels []func()
	pendRel  map[string]func()
}

type entry struct {
	name    string
	cfg     Check
	st      Status
	index   int // position in Scheduler.queue; -1 when not armed
	removed bool
	due     time.Time
	rel     func()     // the fake clock's hold while dispatched; guarded by mu
	rng     *rand.Rand // this check's own stream of SchedulerConfig.Rand, or nil
}

func (e *entry) armed() bool { return e.index >= 0 }

// NewScheduler returns a Scheduler with no checks. Checks run once Run is called.
func NewScheduler(cfg *SchedulerConfig) *Scheduler {
	var c SchedulerConfig
	if cfg != nil {
		c = *cfg
	}
	clock := c.Clock
	if clock == nil {
		clock = SystemClock()
	}
	_, sys := clock.(systemClock)
	h, _ := clock.(holder)
	return &Scheduler{
		clock:   clock,
		sys:     sys,
		holder:  h,
		rng:     c.Rand,
		ready:   make(chan struct{}),
		pendRel: make(map[string]func()),
		maxConc: cmp.Or(c.MaxConcurrent, DefaultMaxConcurrent),
		slack:   max(c.Coalesce, 0),
		work:    make(chan *entry),
		kick:    make(chan struct{}, 1),
		epoch:   clock.Now(),
		onTrans: c.OnTransition,
		onAtt:   c.OnAttempt,
		out:     make(chan Transition),
		wake:    make(chan struct{}, 1),
		checks:  make(map[string]*entry),
		pending: make(map[string]*Transition),
	}
}

// Transitions returns the channel transitions are delivered on when no OnTransition is
// set. It is closed when Run returns.
func (s *Scheduler) Transitions() <-chan Transition { return s.out }

// Started returns a channel that Run closes once it has scheduled every check and
// armed its timer. A test with a fake Clock waits for it before advancing time, as it
// does for vrrp.Router.Started. It stays open if Run is never called.
func (s *Scheduler) Started() <-chan struct{} { return s.ready }

// Coalesced returns how many transitions were replaced by newer ones before delivery.
func (s *Scheduler) Coalesced() uint64 { return s.coalesced.Load() }

// Add adds a check under name. If Run is in progress the check is scheduled at once
// (after its Warmup).
func (s *Scheduler) Add(name string, c Check) error {
	if err := c.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrClosed
	}
	if _, ok := s.checks[name]; ok {
		return fmt.Errorf("%w: %q", ErrCheckExists, name)
	}
	e := &entry{name: name, cfg: c, st: Status{Name: name, Up: !c.StartDown}, index: -1}
	if s.rng != nil {
		// Each check draws from its own stream, seeded in the order checks are
		// added, so that the order in which concurrent attempts end does not change
		// which check gets which draw.
		e.rng = rand.New(rand.NewPCG(s.rng.Uint64(), s.rng.Uint64()))
	}
	s.checks[name] = e
	if s.started {
		s.armFirst(e)
	}
	return nil
}

// Update replaces the configuration of the check called name, keeping its state and
// counters. An attempt in progress finishes under the old Checker; otherwise the check
// is rescheduled one interval of the new configuration from now.
func (s *Scheduler) Update(name string, c Check) error {
	if err := c.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.checks[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrCheckNotFound, name)
	}
	e.cfg = c
	if e.armed() {
		s.arm(e, s.clock.Now().Add(s.withJitter(e, s.nextInterval(e))))
	}
	return nil
}

// Remove stops and forgets the check called name, and drops its undelivered transition.
// An attempt in progress is left to finish (its ctx is not cancelled) but its result is
// discarded.
func (s *Scheduler) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.checks[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrCheckNotFound, name)
	}
	delete(s.checks, name)
	e.removed = true
	s.disarm(e)
	if _, ok := s.pending[name]; ok {
		delete(s.pending, name)
		s.order = slices.DeleteFunc(s.order, func(n string) bool { return n == name })
		s.releasePending(name)
	}
	return nil
}

// Suspend pauses (suspended true) or resumes the check called name. A paused check
// makes no attempt and keeps its state, counters and any undelivered transition;
// an attempt already in progress finishes and is recorded. A resumed check's next
// attempt is due one interval (for its current state, with jitter) from now, as if
// it had been skipped meanwhile. Suspending a paused check or resuming a running one
// changes nothing. A check may be suspended before Run; Run then leaves it paused.
func (s *Scheduler) Suspend(name string, suspended bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.checks[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrCheckNotFound, name)
	}
	if e.st.Suspended == suspended {
		return nil
	}
	e.st.Suspended = suspended
	if suspended {
		s.disarm(e)
		return nil
	}
	if s.started && !s.stopped && !e.st.Running && !e.armed() {
		s.arm(e, s.clock.Now().Add(s.withJitter(e, s.nextInterval(e))))
	}
	return nil
}

// Status returns a snapshot of the check called name.
func (s *Scheduler) Status(name string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.checks[name]
	if !ok {
		return Status{}, false
	}
	return e.status(), true
}

// Statuses returns a snapshot of every check, sorted by name.
func (s *Scheduler) Statuses() []Status {
	s.mu.Lock()
	out := make([]Status, 0, len(s.checks))
	for _, e := range s.checks {
		out = append(out, e.status())
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Status) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func (e *entry) status() Status {
	st := e.st
	if e.armed() {
		st.Next = e.due
	}
	return st
}

// Run schedules every check and runs them until ctx is done. It then stops scheduling,
// cancels attempts in progress, waits for them, closes the Transitions channel and
// returns nil, as vrrp.Router.Run does. Transitions not yet delivered are dropped
// (Statuses still has the final state). Run may be called once; a second call returns
// ErrRunTwice.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started || s.stopped {
		s.mu.Unlock()
		return ErrRunTwice
	}
	s.started = true
	for _, name := range slices.Sorted(maps.Keys(s.checks)) {
		if e := s.checks[name]; !e.st.Suspended {
			s.armFirst(e)
		}
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		defer close(done)
		s.deliver(ctx)
	}()
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		s.dispatch(ctx)
	}()
	<-ctx.Done()
	<-dispatched

	s.mu.Lock()
	s.stopped = true
	for _, e := range s.checks {
		s.disarm(e)
	}
	s.mu.Unlock()
	s.flight.Wait()
	<-done
	close(s.out)
	// Leave a fake clock free: wakes and transitions nobody will act on.
	s.mu.Lock()
	rels := s.kickRels
	s.kickRels = nil
	for name := range s.pendRel {
		rels = append(rels, s.pendRel[name])
	}
	clear(s.pendRel)
	s.mu.Unlock()
	for _, rel := range rels {
		rel()
	}
	return nil
}

// hold takes a hold on a fake clock; it returns a no-op without one.
func (s *Scheduler) hold() func() {
	if s.holder == nil {
		return func() {}
	}
	return s.holder.Hold()
}

// releasePending releases the hold of name's undelivered transition. s.mu is held.
func (s *Scheduler) releasePending(name string) {
	if rel, ok := s.pendRel[name]; ok {
		delete(s.pendRel, name)
		rel()
	}
}

// tick is the fake clock's timer callback: it wakes the dispatcher and holds the
// clock until the dispatcher has acted.
func (s *Scheduler) tick() {
	rel := s.hold()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kickRels = append(s.kickRels, rel)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// randN returns a uniform random duration in [0, d) from e's stream. s.mu is held.
func (e *entry) randN(d time.Duration) time.Duration {
	if e.rng != nil {
		return time.Duration(e.rng.Int64N(int64(d)))
	}
	return rand.N(d)
}

// armFirst schedules a check's first attempt after a random warmup. s.mu is held.
func (s *Scheduler) armFirst(e *entry) {
	var d time.Duration
	if e.cfg.Warmup > 0 {
		d = e.randN(e.cfg.Warmup)
	}
	s.arm(e, s.clock.Now().Add(d))
}

// arm (re)schedules e at due, and wakes the dispatcher when e became the earliest.
// s.mu is held.
func (s *Scheduler) arm(e *entry, due time.Time) {
	e.due = due
	at := int64(due.Sub(s.epoch))
	if e.armed() {
		s.queue[e.index].at = at
		s.queue.fix(e.index)
	} else {
		s.queue.push(dueItem{at, e})
	}
	if e.index == 0 {
		if s.holder != nil {
			s.kickRels = append(s.kickRels, s.holder.Hold())
		}
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// disarm unschedules e. s.mu is held.
func (s *Scheduler) disarm(e *entry) {
	if e.armed() {
		s.queue.remove(e.index)
	}
}

// withJitter adds e's random jitter to d. s.mu is held.
func (s *Scheduler) withJitter(e *entry, d time.Duration) time.Duration {
	if e.cfg.Jitter > 0 {
		d += e.randN(e.cfg.Jitter)
	}
	return d
}

// nextInterval is the interval that follows the current state. s.mu is held.
func (s *Scheduler) nextInterval(e *entry) time.Duration {
	switch {
	case e.st.Rising > 0 || e.st.Falling > 0:
		return e.cfg.fastInterval()
	case !e.st.Up:
		return e.cfg.downInterval()
	}
	return e.cfg.interval()
}

// dispatch is the Scheduler's clock: one goroutine and one timer for all checks. It
// takes every due entry off the queue and hands it to an idle worker, starting
// workers up to MaxConcurrent; when all are busy it waits for one (that wait is the
// attempts' lateness). It returns when ctx is done.
func (s *Scheduler) dispatch(ctx context.Context) {
	// The system clock gets one reusable time.Timer; another Clock an AfterFunc per
	// wait, whose callback (tick) wakes the loop.
	var timer *time.Timer
	var timerC <-chan time.Time
	var fake Stopper
	if s.sys {
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
		timerC = timer.C
	} else {
		defer func() {
			if fake != nil {
				fake.Stop()
			}
		}()
	}
	var batch []*entry
	var rels []func()
	workers := 0
	first := true
	for {
		s.mu.Lock()
		// Wakes are sent under mu, with their holds: take both together, so that
		// a token left in kick never starts an iteration nobody holds the clock for.
		select {
		case <-s.kick:
		default:
		}
		rels = append(rels[:0], s.kickRels...)
		clear(s.kickRels)
		s.kickRels = s.kickRels[:0]
		now := s.clock.Now()
		for len(s.queue) > 0 && !s.queue[0].e.due.After(now) {
			e := s.queue.remove(0)
			e.st.Running = true
			if s.holder != nil {
				e.rel = s.holder.Hold()
			}
			batch = append(batch, e)
		}
		wait := time.Duration(-1)
		if len(s.queue) > 0 {
			wait = s.queue[0].e.due.Sub(now)
			if s.slack > 0 {
				// Wake at the first multiple of slack at or after the head's due
				// time, and take everything due by then.
				at := time.Duration(s.queue[0].at)
				wait += (s.slack - at%s.slack) % s.slack
			}
		}
		s.mu.Unlock()

		for i, e := range batch {
			select {
			case s.work <- e:
				continue
			default:
			}
			if workers < s.maxConc {
				workers++
				s.flight.Add(1)
				go s.worker(ctx, e)
				continue
			}
			select {
			case s.work <- e:
			case <-ctx.Done():
				s.mu.Lock()
				for _, e := range batch[i:] {
					e.st.Running = false
					if e.rel != nil {
						e.rel()
						e.rel = nil
					}
				}
				s.mu.Unlock()
				for _, rel := range rels {
					rel()
				}
				return
			}
		}
		clear(batch)
		batch = batch[:0]

		switch {
		case s.sys && wait >= 0:
			timer.Reset(wait)
		case s.sys:
			timer.Stop()
		default:
			if fake != nil {
				fake.Stop()
				fake = nil
			}
			if wait >= 0 {
				fake = s.clock.AfterFunc(wait, s.tick)
			}
		}
		// The wakes that led here have been acted on, and the next one is armed.
		for _, rel := range rels {
			rel()
		}
		clear(rels)
		if first {
			first = false
			close(s.ready)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-timerC:
		}
	}
}

// worker runs attempts handed to it by the dispatcher until ctx is done. Workers
// outlive their attempts, so an attempt costs no goroutine or stack growth.
func (s *Scheduler) worker(ctx context.Context, e *entry) {
	defer s.flight.Done()
	for {
		s.attempt(ctx, e)
		select {
		case e = <-s.work:
		case <-ctx.Done():
			return
		}
	}
}

// attempt runs one attempt of e, records its outcome and schedules the next.
func (s *Scheduler) attempt(ctx context.Context, e *entry) {
	s.mu.Lock()
	rel := e.rel
	e.rel = nil
	if rel != nil {
		// Released last, after the outcome is recorded and the next attempt armed.
		defer rel()
	}
	if e.removed || e.st.Suspended || s.stopped || ctx.Err() != nil {
		e.st.Running = false
		s.mu.Unlock()
		return
	}
	due, cfg := e.due, e.cfg
	s.mu.Unlock()

	start := s.clock.Now()
	var res Result
	var err error
	if dc, ok := cfg.Checker.(deadlineChecker); ok {
		deadline := start
		if !s.sys {
			deadline = time.Now()
		}
		res, err = dc.checkUntil(ctx, deadline.Add(cfg.timeout()))
	} else {
		cctx, cancel := context.WithTimeout(ctx, cfg.timeout())
		res, err = cfg.Checker.Check(cctx)
		cancel()
	}
	end := s.clock.Now()
	if s.onAtt != nil && ctx.Err() == nil {
		s.onAtt(Attempt{Name: e.name, Due: due, Start: start, Duration: end.Sub(start), Err: err})
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	e.st.Running = false
	if e.removed || s.stopped || ctx.Err() != nil {
		// Removed, or cut short by shutdown: not a result about the target.
		return
	}
	e.st.LastStart, e.st.LastDuration, e.st.LastLateness = start, end.Sub(start), start.Sub(due)
	next := s.record(e, res, err, end)
	if !next.After(end) {
		next = end
	}
	if !e.st.Suspended {
		s.arm(e, next)
	}
}

// deadlineChecker is implemented by Checkers that can take the attempt's deadline
// apart from ctx (which is then only for cancellation), sparing the Scheduler a
// context and a timer per attempt. checkUntil must behave as Check would with ctx
// bounded by deadline.
type deadlineChecker interface {
	checkUntil(ctx context.Context, deadline time.Time) (Result, error)
}

// record applies one attempt's outcome and returns when the next attempt is due.
// s.mu is held.
func (s *Scheduler) record(e *entry, res Result, err error, end time.Time) time.Time {
	cfg := e.cfg
	st := &e.st
	st.Attempts++
	var ev Event
	var reason string
	if err != nil {
		st.Failures++
		st.LastError = err
		if st.Up {
			if st.Retries < cfg.Retry {
				st.Retries++
				return end.Add(cfg.retryDelay())
			}
			st.Retries = 0
			st.Falling++
			if st.Falling >= cfg.fall() {
				reason = fmt.Sprintf("%d consecutive failed rounds of %d attempts", st.Falling, cfg.Retry+1)
				st.Up, st.Falling, ev = false, 0, EventDown
			}
		} else {
			st.Rising = 0
		}
	} else {
		st.LastDetail = res.Detail
		oldW, oldSet := st.Weight, st.WeightSet
		if res.WeightSet {
			st.Weight, st.WeightSet = res.Weight, true
		}
		if st.Up {
			st.Falling, st.Retries = 0, 0
			if st.WeightSet && (st.Weight != oldW || !oldSet) {
				ev = EventWeight
				reason = fmt.Sprintf("weight %d -> %d", oldW, st.Weight)
				if !oldSet {
					reason = fmt.Sprintf("weight set to %d", st.Weight)
				}
			}
		} else {
			st.Rising++
			if st.Rising >= cfg.rise() {
				reason = fmt.Sprintf("%d consecutive successes", st.Rising)
				st.Up, st.Rising, ev = true, 0, EventUp
			}
		}
	}
	if ev != 0 {
		st.Transitions++
		s.push(Transition{Name: e.name, Event: ev, Up: st.Up, Weight: st.Weight, WeightSet: st.WeightSet,
			Reason: reason, Err: err, At: end})
	}
	// The schedule is anchored to the due time of this round, so lateness does not
	// accumulate; a long attempt is followed at once by the next.
	return e.due.Add(s.withJitter(e, s.nextInterval(e)))
}

// push queues t for delivery, replacing an undelivered transition of the same check.
// s.mu is held.
func (s *Scheduler) push(t Transition) {
	if old, ok := s.pending[t.Name]; ok {
		t.Coalesced = old.Coalesced + 1
		s.coalesced.Add(1)
	} else {
		s.order = append(s.order, t.Name)
		if s.holder != nil {
			s.pendRel[t.Name] = s.holder.Hold()
		}
	}
	s.pending[t.Name] = &t
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest undelivered transition, and the release of its hold on a fake
// clock (a no-op without one), which the caller calls once it is delivered.
func (s *Scheduler) pop() (Transition, func(), bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.order) == 0 {
		return Transition{}, nil, false
	}
	name := s.order[0]
	s.order = s.order[1:]
	t := s.pending[name]
	delete(s.pending, name)
	rel, ok := s.pendRel[name]
	if ok {
		delete(s.pendRel, name)
	} else {
		rel = func() {}
	}
	return *t, rel, true
}

// deliver hands transitions to the consumer until ctx is done.
func (s *Scheduler) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		for {
			t, rel, ok := s.pop()
			if !ok {
				break
			}
			if s.onTrans != nil {
				s.onTrans(t)
				rel()
				continue
			}
			select {
			case s.out <- t:
				rel()
			case <-ctx.Done():
				rel()
				return
			}
		}
	}
}

// dueQueue is a binary min-heap of armed entries by due time. Each item carries its
// due time as monotonic nanoseconds since the Scheduler's epoch, so that comparisons do
// not dereference entries; the operations are written out (not container/heap) so
// that pushing and popping allocate nothing.
type dueQueue []dueItem

type dueItem struct {
	at int64
	e  *entry
}

func (q dueQueue) swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].e.index, q[j].e.index = i, j
}

func (q dueQueue) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if q[p].at <= q[i].at {
			return
		}
		q.swap(i, p)
		i = p
	}
}

// down sifts item i down and reports whether it moved.
func (q dueQueue) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(q) {
			break
		}
		m := l
		if r := l + 1; r < len(q) && q[r].at < q[l].at {
			m = r
		}
		if q[i].at <= q[m].at {
			break
		}
		q.swap(i, m)
		i = m
	}
	return i > start
}

func (q *dueQueue) push(it dueItem) {
	it.e.index = len(*q)
	*q = append(*q, it)
	q.up(len(*q) - 1)
}

// remove takes out item i and returns its entry.
func (q *dueQueue) remove(i int) *entry {
	old := *q
	n := len(old) - 1
	e := old[i].e
	if i != n {
		old.swap(i, n)
	}
	old[n] = dueItem{}
	*q = old[:n]
	if i != n && !q.down(i) {
		q.up(i)
	}
	e.index = -1
	return e
}

// fix restores the heap after item i's time changed.
func (q dueQueue) fix(i int) {
	if !q.down(i) {
		q.up(i)
	}
}
