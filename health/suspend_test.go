package health

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSchedulerSuspend pauses a check (no attempts, state kept) and resumes it one
// interval later; a check suspended before Run stays paused until resumed.
func TestSchedulerSuspend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		sc := &script{t0: t0, outcomes: []bool{false}}
		idle := &script{t0: t0, outcomes: []bool{true}}
		s := NewScheduler(nil)
		s.Add("rs1", Check{Checker: sc, Interval: 2 * time.Second, Fall: 3})
		s.Add("rs2", Check{Checker: idle, Interval: time.Second})
		if err := s.Suspend("rs2", true); err != nil {
			t.Fatal(err)
		}
		get := collect(s)
		stop := runScheduler(t, s)
		time.Sleep(3 * time.Second) // attempts at 0 and 2: two failures of three
		if err := s.Suspend("rs1", true); err != nil {
			t.Fatal(err)
		}
		st, _ := s.Status("rs1")
		if !st.Suspended || !st.Next.IsZero() || !st.Up {
			t.Errorf("suspended status: Suspended %v, Next %v, Up %v; want true, zero, true", st.Suspended, st.Next, st.Up)
		}
		time.Sleep(20 * time.Second)
		if err := s.Suspend("rs1", true); err != nil { // again: no change
			t.Fatal(err)
		}
		if err := s.Suspend("rs1", false); err != nil { // at 23: next at 25 (fast interval 2)
			t.Fatal(err)
		}
		if err := s.Suspend("rs2", false); err != nil { // at 23: next at 24
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		if got := get(); len(got) != 1 || got[0].Event != EventDown || got[0].At.Sub(t0) != 25*time.Second {
			t.Errorf("transitions %v, want one down at 25s (the third failure, after the pause)", brief(t0, got))
		}
		stop()
		if diff := cmp.Diff(secs(0, 2, 25), sc.startTimes()); diff != "" {
			t.Errorf("rs1 attempt times (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(secs(24, 25), idle.startTimes()); diff != "" {
			t.Errorf("rs2 attempt times (-want +got):\n%s", diff)
		}
		if err := s.Suspend("nope", true); !errors.Is(err, ErrCheckNotFound) {
			t.Errorf("Suspend of an unknown check: %v, want ErrCheckNotFound", err)
		}
	})
}
