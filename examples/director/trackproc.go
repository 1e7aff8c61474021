package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vrrp"
)

// trackProcInterval is how often /proc is rescanned for vrrp_track_process.
// keepalived follows the kernel's process events instead; a rescan is simpler and
// needs no privileged netlink socket, at the cost of up to this much delay and of
// missing processes that live less than it.
const trackProcInterval = time.Second

// procInfo is what matching needs of one process.
type procInfo struct {
	comm string
	// argv is /proc/PID/cmdline split at its NULs; nil when it was not read.
	argv []string
}

// scanProcs lists the live (not zombie) processes under root (normally /proc),
// reading cmdline only when cmdline is true. A process that ends while it is read
// is left out.
func scanProcs(root string, cmdline bool) []procInfo {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range ents {
		name := e.Name()
		if name == "" || strings.Trim(name, "0123456789") != "" {
			continue
		}
		dir := filepath.Join(root, name)
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		// The state follows the ") " that ends the command name.
		if i := bytes.LastIndex(stat, []byte(") ")); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(dir, "comm"))
		if err != nil {
			continue
		}
		p := procInfo{comm: strings.TrimSuffix(string(comm), "\n")}
		if cmdline {
			b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
			if err != nil {
				continue
			}
			b = bytes.TrimSuffix(b, []byte{0})
			if len(b) > 0 {
				p.argv = strings.Split(string(b), "\x00")
			}
		}
		out = append(out, p)
	}
	return out
}

// procMatches reports whether p is one of tp's processes, as keepalived 2.2.7
// (track_process.c): comm equal to the process name, or with full_command argv[0]
// equal to it and the arguments compared as param_match says.
func procMatches(tp *kaconf.TrackProcess, p procInfo) bool {
	if !tp.FullCommand {
		return p.comm == tp.Process
	}
	if len(p.argv) == 0 || p.argv[0] != tp.Process {
		return false
	}
	args := p.argv[1:]
	want := tp.Params
	switch tp.ParamMatch {
	case kaconf.ParamMatchNone:
		return true
	case kaconf.ParamMatchExact:
		return equalStrings(args, want)
	}
	if len(args) < len(want) {
		return false
	}
	if len(want) == 0 {
		return true
	}
	if !equalStrings(args[:len(want)-1], want[:len(want)-1]) {
		return false
	}
	last, got := want[len(want)-1], args[len(want)-1]
	if tp.ParamMatch == kaconf.ParamMatchInitial {
		return strings.HasPrefix(got, last)
	}
	return got == last
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// procQuorum reports whether n running processes make tp up.
func procQuorum(tp *kaconf.TrackProcess, n int) bool {
	return n >= tp.Quorum && (tp.QuorumMax == kaconf.QuorumUnlimited || n <= tp.QuorumMax)
}

// procStates counts each vrrp_track_process's processes under root and reports
// whether it has its quorum.
func procStates(root string, tps []kaconf.TrackProcess) map[string]bool {
	cmdline := false
	for i := range tps {
		cmdline = cmdline || tps[i].FullCommand
	}
	procs := scanProcs(root, cmdline)
	out := make(map[string]bool, len(tps))
	for i := range tps {
		n := 0
		for _, p := range procs {
			if procMatches(&tps[i], p) {
				n++
			}
		}
		out[tps[i].Name] = procQuorum(&tps[i], n)
	}
	return out
}

// procDebounce applies fork_delay and terminate_delay: a new state is reported once
// it has lasted its delay. The first state seen is reported at once.
type procDebounce struct {
	reported map[string]bool
	pending  map[string]time.Time // since when the opposite state has been seen
}

func (p *procDebounce) step(tp *kaconf.TrackProcess, up bool, now time.Time) bool {
	if p.reported == nil {
		p.reported, p.pending = map[string]bool{}, map[string]time.Time{}
	}
	cur, ok := p.reported[tp.Name]
	if !ok || cur == up {
		p.reported[tp.Name] = up
		delete(p.pending, tp.Name)
		return up
	}
	since, ok := p.pending[tp.Name]
	if !ok {
		since = now
		p.pending[tp.Name] = now
	}
	delay := tp.TerminateDelay
	if up {
		delay = tp.ForkDelay
	}
	if now.Sub(since) >= delay {
		p.reported[tp.Name] = up
		delete(p.pending, tp.Name)
		return up
	}
	return cur
}

// procTrackers lists the trackers of an instance's track_process lines and of its
// sync group's: as track_script's, "weight N reverse" is weight -N fed inverted.
// Each starts in the state a scan of /proc gives now.
func procTrackers(cfg *kaconf.Config, in *kaconf.Instance) []tracker {
	refs := append([]kaconf.TrackProcessRef(nil), in.TrackProcesses...)
	for _, g := range cfg.SyncGroups {
		for _, m := range g.Group {
			if m == in.Name {
				refs = append(refs, g.TrackProcesses...)
			}
		}
	}
	if len(refs) == 0 {
		return nil
	}
	states := procStates(procRoot, cfg.TrackProcesses)
	var out []tracker
	for _, r := range refs {
		if cfg.TrackProcess(r.Name) == nil {
			continue
		}
		w := r.Weight
		if r.Reverse {
			w = -w
		}
		out = append(out, tracker{
			cfg:  vrrp.TrackerConfig{Name: "process:" + r.Name, Weight: w, InitiallyDown: states[r.Name] == r.Reverse},
			proc: r.Name, invert: r.Reverse,
		})
	}
	return out
}

// procRoot is where processes are read; tests use a fake.
var procRoot = "/proc"

// procWatch rescans /proc and feeds the vrrp_track_process states.
type procWatch struct {
	mu sync.Mutex // guards db; held across a scan, never across a Router call
	db procDebounce
}

// feedTrackProcesses scans root once and feeds every track_process tracker of the
// running instances. Feeding an unchanged state changes nothing.
func (v *vrrpRuntime) feedTrackProcesses(w *procWatch, root string, now time.Time) {
	type procFeed struct {
		r      *vrrp.Router
		name   string
		i      int
		proc   string
		invert bool
	}
	var feeds []procFeed
	var tps []kaconf.TrackProcess
	v.mu.Lock()
	if v.cfg != nil {
		tps = append(tps, v.cfg.TrackProcesses...)
	}
	for name, in := range v.insts {
		if in.rr == nil {
			continue
		}
		for i, t := range in.rr.tracks[name] {
			if t.proc != "" {
				feeds = append(feeds, procFeed{in.rr.r, name, i, t.proc, t.invert})
			}
		}
	}
	v.mu.Unlock()
	if len(feeds) == 0 {
		return
	}
	w.mu.Lock()
	states := procStates(root, tps)
	up := make(map[string]bool, len(tps))
	for i := range tps {
		up[tps[i].Name] = w.db.step(&tps[i], states[tps[i].Name], now)
	}
	w.mu.Unlock()
	for _, f := range feeds {
		f.r.Track(f.name, f.i, up[f.proc] != f.invert)
	}
}

// pollTrackProcesses rescans /proc every trackProcInterval until ctx ends, and
// sooner after the kernel reports a process event (procEvents), at most every
// procKickInterval. It listens for events only while the configuration has
// vrrp_track_process blocks.
func (v *vrrpRuntime) pollTrackProcesses(ctx context.Context) {
	w := &procWatch{}
	kick := make(chan struct{}, 1)
	type sub struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	var cur *sub
	warned := false // touched by one subscription goroutine at a time
	defer func() {
		if cur != nil {
			cur.cancel()
			<-cur.done
		}
	}()
	t := time.NewTicker(trackProcInterval)
	defer t.Stop()
	for {
		v.mu.Lock()
		want := v.cfg != nil && len(v.cfg.TrackProcesses) > 0
		v.mu.Unlock()
		if cur != nil {
			select {
			case <-cur.done: // refused or failed: try again on a later pass
				cur.cancel()
				cur = nil
			default:
			}
		}
		switch {
		case want && cur == nil:
			s := &sub{done: make(chan struct{})}
			var sctx context.Context
			sctx, s.cancel = context.WithCancel(ctx)
			cur = s
			go func() {
				defer close(s.done)
				err := procEvents(sctx, func() {
					select {
					case kick <- struct{}{}:
					default:
					}
				})
				if err != nil && sctx.Err() == nil && !warned {
					warned = true
					v.log.Info("kernel process events unavailable: vrrp_track_process rescans /proc every second", "err", err)
				}
			}()
		case !want && cur != nil:
			cur.cancel()
			<-cur.done
			cur = nil
		}
		v.feedTrackProcesses(w, procRoot, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
			// Let a burst of events (a fork and its exec) settle into one rescan.
			select {
			case <-ctx.Done():
				return
			case <-time.After(procKickInterval):
			}
		}
	}
}

// procKickInterval bounds how often process events cause a rescan.
const procKickInterval = 100 * time.Millisecond
