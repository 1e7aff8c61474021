package main

import (
	"fmt"
	"strings"
	"time"
)

// roundResult is what one N measured.
type roundResult struct {
	N       int
	Secs    float64
	CPU     map[string]time.Duration
	Adverts map[string]int // adverts the observer received in the window
	// FromB counts the adverts from B in the window: a few mean a short stall
	// (one missed Master_Down_Interval), thousands a lasting split brain.
	FromB  map[string]int
	Right  map[string]int
	Wrong  map[string][]string
	Failed map[string]string // a side that could not be measured, and why
	Fail   map[string]failoverResult
}

type failoverResult struct {
	N     int
	F     failover
	Stats gapStats
	OK    bool // Stats is valid
	Err   string
}

// halfAt are the instance counts at which the director must use at most half of
// keepalived's CPU.
func halfAt(n int) bool { return n == 250 || n == 1000 }

// verdict says whether a round meets the targets: every instance elected right on
// both sides, and the director's CPU at most keepalived's (at most half at 250 and
// 1,000). It returns the reasons it does not.
func (r *roundResult) verdict() (ok bool, why []string) {
	for _, name := range []string{"director", "keepalived"} {
		if f, bad := r.Failed[name]; bad {
			why = append(why, name+" not measured: "+f)
			continue
		}
		if _, ran := r.CPU[name]; !ran {
			why = append(why, name+" not run")
			continue
		}
		if r.Right[name] != r.N {
			why = append(why, fmt.Sprintf("%s elected %d/%d right", name, r.Right[name], r.N))
		}
	}
	d, okD := r.CPU["director"]
	k, okK := r.CPU["keepalived"]
	if okD && okK {
		switch {
		case halfAt(r.N) && 2*d > k:
			why = append(why, "director CPU above half of keepalived's")
		case d > k:
			why = append(why, "director CPU above keepalived's")
		}
	}
	return len(why) == 0, why
}

// ratio formats d/k, or "-" when k is zero.
func ratio(d, k time.Duration) string {
	if k <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(d)/float64(k))
}

func cpuCell(r *roundResult, name string) string {
	if f, bad := r.Failed[name]; bad {
		return "failed: " + f
	}
	c, ok := r.CPU[name]
	if !ok {
		return "not run"
	}
	return fmt.Sprintf("%.2f s (%.1f%%)", c.Seconds(), 100*c.Seconds()/r.Secs)
}

func rightCell(r *roundResult, name string) string {
	if _, ok := r.Right[name]; !ok {
		return "-"
	}
	if r.Right[name] == r.N {
		return fmt.Sprintf("%d/%d", r.Right[name], r.N)
	}
	return fmt.Sprintf("%d/%d (B sent %d adverts)", r.Right[name], r.N, r.FromB[name])
}

// roundHeader is the table the rounds are rows of.
const roundHeader = "| N | adverts/s seen (director, keepalived) | director CPU (of one core) | keepalived CPU | director/keepalived | elected right (director) | elected right (keepalived) | targets |\n" +
	"|---|---|---|---|---|---|---|---|\n"

// roundRow is one round as a markdown table row.
func roundRow(r *roundResult) string {
	ok, why := r.verdict()
	t := "met"
	if !ok {
		t = "NOT met: " + strings.Join(why, "; ")
	}
	rate := func(name string) string {
		if _, ran := r.Right[name]; !ran {
			return "-"
		}
		return fmt.Sprintf("%.0f", float64(r.Adverts[name])/r.Secs)
	}
	return fmt.Sprintf("| %d | %s, %s | %s | %s | %s | %s | %s | %s |\n", r.N, rate("director"), rate("keepalived"),
		cpuCell(r, "director"), cpuCell(r, "keepalived"), ratio(r.CPU["director"], r.CPU["keepalived"]),
		rightCell(r, "director"), rightCell(r, "keepalived"), t)
}

// failoverHeader is the table of failover results.
func failoverHeader() string {
	return fmt.Sprintf("| implementation | N | min | median | p99 | max | over %s | B never advertised | B advertised before the cut | target |\n", ms(failoverBound())) +
		"|---|---|---|---|---|---|---|---|---|---|\n"
}

// failoverRow is one side's failover as a markdown table row.
func failoverRow(name string, f failoverResult) string {
	cells := []string{"-", "-", "-", "-", "-"}
	if f.OK {
		cells = []string{ms(f.Stats.Min), ms(f.Stats.Median), ms(f.Stats.P99), ms(f.Stats.Max), fmt.Sprint(f.Stats.Over)}
	}
	t := "met"
	if !f.OK || f.Stats.Over > 0 || f.F.Missing > 0 || f.F.Early > 0 || f.Err != "" {
		t = "NOT met"
		if f.Err != "" {
			t += ": " + f.Err
		}
	}
	return fmt.Sprintf("| %s | %d | %s | %d | %d | %s |\n", name, f.N, strings.Join(cells, " | "), f.F.Missing, f.F.Early, t)
}

// ms formats a duration in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
