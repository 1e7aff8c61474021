package main

import (
	"context"
	"sync"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// scriptSet runs the vrrp_scripts that some instance tracks, each in its own
// goroutine: run, feed the result to every tracker of it, wait interval.
type scriptSet struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// restartScripts replaces the running script loops with those of cfg. A script's
// tracker state lives in the VRRP engine (rise and fall counts), so restarting the
// loop on a reload changes nothing but the timing of the next run.
func (d *daemon) restartScripts(cfg *kaconf.Config) {
	d.stopScripts()
	used := map[string]bool{}
	for _, in := range cfg.Instances {
		for _, ts := range in.TrackScripts {
			used[ts.Name] = true
		}
	}
	ctx, cancel := context.WithCancel(d.ctx)
	ss := &scriptSet{cancel: cancel}
	for _, s := range cfg.Scripts {
		if !used[s.Name] || len(s.Command.Args) == 0 {
			continue
		}
		ss.wg.Add(1)
		go func() {
			defer ss.wg.Done()
			d.scriptLoop(ctx, s)
		}()
	}
	d.mu.Lock()
	d.scripts = ss
	d.mu.Unlock()
}

func (d *daemon) stopScripts() {
	d.mu.Lock()
	ss := d.scripts
	d.scripts = nil
	d.mu.Unlock()
	if ss != nil {
		ss.cancel()
		ss.wg.Wait()
	}
}

func (d *daemon) scriptLoop(ctx context.Context, s kaconf.Script) {
	interval := s.Interval
	if interval <= 0 {
		interval = time.Second
	}
	timeout := s.Timeout
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
		ok := d.deps.probe(rctx, s.Command.Args)
		cancel()
		if ctx.Err() != nil {
			return
		}
		d.feedScript(s.Name, ok)
		t.Reset(max(0, interval-time.Since(start)))
	}
}

// feedScript gives one result of a vrrp_script to every tracker of it.
func (d *daemon) feedScript(name string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m.scriptRuns(name, ok)
	for inst, in := range d.insts {
		if in.rr == nil {
			continue
		}
		for i, t := range in.rr.tracks[inst] {
			if t.script == name {
				in.rr.r.Track(inst, i, ok != t.invert)
			}
		}
	}
}
