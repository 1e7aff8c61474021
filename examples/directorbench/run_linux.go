package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// runBench builds the director, runs the rounds and prints the tables.
func runBench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root: network namespaces, veths and raw sockets")
	}
	dir, err := os.MkdirTemp("", "directorbench-")
	if err != nil {
		return err
	}
	if o.keep {
		defer fmt.Fprintf(stderr, "directorbench: work directory kept: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{ns: o.ns, secs: o.secs, failoverN: o.failover, together: o.together, only: o.only, dir: dir, out: stdout, log: stderr}
	version := "binary " + o.director
	if b.director = o.director; b.director == "" {
		b.logf("building examples/director")
		if b.director, err = buildDirector(ctx, dir); err != nil {
			return err
		}
		version = treeVersion(ctx)
	}
	kaVersion := "not installed: keepalived side skipped"
	if o.only == "director" {
		kaVersion = "not run (-only director)"
	} else if _, err := os.Stat(o.keepalived); err != nil {
		b.logf("keepalived %s: %v; running the director side only", o.keepalived, err)
	} else {
		b.keepalived = o.keepalived
		out, _ := exec.CommandContext(ctx, o.keepalived, "--version").CombinedOutput()
		kaVersion, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	}
	fmt.Fprintf(stdout, "directorbench %s: %s, %d CPUs, %s; director from %s; keepalived: %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), kernel(), runtime.NumCPU(), loadavg(), version, kaVersion)
	order := "one after the other in each round, each in a fresh topology"
	if o.together {
		order = "at the same time, each in its own topology"
	}
	fmt.Fprintf(stdout, "VRRPv3, advert_int %s, priorities %d (A) and %d (B), window %s; the two pairs ran %s\n\n", seconds(advertInt), prioA, prioB, o.secs, order)
	var results []*roundResult
	for _, n := range o.ns {
		r, err := b.round(ctx, n)
		if err != nil {
			b.printSummary(results)
			return err
		}
		results = append(results, r)
	}
	b.printSummary(results)
	return nil
}

func (b *bench) printRound(r *roundResult) {
	b.logf("N=%d measured:\n%s%s", r.N, roundHeader, roundRow(r))
	for name, w := range r.Wrong {
		if len(w) > 0 {
			b.logf("N=%d %s: %d instances not elected right, e.g. %s", r.N, name, len(w), strings.Join(w[:min(5, len(w))], "; "))
		}
	}
}

func (b *bench) printFailover(r *roundResult) {
	var s strings.Builder
	s.WriteString(failoverHeader())
	for _, name := range b.impls() {
		s.WriteString(failoverRow(name, r.Fail[name]))
	}
	b.logf("N=%d failover:\n%s", r.N, s.String())
}

func (b *bench) printSummary(results []*roundResult) {
	fmt.Fprint(b.out, roundHeader)
	for _, r := range results {
		fmt.Fprint(b.out, roundRow(r))
	}
	for _, r := range results {
		if len(r.Fail) == 0 {
			continue
		}
		fmt.Fprintf(b.out, "\nFailover at N=%d: SIGKILL to A and A's links cut at one instant; gap from the cut to B's first advert per instance (kernel receive timestamps at the observer); bound 3 x %s + Skew_Time(%d) + 5 ms = %s\n\n",
			r.N, seconds(advertInt), prioB, ms(failoverBound()))
		fmt.Fprint(b.out, failoverHeader())
		for _, name := range b.impls() {
			fmt.Fprint(b.out, failoverRow(name, r.Fail[name]))
		}
	}
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return "Linux " + strings.TrimSpace(string(b))
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load unknown"
	}
	return "load " + strings.Join(f[:3], " ")
}

// treeVersion names the commit the director was built from, and whether the
// director's or vrrp's files had uncommitted changes.
func treeVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "an unknown commit"
	}
	v := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--", "examples/director", "vrrp", "vip", "go.mod").Output(); err == nil && len(st) > 0 {
		v += " with uncommitted changes in examples/director, vrrp or vip"
	}
	return v
}
