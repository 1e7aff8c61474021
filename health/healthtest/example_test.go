package healthtest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/health/healthtest"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// A real server's check fails and recovers on a fake clock: each Advance returns once
// the transitions it caused have been delivered, so the output is the same every run.
func Example() {
	clk := vrrptest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	start := clk.Now()
	s := health.NewScheduler(&health.SchedulerConfig{
		Clock: clk,
		OnTransition: func(tr health.Transition) {
			fmt.Printf("%v %s up=%v (%s)\n", tr.At.Sub(start), tr.Name, tr.Up, tr.Reason)
		},
	})
	rs := healthtest.NewChecker()
	if err := s.Add("rs1", health.Check{Checker: rs, Interval: time.Second, Timeout: time.Second, Rise: 2, Fall: 2}); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Started()

	clk.Advance(3 * time.Second)
	rs.SetDown(errors.New("connection refused"))
	clk.Advance(3 * time.Second)
	rs.SetUp()
	clk.Advance(3 * time.Second)
	cancel()
	<-done
	fmt.Println("checks run:", rs.Calls())
	// Output:
	// 5s rs1 up=false (2 consecutive failed rounds of 1 attempts)
	// 8s rs1 up=true (2 consecutive successes)
	// checks run: 10
}
