package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// side is one implementation's pair of routers in its own topology.
type side struct {
	name  string // "director" or "keepalived"
	topo  *topology
	obs   *observer
	procs [2]*proc // A, B
}

// roots are the PIDs whose process trees make up the side.
func (s *side) roots() []int {
	var r []int
	for _, p := range s.procs {
		if p != nil {
			r = append(r, p.pid())
		}
	}
	return r
}

// close stops the routers, the observer and removes the topology.
func (s *side) close() {
	for _, p := range s.procs {
		if p != nil {
			p.stop(5 * time.Second)
		}
	}
	if s.obs != nil {
		s.obs.close()
	}
	if s.topo != nil {
		s.topo.remove()
	}
}

// checkAlive reports a router that exited.
func (s *side) checkAlive() error {
	for h, p := range s.procs {
		if p != nil && !p.alive() {
			return fmt.Errorf("%s on host %s exited (%v); log:\n%s", s.name, host(h), p.err, p.logTail())
		}
	}
	return nil
}

// round runs one N: both sides side by side in one run.
func (b *bench) round(ctx context.Context, n int) (*roundResult, error) {
	insts, err := layout(n)
	if err != nil {
		return nil, err
	}
	res := &roundResult{N: n, Secs: b.secs.Seconds(), CPU: map[string]time.Duration{}, Adverts: map[string]int{}, FromB: map[string]int{},
		Right: map[string]int{}, Wrong: map[string][]string{}, Failed: map[string]string{}, Fail: map[string]failoverResult{}}
	if b.together {
		if err := b.measure(ctx, n, insts, b.impls(), res); err != nil {
			return nil, err
		}
	} else {
		for _, name := range b.impls() {
			if err := b.measure(ctx, n, insts, []string{name}, res); err != nil {
				return nil, err
			}
		}
	}
	b.printRound(res)
	if n == b.failoverN {
		b.printFailover(res)
	}
	return res, nil
}

// measure runs the named sides at once, each in its own topology, and records
// their window and failover in res.
func (b *bench) measure(ctx context.Context, n int, insts []instance, names []string, res *roundResult) error {
	var sides []*side
	defer func() {
		for _, s := range sides {
			s.close()
		}
	}()
	for _, name := range names {
		s, err := b.startSide(ctx, name, n, insts)
		if s != nil {
			sides = append(sides, s)
		}
		if err != nil {
			return fmt.Errorf("%s, %d instances: %w", name, n, err)
		}
	}
	b.logf("N=%d: %d segment(s), A elected alone, B started; waiting for B to become BACKUP everywhere", n, segments(n))
	// Settle: until a whole second shows every instance elected right on each side
	// (bounded), then 3 s more.
	deadline := time.Now().Add(settleTimeout(n))
	settled := map[string]bool{}
	for len(settled) < len(sides) && time.Now().Before(deadline) {
		for _, s := range sides {
			s.obs.take()
		}
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
		for _, s := range sides {
			ads, _, _ := s.obs.take()
			if e := elect(insts, ads); len(e.Wrong) == 0 && !settled[s.name] {
				settled[s.name] = true
				b.logf("N=%d: %s elected right", n, s.name)
			}
			if err := s.checkAlive(); err != nil {
				return err
			}
		}
	}
	for _, s := range sides {
		if !settled[s.name] {
			b.logf("N=%d: %s not elected right after %v; measuring anyway", n, s.name, settleTimeout(n))
		}
	}
	if err := sleep(ctx, 3*time.Second); err != nil {
		return err
	}

	// The window: CPU of every process of both sides, and the adverts, over b.secs.
	before, err := allProcs()
	if err != nil {
		return err
	}
	drops := map[string]uint32{}
	for _, s := range sides {
		s.obs.take()
		drops[s.name] = s.obs.dropped()
	}
	if err := sleep(ctx, b.secs); err != nil {
		return err
	}
	after, err := allProcs()
	if err != nil {
		return err
	}
	for _, s := range sides {
		ads, bad, rerr := s.obs.take()
		if rerr != nil {
			return fmt.Errorf("%s observer: %w", s.name, rerr)
		}
		if bad > 0 {
			b.logf("N=%d: %s observer: %d malformed adverts", n, s.name, bad)
		}
		if d := s.obs.dropped() - drops[s.name]; d > 0 {
			b.logf("N=%d: %s observer dropped %d packets in the window: its verdict may miss adverts", n, s.name, d)
		}
		res.Adverts[s.name] = len(ads)
		for _, a := range ads {
			if a.From == hostAddr(a.Segment, hostB) {
				res.FromB[s.name]++
			}
		}
		e := elect(insts, ads)
		res.Right[s.name], res.Wrong[s.name] = e.Right, e.Wrong
		cpu, err := cpuDelta(descendants(before, s.roots()), descendants(after, s.roots()))
		if err != nil {
			res.Failed[s.name] = err.Error()
			continue
		}
		procs := descendants(after, s.roots())
		var names []string
		for _, p := range procs {
			names = append(names, fmt.Sprintf("%d %s", p.PID, p.Comm))
		}
		slices.Sort(names)
		b.logf("N=%d %s: CPU summed over %d processes: %s", n, s.name, len(procs), strings.Join(names, ", "))
		if len(procs) < len(s.procs) {
			res.Failed[s.name] = fmt.Sprintf("only %d processes", len(procs))
		}
		res.CPU[s.name] = cpu
	}
	if n == b.failoverN {
		for _, s := range sides {
			res.Fail[s.name] = b.failover(ctx, s, insts)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return nil
}

// settleTimeout bounds the wait for the first election: generous, because the
// machine is shared and starting 1,000 instances takes time.
func settleTimeout(n int) time.Duration { return 20*time.Second + time.Duration(n)*20*time.Millisecond }

// failover kills A (SIGKILL to its process group) and cuts its links, and times B's
// takeover of every instance on the wire.
func (b *bench) failover(ctx context.Context, s *side, insts []instance) failoverResult {
	r := failoverResult{N: len(insts)}
	s.obs.take()
	drops := s.obs.dropped()
	// Half a second of adverts before the cut, to see whether B was already
	// advertising.
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		r.Err = err.Error()
		return r
	}
	cut := time.Now().Round(0) // wall clock, like the kernel timestamps
	s.procs[hostA].kill()
	cutErr := s.topo.cutA(ctx)
	// Wait well past the bound, so that late takeovers are timed, not missed.
	sleep(ctx, 10*failoverBound())
	ads, _, rerr := s.obs.take()
	if err := errors.Join(cutErr, rerr); err != nil {
		r.Err = err.Error()
	}
	if d := s.obs.dropped() - drops; d > 0 {
		b.logf("N=%d: %s observer dropped %d packets around the failover: a gap may be one interval long", len(insts), s.name, d)
	}
	r.F = takeovers(insts, ads, cut)
	if g := r.F.Gaps; len(g) >= 6 {
		// Gaps in instance order: a steady rise means B took the instances over one
		// after the other.
		b.logf("N=%d: %s failover gaps in instance order: first %v, middle %v, last %v", len(insts), s.name,
			roundMS(g[:3]), roundMS(g[len(g)/2-1:len(g)/2+2]), roundMS(g[len(g)-3:]))
	}
	r.Stats, r.OK = summarise(r.F.Gaps, failoverBound())
	return r
}

// startSide builds one side: its topology, observer, configuration files and both
// routers.
func (b *bench) startSide(ctx context.Context, name string, n int, insts []instance) (*side, error) {
	s := &side{name: name}
	prefix := fmt.Sprintf("dbench%d-%s", os.Getpid(), name[:1])
	var err error
	if s.topo, err = newTopology(ctx, prefix, segments(n)); err != nil {
		return nil, err
	}
	if s.obs, err = startObserver(s.topo.hosts[hostO], segments(n)); err != nil {
		return s, err
	}
	for _, h := range []host{hostA, hostB} {
		dir := filepath.Join(b.dir, fmt.Sprintf("n%d", n), name, h.String())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return s, err
		}
		conf := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(conf, []byte(keepalivedConf(insts, h)), 0o644); err != nil {
			return s, err
		}
		var argv []string
		switch name {
		case "director":
			argv = []string{b.director, "-f", conf, "-status-file", filepath.Join(dir, "status.json")}
		case "keepalived":
			argv = []string{b.keepalived, "-f", conf, "-p", filepath.Join(dir, "keepalived.pid"),
				"-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "checkers.pid"), "-n", "-l", "-D", "--vrrp"}
		}
		if s.procs[h], err = startProc(s.topo.hosts[h], filepath.Join(dir, "log"), argv...); err != nil {
			return s, err
		}
		if h == hostA {
			// B starts once A advertises every instance: started together, both
			// become MASTER of every instance after the first Master_Down_Interval,
			// and the storm of VIP changes and gratuitous ARPs that follows is a
			// start-up effect, not the steady state this benchmark measures.
			if err := b.waitMaster(ctx, s, insts); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// waitMaster waits (bounded by settleTimeout) until a whole second of adverts shows
// A alone advertising every instance.
func (b *bench) waitMaster(ctx context.Context, s *side, insts []instance) error {
	deadline := time.Now().Add(settleTimeout(len(insts)))
	for time.Now().Before(deadline) {
		s.obs.take()
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
		if err := s.checkAlive(); err != nil {
			return err
		}
		ads, _, _ := s.obs.take()
		if e := elect(insts, ads); len(e.Wrong) == 0 {
			return nil
		}
	}
	b.logf("N=%d: %s: A did not advertise every instance within %v; starting B anyway", len(insts), s.name, settleTimeout(len(insts)))
	return nil
}

// bench is one invocation.
type bench struct {
	ns         []int
	secs       time.Duration
	failoverN  int
	keepalived string // empty: not installed, that side is skipped
	together   bool   // both sides at once; else one after the other in each round
	only       string // one side only, when set
	director   string // the binary built from the tree
	dir        string
	out, log   io.Writer
}

func (b *bench) impls() []string {
	switch {
	case b.only != "":
		return []string{b.only}
	case b.keepalived == "":
		return []string{"director"}
	}
	return []string{"director", "keepalived"}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// buildDirector builds examples/director from the module in the working directory.
func buildDirector(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "director")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/lvskit/lvskit/examples/director").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build examples/director: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}

func roundMS(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
