//go:build linux

// Command healthbench compares the CPU that keepalived's checker process and lvskit's
// health.Scheduler spend on the same TCP checks, in one boot of a machine that has IPVS
// (keepalived --check refuses to start without it): run.sh runs it in the qemu guest.
//
// It starts N TCP listeners on 127.0.x.y:8080 in a child process, then
//
//  1. writes a keepalived.conf with one virtual_server (192.0.2.1:80, delay_loop
//     -interval) holding the N listeners as real servers with TCP_CHECK, runs
//     `keepalived --check`, lets it settle, and measures its checker child's CPU from
//     /proc/PID/stat (utime+stime) over -duration, and how many connections the
//     listeners accepted meanwhile;
//  2. stops keepalived, runs health.Scheduler with N TCPCheckers at the same interval
//     and timeout, settles, and measures its own CPU (getrusage) the same way, once
//     per -warmups value (0: all checks start together and stay in step, as
//     keepalived's do; 1s: spread over the interval, one wakeup per check);
//  3. measures the floor: the same probes as bare blocking system calls;
//
// and prints both, per second and per probe, and their ratios. Every phase is bounded.
//
//	healthbench -n 1000 -duration 30s
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/health"
)

type config struct {
	n                          int
	interval, duration, settle time.Duration
	keepalived, dir            string
	serve                      bool
	warmups                    durationsFlag
	coalesce                   time.Duration
	cpuprofile                 string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.n, "n", 1000, "number of real servers (listeners and checks)")
	flag.DurationVar(&cfg.interval, "interval", time.Second, "check interval (keepalived delay_loop, whole seconds)")
	flag.DurationVar(&cfg.duration, "duration", 30*time.Second, "measured time per checker")
	flag.DurationVar(&cfg.settle, "settle", 5*time.Second, "time each checker runs before measuring")
	flag.StringVar(&cfg.keepalived, "keepalived", "keepalived", "keepalived program")
	flag.StringVar(&cfg.dir, "dir", "/tmp/healthbench", "directory for keepalived's config and pid files")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of lvskit's measured window to this file")
	cfg.warmups = durationsFlag{0, time.Second}
	flag.Var(&cfg.warmups, "warmups", "comma-separated Check.Warmup values to run lvskit with: 0 starts every check at once and keeps them in step, as keepalived does; 1s spreads them over the interval")
	flag.DurationVar(&cfg.coalesce, "coalesce", 10*time.Millisecond, "also run every positive -warmups value with this SchedulerConfig.Coalesce (0: don't)")
	flag.BoolVar(&cfg.serve, "serve", false, "internal: run the listeners")
	flag.Parse()
	raiseNOFILE()
	var err error
	if cfg.serve {
		err = serve(cfg.n)
	} else {
		err = run(context.Background(), cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthbench:", err)
		os.Exit(1)
	}
}

func raiseNOFILE() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

// addr returns the i-th listener address: 127.0.x.y:8080.
func addr(i int) (ip string, port int) {
	return fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250), 8080
}

// serve listens on n addresses, prints "ready", and answers every line on stdin with
// the number of connections accepted so far, until stdin closes.
func serve(n int) error {
	var accepted atomic.Int64
	for i := range n {
		ip, port := addr(i)
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				go func() {
					_ = c.SetDeadline(time.Now().Add(10 * time.Second))
					_, _ = io.Copy(io.Discard, c)
					c.Close()
				}()
			}
		}()
	}
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Println(accepted.Load())
	}
	return nil
}

// listeners is the child process serving the targets.
type listeners struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func (l *listeners) accepted() (int64, error) {
	if _, err := io.WriteString(l.in, "?\n"); err != nil {
		return 0, err
	}
	line, err := l.out.ReadString('\n')
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(line), 10, 64)
}

func startListeners(n int) (*listeners, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", "-n", strconv.Itoa(n))
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	l := &listeners{cmd: cmd, in: in, out: bufio.NewReader(out)}
	line, err := l.out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		return nil, fmt.Errorf("listeners: %q %v", line, err)
	}
	return l, nil
}

// sample is one measurement window.
type sample struct {
	cpu    time.Duration // checker CPU (user+system)
	probes int64         // connections the listeners accepted
	wall   time.Duration
	load   string
}

func (s sample) String() string {
	return fmt.Sprintf("cpu %.1f%% of one core (%v in %v), %d probes (%.0f/s), %.1f µs CPU per probe, load average %s",
		100*float64(s.cpu)/float64(s.wall), s.cpu.Round(time.Millisecond), s.wall.Round(time.Millisecond),
		s.probes, float64(s.probes)/s.wall.Seconds(), float64(s.cpu)/float64(time.Microsecond)/float64(max(s.probes, 1)), s.load)
}

// measure runs for d and returns cpu()'s and the listeners' counts' growth.
func measure(l *listeners, d time.Duration, cpu func() (time.Duration, error)) (sample, error) {
	c0, err := cpu()
	if err != nil {
		return sample{}, err
	}
	a0, err := l.accepted()
	if err != nil {
		return sample{}, err
	}
	t0 := time.Now()
	time.Sleep(d)
	c1, err := cpu()
	if err != nil {
		return sample{}, err
	}
	a1, err := l.accepted()
	if err != nil {
		return sample{}, err
	}
	return sample{cpu: c1 - c0, probes: a1 - a0, wall: time.Since(t0), load: loadavg()}, nil
}

func run(ctx context.Context, cfg config) error {
	if cfg.interval%time.Second != 0 || cfg.interval <= 0 {
		return errors.New("-interval must be whole seconds (keepalived's delay_loop)")
	}
	l, err := startListeners(cfg.n)
	if err != nil {
		return err
	}
	defer func() { l.in.Close(); _ = l.cmd.Wait() }()
	cs, _ := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	fmt.Printf("healthbench: %d TCP checks every %v, %v measured after %v settling, GOMAXPROCS %d, %d CPUs, clocksource %s\n",
		cfg.n, cfg.interval, cfg.duration, cfg.settle, runtime.GOMAXPROCS(0), numCPU(), strings.TrimSpace(string(cs)))

	ka, err := runKeepalived(cfg, l)
	if err != nil {
		return fmt.Errorf("keepalived: %w", err)
	}
	fmt.Printf("keepalived --check (checker process): %v\n", ka)

	type variant struct{ warmup, coalesce time.Duration }
	var vs []variant
	for _, w := range cfg.warmups {
		vs = append(vs, variant{w, 0})
		if cfg.coalesce > 0 && w > 0 {
			vs = append(vs, variant{w, cfg.coalesce})
		}
	}
	var lvs []sample
	for _, v := range vs {
		lv, err := runScheduler(ctx, cfg, l, v.warmup, v.coalesce)
		if err != nil {
			return fmt.Errorf("lvskit: %w", err)
		}
		fmt.Printf("lvskit health.Scheduler, Warmup %v Coalesce %v (own process): %v\n", v.warmup, v.coalesce, lv)
		lvs = append(lvs, lv)
	}

	fl, err := runFloor(cfg)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	fmt.Printf("floor (blocking socket+SO_LINGER 0+connect+close, one thread, same rate): %v\n", fl)

	perProbe := func(s sample) float64 { return float64(s.cpu) / float64(max(s.probes, 1)) }
	for i, lv := range lvs {
		fmt.Printf("ratio lvskit (Warmup %v Coalesce %v)/keepalived: CPU per second %.2f, CPU per probe %.2f\n", vs[i].warmup, vs[i].coalesce,
			float64(lv.cpu)/float64(lv.wall)/(float64(ka.cpu)/float64(ka.wall)), perProbe(lv)/perProbe(ka))
	}
	return nil
}

func runKeepalived(cfg config, l *listeners) (sample, error) {
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return sample{}, err
	}
	conf := filepath.Join(cfg.dir, "keepalived.conf")
	var b strings.Builder
	secs := int(cfg.interval / time.Second)
	fmt.Fprintf(&b, "global_defs {\n  router_id healthbench\n}\n\nvirtual_server 192.0.2.1 80 {\n  delay_loop %d\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n", secs)
	for i := range cfg.n {
		ip, port := addr(i)
		fmt.Fprintf(&b, "  real_server %s %d {\n    weight 1\n    TCP_CHECK {\n      connect_timeout %d\n    }\n  }\n", ip, port, secs)
	}
	b.WriteString("}\n")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return sample{}, err
	}
	pid, cpid := filepath.Join(cfg.dir, "keepalived.pid"), filepath.Join(cfg.dir, "checkers.pid")
	cmd := exec.Command(cfg.keepalived, "--check", "-f", conf, "-p", pid, "-c", cpid, "-n", "-l")
	logf, err := os.Create(filepath.Join(cfg.dir, "keepalived.log"))
	if err != nil {
		return sample{}, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	// Wait (bounded) for the checker child's pid file.
	var child int
	for deadline := time.Now().Add(60 * time.Second); child == 0; {
		if b, err := os.ReadFile(cpid); err == nil {
			child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logf.Name())
			return sample{}, fmt.Errorf("exited before starting its checker: %v\n%s", err, log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return sample{}, errors.New("no checker pid file after 60s")
		}
	}
	time.Sleep(cfg.settle)
	s, err := measure(l, cfg.duration, func() (time.Duration, error) { return procCPU(child) })
	stop()
	return s, err
}

func runScheduler(ctx context.Context, cfg config, l *listeners, warmup, coalesce time.Duration) (sample, error) {
	s := health.NewScheduler(&health.SchedulerConfig{MaxConcurrent: max(health.DefaultMaxConcurrent, cfg.n/8), Coalesce: coalesce})
	for i := range cfg.n {
		ip, port := addr(i)
		err := s.Add(strconv.Itoa(i), health.Check{
			Checker:  &health.TCPChecker{Address: net.JoinHostPort(ip, strconv.Itoa(port))},
			Interval: cfg.interval,
			Timeout:  cfg.interval,
			Warmup:   warmup,
		})
		if err != nil {
			return sample{}, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(cfg.settle)
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return sample{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return sample{}, err
		}
	}
	res, err := measure(l, cfg.duration, selfCPU)
	pprof.StopCPUProfile()
	cancel()
	<-done
	down := 0
	for _, st := range s.Statuses() {
		if !st.Up {
			down++
		}
	}
	if down > 0 {
		fmt.Printf("lvskit: %d checks down at the end (false downs)\n", down)
	}
	return res, err
}

func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// procCPU returns utime+stime of process pid from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	fs := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fs) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(fs[11], 10, 64)
	k, err2 := strconv.ParseInt(fs[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(u+k) * tick, nil
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return max(strings.Count(string(b), "processor\t:"), 1)
}

// durationsFlag is a comma-separated list of durations.
type durationsFlag []time.Duration

func (d *durationsFlag) String() string {
	var parts []string
	for _, v := range *d {
		parts = append(parts, v.String())
	}
	return strings.Join(parts, ",")
}

func (d *durationsFlag) Set(s string) error {
	*d = nil
	for _, f := range strings.Split(s, ",") {
		v, err := time.ParseDuration(f)
		if err != nil {
			return err
		}
		*d = append(*d, v)
	}
	return nil
}
