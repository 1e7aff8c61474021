package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// Fields after comm: state ppid pgrp session tty tpgid flags minflt cminflt majflt
	// cmajflt utime stime cutime cstime ...
	tail := " S 41 42 42 0 -1 4194560 100 0 0 0 1234 567 9999 8888 20 0 3 0 555 1000 10"
	for _, tc := range []struct {
		name string
		in   string
		want procStat
	}{
		{"plain", "42 (keepalived)" + tail, procStat{PID: 42, PPID: 41, Comm: "keepalived", CPU: 18010 * time.Millisecond}},
		{"comm with spaces and parentheses", "7 (a) b (c) d)" + tail, procStat{PID: 7, PPID: 41, Comm: "a) b (c) d", CPU: 18010 * time.Millisecond}},
		{"children's time is not ours", "9 (x) R 1 9 9 0 -1 0 0 0 0 0 0 0 5000 5000 20", procStat{PID: 9, PPID: 1, Comm: "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcStat(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parseProcStat = %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "42 keepalived S 1", "x (a)" + tail, "42 (a) S 1 2 3", "42 (a) S 1 2 3 4 5 6 7 8 9 10 x 1 2", "42 (a) S 1 2 3 4 5 6 7 8 9 10 -1 1 2"} {
		if p, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) = %+v, want an error", bad, p)
		}
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("42 (keepalived) S 41 42 42 0 -1 4194560 100 0 0 0 1234 567 9999 8888 20")
	f.Add("7 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseProcStat(s)
		if err != nil {
			return
		}
		// What parsed has a comm that was in the input between parentheses, and a
		// CPU time that is not negative.
		if p.CPU < 0 || !strings.Contains(s, "("+p.Comm+")") {
			t.Fatalf("parseProcStat(%q) = %+v", s, p)
		}
	})
}

func TestCPUDelta(t *testing.T) {
	ps := func(pid int, cpu time.Duration) procStat { return procStat{PID: pid, Comm: "p", CPU: cpu} }
	before := map[int]procStat{1: ps(1, time.Second), 2: ps(2, 2*time.Second)}
	after := map[int]procStat{1: ps(1, 1500*time.Millisecond), 2: ps(2, 2250*time.Millisecond)}
	got, err := cpuDelta(before, after)
	if err != nil || got != 750*time.Millisecond {
		t.Errorf("cpuDelta = %v, %v; want 750ms", got, err)
	}
	if _, err := cpuDelta(before, map[int]procStat{1: ps(1, 2*time.Second)}); err == nil {
		t.Error("a process that ended in the window was not reported")
	}
	if _, err := cpuDelta(map[int]procStat{1: ps(1, 0)}, after); err == nil {
		t.Error("a process that started in the window was not reported")
	}
}

func TestDescendants(t *testing.T) {
	all := []procStat{
		{PID: 1, PPID: 0}, {PID: 10, PPID: 1}, {PID: 12, PPID: 11}, {PID: 11, PPID: 10},
		{PID: 20, PPID: 1}, {PID: 21, PPID: 20}, {PID: 30, PPID: 1},
	}
	got := descendants(all, []int{10, 20, 99})
	want := []int{10, 11, 12, 20, 21}
	if len(got) != len(want) {
		t.Fatalf("descendants = %v, want PIDs %v", got, want)
	}
	for _, pid := range want {
		if _, ok := got[pid]; !ok {
			t.Errorf("descendants lacks %d", pid)
		}
	}
}
