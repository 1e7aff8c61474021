package healthtest_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/health/healthtest"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type seen struct {
	Event health.Event
	At    time.Duration
}

// runOnClock runs s until the test ends and returns once it has started.
func runOnClock(t *testing.T, s *health.Scheduler) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v, want nil", err)
		}
	})
	<-s.Started()
}

// TestSchedulerOnFakeClock: with vrrptest.Clock as the Scheduler's Clock, a check's
// transitions happen at exact fake times and have been delivered when Advance
// returns, every run, without synctest.
func TestSchedulerOnFakeClock(t *testing.T) {
	clk := vrrptest.NewClock(epoch)
	c := healthtest.NewChecker()
	var mu sync.Mutex
	var got []seen
	s := health.NewScheduler(&health.SchedulerConfig{
		Clock: clk,
		OnTransition: func(tr health.Transition) {
			mu.Lock()
			got = append(got, seen{tr.Event, tr.At.Sub(epoch)})
			mu.Unlock()
		},
	})
	if err := s.Add("rs1", health.Check{Checker: c, Interval: time.Second, Fall: 2, Rise: 2}); err != nil {
		t.Fatal(err)
	}
	runOnClock(t, s)
	look := func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), got...)
	}

	clk.Advance(1500 * time.Millisecond) // attempts at 0 s and 1 s succeed
	c.SetDown(errors.New("refused"))
	clk.Advance(time.Second) // 2 s fails: falling 1
	if g := look(); len(g) != 0 {
		t.Fatalf("transitions after one failed round of Fall 2: %v", g)
	}
	clk.Advance(time.Second) // 3 s fails: down
	if diff := cmp.Diff([]seen{{health.EventDown, 3 * time.Second}}, look()); diff != "" {
		t.Fatalf("transitions at 3.5 s (-want +got):\n%s", diff)
	}
	c.SetUp()
	clk.Advance(2 * time.Second) // 4 s and 5 s succeed: up at 5 s
	want := []seen{{health.EventDown, 3 * time.Second}, {health.EventUp, 5 * time.Second}}
	if diff := cmp.Diff(want, look()); diff != "" {
		t.Errorf("transitions at 5.5 s (-want +got):\n%s", diff)
	}
	st, _ := s.Status("rs1")
	if st.Attempts != 6 || st.Next.Sub(epoch) != 6*time.Second {
		t.Errorf("status: %d attempts, next at %v; want 6 and 6s", st.Attempts, st.Next.Sub(epoch))
	}
	if n := c.Calls(); n != 6 {
		t.Errorf("Calls() = %d, want 6", n)
	}
}

// TestSchedulerSeededRand: the same seed gives the same warmups and jitter.
func TestSchedulerSeededRand(t *testing.T) {
	next := func(seed uint64) []time.Duration {
		clk := vrrptest.NewClock(epoch)
		s := health.NewScheduler(&health.SchedulerConfig{Clock: clk, Rand: rand.New(rand.NewPCG(seed, 0))})
		for _, name := range []string{"a", "b", "c"} {
			s.Add(name, health.Check{Checker: healthtest.NewChecker(), Interval: time.Second,
				Warmup: time.Second, Jitter: 100 * time.Millisecond})
		}
		runOnClock(t, s)
		clk.Advance(3 * time.Second)
		var out []time.Duration
		for _, st := range s.Statuses() {
			out = append(out, st.LastStart.Sub(epoch), st.Next.Sub(epoch))
		}
		return out
	}
	a, b := next(7), next(7)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different schedules (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(a, next(8)); diff == "" {
		t.Errorf("seeds 7 and 8 gave the same schedule %v", a)
	}
}
