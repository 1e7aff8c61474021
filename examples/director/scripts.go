package main

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// scriptTimeout bounds every notify, quorum and real server script.
const scriptTimeout = 30 * time.Second

// notifyQueueLen is how many notify scripts one instance may have waiting.
const notifyQueueLen = 64

// scriptRunner owns every process the director starts: the notify scripts (one
// ordered queue and worker per instance, so a slow script never holds up VRRP or
// another instance), the quorum and real server scripts (run in the background),
// and the vrrp_script loops whose results it hands to feed. It knows nothing of
// the other owners: it is given the exec and probe functions and a feed callback.
type scriptRunner struct {
	log   *slog.Logger
	exec  func(ctx context.Context, argv []string) error
	probe func(ctx context.Context, argv []string) bool
	ctx   context.Context // ends when the director has stopped
	bg    sync.WaitGroup  // background scripts and notify workers

	// mu guards queues, loops and policy. It is a leaf lock: no script runs under it.
	mu     sync.Mutex
	queues map[string]chan []string
	closed bool
	loops  *scriptLoops
	// policy says who runs each script of the running configuration and which are
	// refused (scriptsec.go); nil runs everything as the director's user.
	policy *scriptPolicy
	// users resolves script_user and user; tests replace it.
	users userDB
}

// scriptLoops are the running vrrp_script loops.
type scriptLoops struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newScriptRunner(ctx context.Context, log *slog.Logger, exec func(context.Context, []string) error,
	probe func(context.Context, []string) bool) *scriptRunner {
	return &scriptRunner{log: log, exec: exec, probe: probe, ctx: ctx, queues: map[string]chan []string{},
		users: systemUsers}
}

// notify queues argv on the named queue (an instance's), never waiting; a full queue
// skips the script with a warning.
func (s *scriptRunner) notify(queue string, argv []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	q := s.queues[queue]
	if q == nil {
		q = make(chan []string, notifyQueueLen)
		s.queues[queue] = q
		s.bg.Add(1)
		go s.worker(q)
	}
	select {
	case q <- argv:
	default:
		s.log.Warn("notify queue full, script skipped", "name", queue, "script", argv[0])
	}
}

// dropQueue ends the named queue once the scripts in it have run.
func (s *scriptRunner) dropQueue(queue string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[queue]; q != nil {
		close(q)
		delete(s.queues, queue)
	}
}

// worker runs one queue's scripts in order, each bounded in time.
func (s *scriptRunner) worker(q chan []string) {
	defer s.bg.Done()
	for argv := range q {
		d := s.decide(argv)
		if d.refused != nil {
			s.log.Warn("notify script not run", "script", argv, "err", d.refused)
			continue
		}
		ctx, cancel := context.WithTimeout(withScriptCred(s.ctx, d.cred), scriptTimeout)
		if err := s.exec(ctx, argv); err != nil {
			s.log.Warn("notify script failed", "script", argv, "err", err)
		}
		cancel()
	}
}

// decide returns the running configuration's decision for argv.
func (s *scriptRunner) decide(argv []string) scriptDecision {
	s.mu.Lock()
	p := s.policy
	s.mu.Unlock()
	return p.lookup(argv)
}

// runAsync runs a script in the background, bounded in time.
func (s *scriptRunner) runAsync(c *kaconf.Command) {
	if c == nil || len(c.Args) == 0 {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.runSync(c)
	}()
}

// runSync runs a script and waits for it, bounded in time.
func (s *scriptRunner) runSync(c *kaconf.Command) {
	if c == nil || len(c.Args) == 0 {
		return
	}
	d := s.decide(c.Args)
	if d.refused != nil {
		s.log.Warn("script not run", "script", c.Args, "err", d.refused)
		return
	}
	ctx, cancel := context.WithTimeout(withScriptCred(context.WithoutCancel(s.ctx), d.cred), scriptTimeout)
	defer cancel()
	if err := s.exec(ctx, c.Args); err != nil {
		s.log.Warn("script failed", "script", c.Args, "err", err)
	}
}

// close runs what is queued (notify_stop and notify ... STOP included), then waits
// for every script to end.
func (s *scriptRunner) close() {
	s.stopLoops()
	s.mu.Lock()
	s.closed = true
	for k, q := range s.queues {
		close(q)
		delete(s.queues, k)
	}
	s.mu.Unlock()
	s.bg.Wait()
}

// notifyArgs lists the scripts a state change runs, in keepalived's order: the
// state's notify_* script, then the generic notify script with keepalived's
// arguments: GROUP|INSTANCE name state priority.
func notifyArgs(generic, master, backup, fault, stop *kaconf.Command, kind, name, state string, prio uint8) [][]string {
	var c *kaconf.Command
	switch state {
	case "MASTER":
		c = master
	case "BACKUP":
		c = backup
	case "FAULT":
		c = fault
	case "STOP":
		c = stop
	}
	var out [][]string
	if c != nil && len(c.Args) > 0 {
		out = append(out, slices.Clone(c.Args))
	}
	if generic != nil && len(generic.Args) > 0 {
		out = append(out, append(slices.Clone(generic.Args), kind, name, state, strconv.Itoa(int(prio))))
	}
	return out
}

// restartLoops replaces the running vrrp_script loops with those cfg's instances
// track; each result goes to feed. A script's tracker state lives in the VRRP
// engine (rise and fall counts), so restarting a loop on a reload changes nothing
// but the timing of its next run. It also takes cfg's script users and security
// (scriptsec.go) for every script run from now on; a vrrp_script the policy refuses
// gets no loop, as keepalived disables it, and is never fed.
func (s *scriptRunner) restartLoops(cfg *kaconf.Config, feed func(script string, ok bool)) {
	s.stopLoops()
	policy, _, _ := newScriptPolicy(cfg, s.users)
	s.mu.Lock()
	s.policy = policy
	s.mu.Unlock()
	used := map[string]bool{}
	for _, in := range cfg.Instances {
		for _, ts := range in.TrackScripts {
			used[ts.Name] = true
		}
	}
	ctx, cancel := context.WithCancel(s.ctx)
	l := &scriptLoops{cancel: cancel}
	for _, sc := range cfg.Scripts {
		if !used[sc.Name] || len(sc.Command.Args) == 0 {
			continue
		}
		d := policy.lookup(sc.Command.Args)
		if d.refused != nil {
			s.log.Warn("vrrp_script disabled", "name", sc.Name, "err", d.refused)
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			s.loop(withScriptCred(ctx, d.cred), sc, feed)
		}()
	}
	s.mu.Lock()
	s.loops = l
	s.mu.Unlock()
}

func (s *scriptRunner) stopLoops() {
	s.mu.Lock()
	l := s.loops
	s.loops = nil
	s.mu.Unlock()
	if l != nil {
		l.cancel()
		l.wg.Wait()
	}
}

func (s *scriptRunner) loop(ctx context.Context, sc kaconf.Script, feed func(string, bool)) {
	interval := sc.Interval
	if interval <= 0 {
		interval = time.Second
	}
	timeout := sc.Timeout
	if timeout <= 0 {
		timeout = interval
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, timeout)
		ok := s.probe(rctx, sc.Command.Args)
		cancel()
		if ctx.Err() != nil {
			return
		}
		feed(sc.Name, ok)
		t.Reset(max(0, interval-time.Since(start)))
	}
}
