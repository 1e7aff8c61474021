package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// step is one check result and what the monitor must decide for it.
type step struct {
	ok   bool
	want decision
}

var (
	up        = decision{Up: true}
	down      = decision{}
	goDown    = decision{Changed: true}
	goUp      = decision{Up: true, Changed: true}
	restartUp = decision{Restart: true, Up: true}
	restartDn = decision{Restart: true}
)

func TestMonitor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   monitorConfig
		every time.Duration // time between checks; zero means 2 s
		steps []step
	}{
		{
			name:  "healthy stays up",
			cfg:   monitorConfig{Fall: 2, Rise: 2, Restart: true},
			steps: []step{{true, up}, {true, up}, {true, up}},
		},
		{
			name: "a restart that works keeps the service up",
			cfg:  monitorConfig{Fall: 2, Rise: 2, Restart: true},
			steps: []step{
				{true, up}, {false, restartUp}, {true, up}, {true, up},
			},
		},
		{
			name: "stays down after the restart: fall failures after it mark it down",
			cfg:  monitorConfig{Fall: 2, Rise: 2, Restart: true},
			steps: []step{
				{false, restartUp}, {false, up}, {false, goDown}, {false, down},
			},
		},
		{
			name: "fall 1 goes down at the first failure after the restart",
			cfg:  monitorConfig{Fall: 1, Rise: 1, Restart: true},
			steps: []step{
				{false, restartUp}, {false, goDown},
			},
		},
		{
			name: "without a restart command fall failures mark it down",
			cfg:  monitorConfig{Fall: 3, Rise: 1},
			steps: []step{
				{false, up}, {false, up}, {false, goDown}, {true, goUp},
			},
		},
		{
			name: "zero fall and rise mean 1",
			cfg:  monitorConfig{},
			steps: []step{
				{false, goDown}, {true, goUp},
			},
		},
		{
			name: "a success between failures resets the count",
			cfg:  monitorConfig{Fall: 2, Rise: 2},
			steps: []step{
				{false, up}, {true, up}, {false, up}, {false, goDown},
			},
		},
		{
			name: "each outage gets its own restart",
			cfg:  monitorConfig{Fall: 2, Rise: 1, Restart: true},
			steps: []step{
				{false, restartUp}, {true, up}, {false, restartUp}, {true, up},
			},
		},
		{
			name: "rise good checks bring it back, and a failure in between resets them",
			cfg:  monitorConfig{Fall: 1, Rise: 3, Restart: true},
			steps: []step{
				{false, restartUp}, {false, goDown},
				{true, down}, {true, down}, {false, down},
				{true, down}, {true, down}, {true, goUp},
			},
		},
		{
			name: "after recovery a new outage restarts again",
			cfg:  monitorConfig{Fall: 1, Rise: 1, Restart: true},
			steps: []step{
				{false, restartUp}, {false, goDown}, {true, goUp}, {false, restartUp},
			},
		},
		{
			name:  "while down the restart is retried every backoff",
			cfg:   monitorConfig{Fall: 1, Rise: 1, Restart: true, RestartBackoff: 5 * time.Second},
			every: 2 * time.Second,
			steps: []step{
				// t=0 restart, t=2 down, t=4 (4 s since), t=6 restart, t=8, t=10, t=12 restart.
				{false, restartUp}, {false, goDown}, {false, down}, {false, restartDn},
				{false, down}, {false, down}, {false, restartDn},
			},
		},
		{
			name: "zero backoff never restarts while down",
			cfg:  monitorConfig{Fall: 1, Rise: 1, Restart: true},
			steps: []step{
				{false, restartUp}, {false, goDown}, {false, down}, {false, down}, {false, down},
			},
		},
		{
			name:  "no restart command: nothing is restarted while down either",
			cfg:   monitorConfig{Fall: 1, Rise: 1, RestartBackoff: time.Second},
			steps: []step{{false, goDown}, {false, down}, {false, down}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMonitor(tc.cfg)
			every := tc.every
			if every == 0 {
				every = 2 * time.Second
			}
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i, s := range tc.steps {
				got := m.observe(now, s.ok)
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Fatalf("step %d (ok=%v): (-want +got)\n%s", i, s.ok, diff)
				}
				if m.Up() != got.Up {
					t.Fatalf("step %d: Up() = %v, decision says %v", i, m.Up(), got.Up)
				}
				now = now.Add(every)
			}
		})
	}
}
