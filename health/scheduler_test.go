package health

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// script is a Checker whose outcomes come from a list (true = success); after the list
// it repeats the last outcome. It records when each attempt started, relative to t0,
// and how many attempts overlapped.
type script struct {
	mu       sync.Mutex
	t0       time.Time
	outcomes []bool
	weights  []int // optional dynamic weight per attempt (-1: none)
	took     time.Duration
	starts   []time.Duration
	running  int
	overlap  int
}

func (s *script) Check(ctx context.Context) (Result, error) {
	s.mu.Lock()
	i := len(s.starts)
	s.starts = append(s.starts, time.Since(s.t0))
	s.running++
	if s.running > 1 {
		s.overlap++
	}
	ok := s.outcomes[min(i, len(s.outcomes)-1)]
	var res Result
	if i < len(s.weights) && s.weights[i] >= 0 {
		res = Result{Weight: s.weights[i], WeightSet: true}
	}
	took := s.took
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.running--; s.mu.Unlock() }()
	if took > 0 {
		select {
		case <-time.After(took):
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	if !ok {
		return Result{}, fmt.Errorf("attempt %d failed", i)
	}
	return res, nil
}

func (s *script) startTimes() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.starts...)
}

// run starts s in the bubble and returns a stop function that cancels Run and waits.
func runScheduler(t *testing.T, s *Scheduler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v, want nil when ctx ends", err)
		}
		if err := s.Run(context.Background()); !errors.Is(err, ErrRunTwice) {
			t.Errorf("second Run: %v, want ErrRunTwice", err)
		}
	}
}

// collect gathers transitions from the Transitions channel until it closes.
func collect(s *Scheduler) (get func() []Transition) {
	var mu sync.Mutex
	var got []Transition
	done := make(chan struct{})
	go func() {
		defer close(done)
		for tr := range s.Transitions() {
			mu.Lock()
			got = append(got, tr)
			mu.Unlock()
		}
	}()
	return func() []Transition {
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		return append([]Transition(nil), got...)
	}
}

type transBrief struct {
	Event Event
	At    time.Duration
}

func brief(t0 time.Time, ts []Transition) []transBrief {
	var out []transBrief
	for _, t := range ts {
		out = append(out, transBrief{t.Event, t.At.Sub(t0)})
	}
	return out
}

func secs(ds ...float64) []time.Duration {
	var out []time.Duration
	for _, d := range ds {
		out = append(out, time.Duration(d*float64(time.Second)))
	}
	return out
}

// TestSchedulerKeepalivedRetry expresses keepalived's TCP_CHECK { retry 2
// delay_before_retry 3 } with delay_loop 6: down after 3 consecutive failed attempts
// spaced 3 s apart; a single success brings it back.
func TestSchedulerKeepalivedRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		sc := &script{t0: t0, outcomes: []bool{true, false, false, false, true, true}}
		s := NewScheduler(nil)
		get := collect(s)
		if err := s.Add("rs1", Check{Checker: sc, Interval: 6 * time.Second, Retry: 2, RetryDelay: 3 * time.Second}); err != nil {
			t.Fatal(err)
		}
		stop := runScheduler(t, s)
		time.Sleep(25 * time.Second)
		synctest.Wait()
		stop()
		// 0 ok; 6 fail; 9 retry fail; 12 retry fail -> down; 18 ok -> up; 24 ok.
		if diff := cmp.Diff(secs(0, 6, 9, 12, 18, 24), sc.startTimes()); diff != "" {
			t.Errorf("attempt times (-want +got):\n%s", diff)
		}
		want := []transBrief{{EventDown, 12 * time.Second}, {EventUp, 18 * time.Second}}
		if diff := cmp.Diff(want, brief(t0, get())); diff != "" {
			t.Errorf("transitions (-want +got):\n%s", diff)
		}
	})
}

// TestSchedulerRiseFallConsecutive checks that rise and fall count consecutive results:
// an opposite result in between resets the count.
func TestSchedulerRiseFallConsecutive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		// up: F F S F F F -> down at attempt 5 (t=5s). down: S F S S -> up at attempt 9 (t=9s).
		sc := &script{t0: t0, outcomes: []bool{false, false, true, false, false, false, true, false, true, true}}
		s := NewScheduler(nil)
		get := collect(s)
		s.Add("rs1", Check{Checker: sc, Interval: time.Second, Rise: 2, Fall: 3})
		stop := runScheduler(t, s)
		time.Sleep(12500 * time.Millisecond)
		synctest.Wait()
		st, _ := s.Status("rs1")
		stop()
		want := []transBrief{{EventDown, 5 * time.Second}, {EventUp, 9 * time.Second}}
		got := get()
		if diff := cmp.Diff(want, brief(t0, got)); diff != "" {
			t.Errorf("transitions (-want +got):\n%s", diff)
		}
		if len(got) > 0 && (got[0].Err == nil || got[0].Reason != "3 consecutive failed rounds of 1 attempts") {
			t.Errorf("down transition: reason %q err %v", got[0].Reason, got[0].Err)
		}
		if st.Attempts != 13 || st.Failures != 6 || !st.Up || st.Transitions != 2 {
			t.Errorf("status %+v, want 13 attempts, 6 failures, up, 2 transitions", st)
		}
	})
}

// TestSchedulerIntervals checks FastInterval while a count is in progress and
// DownInterval while down.
func TestSchedulerIntervals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		sc := &script{t0: t0, outcomes: []bool{true, false, false, false, true, true}}
		s := NewScheduler(nil)
		s.Add("rs1", Check{Checker: sc, Interval: 10 * time.Second, FastInterval: time.Second, DownInterval: 30 * time.Second, Rise: 2, Fall: 2})
		stop := runScheduler(t, s)
		time.Sleep(75 * time.Second)
		synctest.Wait()
		stop()
		// 0 S; 10 F (falling); 11 F -> down; 41 F (down); 71 S (rising); 72 S -> up.
		if diff := cmp.Diff(secs(0, 10, 11, 41, 71, 72), sc.startTimes()); diff != "" {
			t.Errorf("attempt times (-want +got):\n%s", diff)
		}
	})
}

// TestSchedulerWarmupJitter checks that warmup and jitter stay within bounds and that
// they actually spread attempts.
func TestSchedulerWarmupJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := NewScheduler(nil)
		var scs []*script
		for i := range 50 {
			sc := &script{t0: t0, outcomes: []bool{true}}
			scs = append(scs, sc)
			s.Add(fmt.Sprint("rs", i), Check{Checker: sc, Interval: 5 * time.Second, Warmup: 10 * time.Second, Jitter: 2 * time.Second})
		}
		stop := runScheduler(t, s)
		time.Sleep(60 * time.Second)
		synctest.Wait()
		stop()
		firsts := map[time.Duration]bool{}
		gaps := map[time.Duration]bool{}
		for _, sc := range scs {
			st := sc.startTimes()
			if len(st) < 5 {
				t.Fatalf("only %d attempts", len(st))
			}
			firsts[st[0]] = true
			if st[0] < 0 || st[0] >= 10*time.Second {
				t.Errorf("first attempt at %v, want in [0, 10s)", st[0])
			}
			for i := 1; i < len(st); i++ {
				gap := st[i] - st[i-1]
				gaps[gap] = true
				if gap < 5*time.Second || gap >= 7*time.Second {
					t.Errorf("gap %v, want in [5s, 7s)", gap)
				}
			}
		}
		if len(firsts) < 40 || len(gaps) < 100 {
			t.Errorf("warmup/jitter do not spread: %d distinct first times, %d distinct gaps", len(firsts), len(gaps))
		}
	})
}

// TestSchedulerNoOverlap runs a check that takes longer than its interval, and many
// checks against a small concurrency bound.
func TestSchedulerNoOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		slow := &script{t0: t0, outcomes: []bool{true}, took: 2500 * time.Millisecond}
		s := NewScheduler(&SchedulerConfig{MaxConcurrent: 3})
		s.Add("slow", Check{Checker: slow, Interval: time.Second, Timeout: 10 * time.Second})
		var inFlight, peak atomic.Int32
		for i := range 10 {
			s.Add(fmt.Sprint("c", i), Check{Interval: time.Second, Checker: CheckerFunc(func(ctx context.Context) (Result, error) {
				n := inFlight.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(200 * time.Millisecond)
				inFlight.Add(-1)
				return Result{}, nil
			})})
		}
		stop := runScheduler(t, s)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		stop()
		if slow.overlap != 0 {
			t.Errorf("slow check overlapped itself %d times", slow.overlap)
		}
		st := slow.startTimes()
		for i := 1; i < len(st); i++ {
			if gap := st[i] - st[i-1]; gap < 2500*time.Millisecond {
				t.Errorf("slow check restarted %v after the previous start, before it ended", gap)
			}
		}
		// Three slots, one of them often held by "slow": the fast checks must have run
		// side by side, but never more than the bound.
		if p := peak.Load(); p < 2 || p > 3 {
			t.Errorf("peak concurrency of the fast checks %d, want 2 or 3", p)
		}
	})
}

// TestSchedulerRemoveStops removes a check and checks that no attempt follows.
func TestSchedulerRemoveStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := &script{t0: time.Now(), outcomes: []bool{true}}
		s := NewScheduler(nil)
		s.Add("rs1", Check{Checker: sc, Interval: time.Second})
		stop := runScheduler(t, s)
		time.Sleep(3500 * time.Millisecond)
		if err := s.Remove("rs1"); err != nil {
			t.Fatal(err)
		}
		n := len(sc.startTimes())
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := len(sc.startTimes()); got != n || n != 4 {
			t.Errorf("attempts: %d at removal, %d after; want 4 and no more", n, got)
		}
		if _, ok := s.Status("rs1"); ok {
			t.Error("Status still knows rs1")
		}
		if err := s.Remove("rs1"); !errors.Is(err, ErrCheckNotFound) {
			t.Errorf("second Remove: %v, want ErrCheckNotFound", err)
		}
		stop()
	})
}

// TestSchedulerAddUpdateWhileRunning adds a check after Run started and changes its
// interval.
func TestSchedulerAddUpdateWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := NewScheduler(nil)
		stop := runScheduler(t, s)
		time.Sleep(time.Second)
		sc := &script{t0: t0, outcomes: []bool{true}}
		if err := s.Add("rs1", Check{Checker: sc, Interval: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
		if err := s.Add("rs1", Check{Checker: sc}); !errors.Is(err, ErrCheckExists) {
			t.Errorf("duplicate Add: %v, want ErrCheckExists", err)
		}
		time.Sleep(5 * time.Second)
		if err := s.Update("rs1", Check{Checker: sc, Interval: 2 * time.Second}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4500 * time.Millisecond)
		synctest.Wait()
		stop()
		// added at 1 -> attempt at 1; updated at 6 -> 8, 10.
		if diff := cmp.Diff(secs(1, 8, 10), sc.startTimes()); diff != "" {
			t.Errorf("attempt times (-want +got):\n%s", diff)
		}
		if err := s.Add("late", Check{Checker: sc}); !errors.Is(err, ErrClosed) {
			t.Errorf("Add after Run: %v, want ErrClosed", err)
		}
	})
}

// TestSchedulerTimeout checks that an attempt is cancelled at Timeout and counts as a
// failure.
func TestSchedulerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := NewScheduler(nil)
		get := collect(s)
		s.Add("hang", Check{Interval: 10 * time.Second, Timeout: 2 * time.Second, Checker: CheckerFunc(func(ctx context.Context) (Result, error) {
			<-ctx.Done()
			return Result{}, ctx.Err()
		})})
		stop := runScheduler(t, s)
		time.Sleep(5 * time.Second)
		got := get()
		stop()
		if len(got) != 1 || got[0].Event != EventDown || got[0].At.Sub(t0) != 2*time.Second || !errors.Is(got[0].Err, context.DeadlineExceeded) {
			t.Errorf("transitions %+v, want one down at 2s with DeadlineExceeded", got)
		}
	})
}

// TestSchedulerStartDownAndWeight checks alpha (start down) and dynamic weights.
func TestSchedulerStartDownAndWeight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		sc := &script{t0: t0, outcomes: []bool{true}, weights: []int{5, 5, 7, -1}}
		s := NewScheduler(nil)
		get := collect(s)
		s.Add("rs1", Check{Checker: sc, Interval: time.Second, StartDown: true})
		if st, _ := s.Status("rs1"); st.Up {
			t.Error("StartDown check starts up")
		}
		stop := runScheduler(t, s)
		time.Sleep(4500 * time.Millisecond)
		got := get()
		stop()
		type tw struct {
			Event  Event
			Weight int
		}
		var gotW []tw
		for _, tr := range got {
			gotW = append(gotW, tw{tr.Event, tr.Weight})
		}
		want := []tw{{EventUp, 5}, {EventWeight, 7}}
		if diff := cmp.Diff(want, gotW); diff != "" {
			t.Errorf("transitions (-want +got):\n%s", diff)
		}
	})
}

// TestSchedulerSlowConsumer blocks the consumer: checks keep running on time and
// transitions coalesce to the latest state.
func TestSchedulerSlowConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		// Flaps every attempt: down, up, down, up, ...
		sc := &script{t0: t0, outcomes: []bool{false, true, false, true, false, true, false}}
		release := make(chan struct{})
		var delivered []Transition
		var mu sync.Mutex
		s := NewScheduler(&SchedulerConfig{OnTransition: func(tr Transition) {
			<-release
			mu.Lock()
			delivered = append(delivered, tr)
			mu.Unlock()
		}})
		s.Add("rs1", Check{Checker: sc, Interval: time.Second})
		stop := runScheduler(t, s)
		time.Sleep(6500 * time.Millisecond)
		synctest.Wait()
		if n := len(sc.startTimes()); n != 7 {
			t.Errorf("%d attempts while the consumer was blocked, want 7", n)
		}
		close(release)
		synctest.Wait()
		stop()
		mu.Lock()
		defer mu.Unlock()
		// The first (down at 0s) was taken by the blocked consumer; the rest coalesced into
		// the latest: down at 6s.
		if len(delivered) != 2 || delivered[1].Event != EventDown || delivered[1].At.Sub(t0) != 6*time.Second || delivered[1].Coalesced != 5 {
			t.Errorf("delivered %+v; want the first and then the latest (down at 6s, 5 coalesced)", delivered)
		}
		if got := s.Coalesced(); got != 5 {
			t.Errorf("Coalesced() = %d, want 5", got)
		}
	})
}

func TestCheckValidate(t *testing.T) {
	s := NewScheduler(nil)
	ok := CheckerFunc(func(context.Context) (Result, error) { return Result{}, nil })
	for name, c := range map[string]Check{
		"no checker":       {},
		"negative rise":    {Checker: ok, Rise: -1},
		"negative timeout": {Checker: ok, Timeout: -time.Second},
	} {
		if err := s.Add(name, c); err == nil {
			t.Errorf("%s: Add accepted %+v", name, c)
		}
	}
}

// TestSchedulerShutdownNoFalseDown stops the scheduler while an attempt is in flight:
// the cancelled attempt is not a failure and starts nothing new.
func TestSchedulerShutdownNoFalseDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var attempts atomic.Int32
		s := NewScheduler(nil)
		get := collect(s)
		s.Add("rs1", Check{Interval: time.Second, Timeout: 10 * time.Second, Checker: CheckerFunc(func(ctx context.Context) (Result, error) {
			attempts.Add(1)
			<-ctx.Done()
			return Result{}, ctx.Err()
		})})
		stop := runScheduler(t, s)
		time.Sleep(500 * time.Millisecond)
		stop()
		if got := get(); len(got) != 0 {
			t.Errorf("transitions on shutdown: %+v", got)
		}
		st, _ := s.Status("rs1")
		if st.Failures != 0 || !st.Up || attempts.Load() != 1 {
			t.Errorf("after shutdown: %d attempts, status %+v; want 1 attempt, up, no failures", attempts.Load(), st)
		}
	})
}

// TestSchedulerWorkersBounded runs many checks and requires that attempts run on at
// most MaxConcurrent reused worker goroutines (plus the dispatcher, the delivery
// goroutine and Run's caller), not on a goroutine each, and that every check keeps
// its schedule.
func TestSchedulerWorkersBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := runtime.NumGoroutine()
		s := NewScheduler(&SchedulerConfig{MaxConcurrent: 4})
		for i := range 200 {
			s.Add(fmt.Sprint("c", i), Check{Interval: time.Second, Warmup: time.Second, Checker: CheckerFunc(func(ctx context.Context) (Result, error) {
				time.Sleep(time.Millisecond)
				return Result{}, nil
			})})
		}
		stop := runScheduler(t, s)
		peak := 0
		for range 50 {
			time.Sleep(100 * time.Millisecond)
			peak = max(peak, runtime.NumGoroutine()-before)
		}
		stop()
		if peak > 4+3 {
			t.Errorf("peak of %d goroutines above the baseline, want at most 4 workers + 3", peak)
		}
		for _, st := range s.Statuses() {
			if st.Attempts < 4 || st.Failures != 0 {
				t.Fatalf("%s: %d attempts, %d failures in 5 s at a 1 s interval", st.Name, st.Attempts, st.Failures)
			}
		}
	})
}

// TestSchedulerCoalesce checks that with Coalesce, attempts start at multiples of it
// (counted from NewScheduler), never early and less than Coalesce late.
func TestSchedulerCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const slack = 100 * time.Millisecond
		t0 := time.Now()
		var mu sync.Mutex
		var got []Attempt
		s := NewScheduler(&SchedulerConfig{Coalesce: slack, OnAttempt: func(a Attempt) {
			mu.Lock()
			got = append(got, a)
			mu.Unlock()
		}})
		noop := CheckerFunc(func(context.Context) (Result, error) { return Result{}, nil })
		for i := range 20 {
			s.Add(fmt.Sprint("c", i), Check{Checker: noop, Interval: 330 * time.Millisecond, Warmup: time.Second})
		}
		stop := runScheduler(t, s)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		stop()
		mu.Lock()
		defer mu.Unlock()
		if len(got) < 20*10 {
			t.Fatalf("%d attempts in 5 s, want at least 200", len(got))
		}
		starts := map[time.Duration]bool{}
		for _, a := range got {
			if late := a.Start.Sub(a.Due); late < 0 || late >= slack {
				t.Errorf("%s started %v after its due time, want [0, %v)", a.Name, late, slack)
			}
			if off := a.Start.Sub(t0) % slack; off != 0 {
				t.Errorf("%s started %v past a multiple of %v", a.Name, off, slack)
			}
			starts[a.Start.Sub(t0)] = true
		}
		if len(starts) > 51 {
			t.Errorf("attempts started at %d distinct times in 5 s, want at most 51 (one per %v)", len(starts), slack)
		}
	})
}
