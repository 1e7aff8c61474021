package health

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkTCPCheck measures one TCP connect check (connect, RST close) against a
// loopback listener.
func BenchmarkTCPCheck(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 1)
				_, _ = c.Read(buf)
				c.Close()
			}()
		}
	}()
	c := &TCPChecker{Address: ln.Addr().String()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		// 5 s: under load the accept queue can overflow, and a dropped SYN is
		// retransmitted after 1 s.
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if _, err := c.Check(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
}

// BenchmarkSchedulerAttempt measures the scheduler's own cost per attempt (timer,
// semaphore, bookkeeping, context) with a Checker that does nothing, using 1000 checks
// at a 1 ms interval.
func BenchmarkSchedulerAttempt(b *testing.B) {
	var n atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	s := NewScheduler(&SchedulerConfig{OnAttempt: func(Attempt) {
		if n.Add(1) == target {
			close(done)
		}
	}})
	noop := CheckerFunc(func(context.Context) (Result, error) { return Result{}, nil })
	for i := range 1000 {
		s.Add(fmt.Sprint(i), Check{Checker: noop, Interval: time.Millisecond, Warmup: time.Millisecond})
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.ReportAllocs()
	b.ResetTimer()
	ran := make(chan struct{})
	go func() { defer close(ran); s.Run(ctx) }()
	<-done
	b.StopTimer()
	cancel()
	<-ran
}
