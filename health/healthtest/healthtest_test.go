package healthtest_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/health/healthtest"
)

func TestCheckerDrivesScheduler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := healthtest.NewChecker()
		var got []health.Event
		s := health.NewScheduler(&health.SchedulerConfig{OnTransition: func(tr health.Transition) { got = append(got, tr.Event) }})
		s.Add("rs1", health.Check{Checker: c, Interval: time.Second, Timeout: 500 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.Run(ctx) }()

		time.Sleep(1500 * time.Millisecond)
		c.SetDown(errors.New("refused"))
		time.Sleep(time.Second)
		c.SetWeight(3)
		time.Sleep(time.Second)
		c.SetDelay(time.Second) // longer than Timeout: fails
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		<-done

		want := []health.Event{health.EventDown, health.EventUp, health.EventDown}
		if len(got) != len(want) {
			t.Fatalf("events %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("events %v, want %v", got, want)
			}
		}
		if n := c.Calls(); n != 5 {
			t.Errorf("Calls() = %d, want 5 (at 0, 1, 2, 3, 4 s)", n)
		}
	})
}
