//go:build linux

// Command soak measures the health Scheduler under load: N TCP checks at a fixed
// interval against listeners on loopback served by a child process, for a bounded
// time. It reports CPU used by the checking process, attempt lateness percentiles,
// failures (false downs) and memory per check. Linux only (RLIMIT_NOFILE, rusage).
//
//	go run ./health/internal/soak -checks 10000 -interval 1s -duration 60s
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/health"
)

func main() {
	var cfg config
	flag.IntVar(&cfg.checks, "checks", 10000, "number of TCP checks")
	flag.IntVar(&cfg.listeners, "listeners", 100, "number of loopback listeners (in a child process)")
	flag.DurationVar(&cfg.interval, "interval", time.Second, "check interval")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "measured duration (after one warmup interval and a settle period)")
	flag.IntVar(&cfg.concurrency, "concurrency", 256, "Scheduler MaxConcurrent")
	flag.DurationVar(&cfg.coalesce, "coalesce", 0, "SchedulerConfig.Coalesce")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of the measured period to this file")
	flag.BoolVar(&cfg.floor, "floor", false, "instead of the Scheduler, run bare socket/connect/close system calls in a loop for -duration (the kernel's floor per probe)")
	serve := flag.Bool("serve", false, "internal: run the listeners and print their addresses")
	flag.Parse()
	raiseNOFILE()
	var err error
	if *serve {
		err = runServer(cfg.listeners)
	} else {
		err = run(context.Background(), cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type config struct {
	checks, listeners, concurrency int
	interval, duration             time.Duration
	cpuprofile                     string
	floor                          bool
	coalesce                       time.Duration
}

func raiseNOFILE() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

// runServer listens n times on loopback, prints the addresses and serves until stdin
// closes. Each connection is read until the prober resets it, so no side keeps
// TIME_WAIT state.
func runServer(n int) error {
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		addrs = append(addrs, ln.Addr().String())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					_ = c.SetDeadline(time.Now().Add(10 * time.Second))
					_, _ = io.Copy(io.Discard, c)
					c.Close()
				}()
			}
		}()
	}
	fmt.Println(strings.Join(addrs, " "))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

func cpuTime() (user, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// procCPU returns the user and system CPU time of process pid from /proc/PID/stat.
func procCPU(pid int) (user, sys time.Duration) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	s := string(b)
	fs := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	var u, k int64
	fmt.Sscan(fs[11], &u)
	fmt.Sscan(fs[12], &k)
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(u) * tick, time.Duration(k) * tick
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func run(ctx context.Context, cfg config) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv := exec.Command(self, "-serve", "-listeners", fmt.Sprint(cfg.listeners))
	stdin, _ := srv.StdinPipe()
	stdout, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); _ = srv.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	addrs := strings.Fields(line)
	if cfg.floor {
		return floor(cfg, addrs, srv.Process.Pid)
	}

	var (
		measuring atomic.Bool
		late      = newHistogram()
		attempts  atomic.Int64
		failures  atomic.Int64
		downs     atomic.Int64
		firstErr  atomic.Value
	)
	s := health.NewScheduler(&health.SchedulerConfig{
		MaxConcurrent: cfg.concurrency,
		Coalesce:      cfg.coalesce,
		OnAttempt: func(a health.Attempt) {
			if !measuring.Load() {
				return
			}
			attempts.Add(1)
			if a.Err != nil {
				failures.Add(1)
				firstErr.CompareAndSwap(nil, a.Err.Error())
			}
			late.add(a.Start.Sub(a.Due))
		},
		OnTransition: func(t health.Transition) {
			if t.Event == health.EventDown {
				downs.Add(1)
			}
		},
	})
	base := heapInUse()
	for i := range cfg.checks {
		err := s.Add(fmt.Sprint("c", i), health.Check{
			Checker:  &health.TCPChecker{Address: addrs[i%len(addrs)]},
			Interval: cfg.interval,
			Timeout:  cfg.interval,
			Warmup:   cfg.interval,
		})
		if err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()

	settle := cfg.interval + 5*time.Second
	time.Sleep(settle)
	perCheck := float64(heapInUse()-base) / float64(cfg.checks)
	goroutines := runtime.NumGoroutine()
	measuring.Store(true)
	load0 := loadavg()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	u0, s0 := cpuTime()
	su0, ss0 := procCPU(srv.Process.Pid)
	t0 := time.Now()
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	time.Sleep(cfg.duration)
	pprof.StopCPUProfile()
	u1, s1 := cpuTime()
	runtime.ReadMemStats(&m1)
	su1, ss1 := procCPU(srv.Process.Pid)
	t1 := time.Now()
	load1 := loadavg()
	measuring.Store(false)
	cancel()
	<-done

	pct := late.percentile
	wall := t1.Sub(t0)
	fmt.Printf("checks=%d listeners=%d interval=%v duration=%v concurrency=%d coalesce=%v GOMAXPROCS=%d\n",
		cfg.checks, cfg.listeners, cfg.interval, wall.Round(time.Millisecond), cfg.concurrency, cfg.coalesce, runtime.GOMAXPROCS(0))
	fmt.Printf("attempts=%d (%.0f/s, expected %.0f/s) failures=%d down-transitions=%d\n",
		attempts.Load(), float64(attempts.Load())/wall.Seconds(), float64(cfg.checks)/cfg.interval.Seconds(), failures.Load(), downs.Load())
	if e := firstErr.Load(); e != nil {
		fmt.Printf("first error: %v\n", e)
	}
	fmt.Printf("cpu=%.1f%% of one core (user %.1f%%, sys %.1f%%), %.1f µs per attempt\n",
		100*float64(u1-u0+s1-s0)/float64(wall), 100*float64(u1-u0)/float64(wall), 100*float64(s1-s0)/float64(wall),
		float64(u1-u0+s1-s0)/float64(time.Microsecond)/float64(max(attempts.Load(), 1)))
	fmt.Printf("listener process cpu=%.1f%% of one core (user %.1f%%, sys %.1f%%)\n",
		100*float64(su1-su0+ss1-ss0)/float64(wall), 100*float64(su1-su0)/float64(wall), 100*float64(ss1-ss0)/float64(wall))
	fmt.Printf("machine load average: %s at start, %s at end\n", load0, load1)
	fmt.Printf("lateness p50=%v p90=%v p99=%v p99.9=%v max=%v\n", pct(0.5), pct(0.9), pct(0.99), pct(0.999), time.Duration(late.max.Load()))
	fmt.Printf("memory per check=%.0f bytes (heap+stack in use after settling), goroutines=%d, %.1f allocations and %.0f bytes per attempt, %d GC cycles\n",
		perCheck, goroutines, float64(m1.Mallocs-m0.Mallocs)/float64(max(attempts.Load(), 1)),
		float64(m1.TotalAlloc-m0.TotalAlloc)/float64(max(attempts.Load(), 1)), m1.NumGC-m0.NumGC)
	return nil
}

// histogram records durations in 50 µs buckets up to 10 s without locks, so that
// recording every attempt's lateness costs the checking process little.
type histogram struct {
	buckets []atomic.Int64
	n       atomic.Int64
	max     atomic.Int64
}

const bucketWidth = 50 * time.Microsecond

func newHistogram() *histogram {
	return &histogram{buckets: make([]atomic.Int64, int(10*time.Second/bucketWidth)+1)}
}

func (h *histogram) add(d time.Duration) {
	i := min(max(int(d/bucketWidth), 0), len(h.buckets)-1)
	h.buckets[i].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// percentile returns the upper edge of the bucket holding the p-th fraction.
func (h *histogram) percentile(p float64) time.Duration {
	want := int64(p * float64(h.n.Load()))
	var sum int64
	for i := range h.buckets {
		sum += h.buckets[i].Load()
		if sum > want {
			return time.Duration(i+1) * bucketWidth
		}
	}
	return time.Duration(len(h.buckets)) * bucketWidth
}
