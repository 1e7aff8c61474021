package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

type config struct {
	services, dests, rounds int
	ipvsadm, ipvsctl        string
	window                  int
}

// contender is one way of doing the operation being measured.
type contender struct {
	name string
	// do performs the operation once; list contenders return the number of services and
	// destinations they saw.
	do func(ctx context.Context) (svcs, dests int, err error)
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.services < 1 || cfg.services > 60000 || cfg.dests < 1 || cfg.dests > 250 || cfg.rounds < 1 {
		return fmt.Errorf("want 1-60000 services, 1-250 destinations and at least one round")
	}
	c, err := ipvs.Dial(&ipvs.Config{Window: cfg.window, Timeout: 5 * time.Minute})
	if err != nil {
		return err
	}
	defer c.Close()
	table := makeTable(cfg.services, cfg.dests)
	rules := rulesFile(table)
	ops := ipvs.Diff(table, nil)

	version, _ := exec.CommandContext(ctx, cfg.ipvsadm, "--version").CombinedOutput()
	fmt.Fprintf(out, "ipvsbench: %d TCP services x %d DR destinations, %d rounds; kernel %s; %s\n",
		cfg.services, cfg.dests, cfg.rounds, kernelRelease(), strings.TrimSpace(string(version)))

	// Every apply starts from a new, empty network namespace: a flushed table is not
	// empty for the kernel, whose destination trash keeps deleted destinations for
	// minutes and is searched linearly by every destination added meanwhile, which would
	// make each contender pay for the ones before it. The namespaces are deleted at the
	// end, so that their teardown never runs during a measurement.
	var namespaces []string
	defer func() {
		for _, ns := range namespaces {
			_, _ = command(context.Background(), "", "ip", "netns", "del", ns)
		}
	}()
	newNS := func(ctx context.Context) (string, error) {
		name := fmt.Sprintf("ipvsbench-%d", len(namespaces))
		if _, err := command(ctx, "", "ip", "netns", "add", name); err != nil {
			return "", err
		}
		namespaces = append(namespaces, name)
		// Without a local routing table the kernel finds no address type for a DR
		// destination and answers EINVAL.
		if _, err := command(ctx, "", "ip", "-n", name, "link", "set", "lo", "up"); err != nil {
			return "", err
		}
		return name, nil
	}
	nsPath := func(ns string) string { return "/run/netns/" + ns }
	inNS := func(ctx context.Context, ns, stdin, prog string, args ...string) error {
		_, err := command(ctx, stdin, "ip", append([]string{"netns", "exec", ns, prog}, args...)...)
		return err
	}
	overhead, err := nsExecOverhead(ctx, newNS, inNS)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ip netns exec (paid by ipvsctl -R and ipvsadm -R only): median %.3fs\n", overhead.Seconds())
	// Process start, paid by every command contender: a run that fails at parsing.
	fmt.Fprintf(out, "process start and exit (no kernel call): ipvsctl %.3fs, ipvsadm %.3fs (medians)\n",
		startCost(ctx, cfg.ipvsctl, "--no-such-option").Seconds(), startCost(ctx, cfg.ipvsadm, "--no-such-option").Seconds())

	wantS, wantD := cfg.services, cfg.services*cfg.dests
	type nsKey struct{}
	ns := func(ctx context.Context) string { return ctx.Value(nsKey{}).(string) }
	verifyClient := func(ctx context.Context, c *ipvs.Client) error {
		snap, err := c.Snapshot(ctx)
		if err != nil {
			return err
		}
		s, d := count(snap)
		if s != wantS || d != wantD {
			return fmt.Errorf("table has %d services and %d destinations, want %d and %d", s, d, wantS, wantD)
		}
		return nil
	}
	m, err := newMoby("")
	if err != nil {
		return err
	}
	defer m.Close()

	// The list contenders read the same table, applied once.
	if err := c.Apply(ctx, ops); err != nil {
		return err
	}
	if err := verifyClient(ctx, c); err != nil {
		return err
	}
	// c1 is a Client restricted to one socket, to show what the parallel destination
	// dumps of Snapshot gain.
	c1, err := ipvs.Dial(&ipvs.Config{SnapshotConns: 1, Timeout: 5 * time.Minute})
	if err != nil {
		return err
	}
	defer c1.Close()
	raw, err := newRawLister()
	if err != nil {
		return err
	}
	defer raw.Close()
	saveLines := func(ctx context.Context, prog string, args ...string) (int, int, error) {
		b, err := command(ctx, "", prog, args...)
		if err != nil {
			return 0, 0, err
		}
		return countRules(b)
	}
	list := []contender{
		{"lvskit Snapshot", func(ctx context.Context) (int, int, error) {
			snap, err := c.Snapshot(ctx)
			s, d := count(snap)
			return s, d, err
		}},
		{"lvskit Dial+Snapshot", func(ctx context.Context) (int, int, error) {
			c, err := ipvs.Dial(&ipvs.Config{Timeout: 5 * time.Minute})
			if err != nil {
				return 0, 0, err
			}
			defer c.Close()
			snap, err := c.Snapshot(ctx)
			s, d := count(snap)
			return s, d, err
		}},
		{"lvskit Snapshot/1", func(ctx context.Context) (int, int, error) {
			snap, err := c1.Snapshot(ctx)
			s, d := count(snap)
			return s, d, err
		}},
		{"raw x/sys 1 socket", func(context.Context) (int, int, error) { return raw.list(table) }},
		{"ipvsctl -Sn", func(ctx context.Context) (int, int, error) { return saveLines(ctx, cfg.ipvsctl, "-Sn") }},
		{"ipvsadm -Sn", func(ctx context.Context) (int, int, error) { return saveLines(ctx, cfg.ipvsadm, "-Sn") }},
		{"ipvsctl -Ln", func(ctx context.Context) (int, int, error) { return listLines(command(ctx, "", cfg.ipvsctl, "-Ln")) }},
		{"ipvsadm -Ln", func(ctx context.Context) (int, int, error) { return listLines(command(ctx, "", cfg.ipvsadm, "-Ln")) }},
		{"moby/ipvs list", func(ctx context.Context) (int, int, error) { return m.list(ctx) }},
	}
	checkList := func(_ context.Context, s, d int) error {
		if s != wantS || d != wantD {
			return fmt.Errorf("saw %d services and %d destinations, want %d and %d", s, d, wantS, wantD)
		}
		return nil
	}
	// The list contenders run twice: before the apply rounds, with the table alone in
	// the kernel, and after them, beside the tables their namespaces still hold (the
	// kernel keeps every namespace's services in one hash table, which listings walk).
	listTimes, err := measure(ctx, out, cfg.rounds, list, nil, checkList)
	if err != nil {
		return err
	}
	apply := []contender{
		{"lvskit Apply", func(ctx context.Context) (int, int, error) {
			c, err := ipvs.Dial(&ipvs.Config{NetNS: nsPath(ns(ctx)), Window: cfg.window, Timeout: 5 * time.Minute})
			if err != nil {
				return 0, 0, err
			}
			defer c.Close()
			return 0, 0, c.Apply(ctx, ops)
		}},
		{"ipvsctl -R", func(ctx context.Context) (int, int, error) {
			return 0, 0, inNS(ctx, ns(ctx), rules, cfg.ipvsctl, "-R")
		}},
		{"ipvsadm -R", func(ctx context.Context) (int, int, error) {
			return 0, 0, inNS(ctx, ns(ctx), rules, cfg.ipvsadm, "-R")
		}},
		{"moby/ipvs create", func(ctx context.Context) (int, int, error) {
			m, err := newMoby(nsPath(ns(ctx)))
			if err != nil {
				return 0, 0, err
			}
			defer m.Close()
			return 0, 0, m.create(ctx, table)
		}},
	}
	applyTimes, err := measure(ctx, out, cfg.rounds, apply,
		func(ctx context.Context) (context.Context, error) {
			name, err := newNS(ctx)
			return context.WithValue(ctx, nsKey{}, name), err
		},
		func(ctx context.Context, _, _ int) error {
			c, err := ipvs.Dial(&ipvs.Config{NetNS: nsPath(ns(ctx))})
			if err != nil {
				return err
			}
			defer c.Close()
			return verifyClient(ctx, c)
		})
	if err != nil {
		return err
	}
	crowdedTimes, err := measure(ctx, out, cfg.rounds, list, nil, checkList)
	if err != nil {
		return err
	}
	if err := c.Flush(ctx); err != nil {
		return err
	}

	fmt.Fprintf(out, "\napply %d services + %d destinations from empty (median, min-max of %d rounds)\n", wantS, wantD, cfg.rounds)
	report(out, apply, applyTimes, "ipvsadm -R", "lvskit Apply", "ipvsctl -R")
	fmt.Fprintf(out, "\nlist the full table, alone in the kernel (median, min-max of %d rounds)\n", cfg.rounds)
	report(out, list, listTimes, "ipvsadm -Sn", "lvskit Snapshot", "ipvsctl -Sn")
	fmt.Fprintf(out, "\nlist the full table beside the %d apply namespaces' tables (%d services more; median, min-max of %d rounds)\n",
		len(namespaces)-1, (len(namespaces)-1)*cfg.services, cfg.rounds)
	report(out, list, crowdedTimes, "ipvsadm -Sn", "lvskit Snapshot", "ipvsctl -Sn")
	return nil
}

// measure runs every contender rounds times, rotating their order each round. before runs
// untimed before each operation and may return a context for it; check runs untimed
// after it.
func measure(ctx context.Context, out io.Writer, rounds int, cs []contender,
	before func(context.Context) (context.Context, error), check func(context.Context, int, int) error) ([][]time.Duration, error) {
	times := make([][]time.Duration, len(cs))
	for r := range rounds {
		for k := range cs {
			i := (k + r) % len(cs)
			ctx := ctx
			if before != nil {
				var err error
				if ctx, err = before(ctx); err != nil {
					return nil, fmt.Errorf("%s: before round %d: %w", cs[i].name, r, err)
				}
			}
			start := time.Now()
			s, d, err := cs[i].do(ctx)
			elapsed := time.Since(start)
			if err != nil {
				return nil, fmt.Errorf("%s: round %d: %w", cs[i].name, r, err)
			}
			if err := check(ctx, s, d); err != nil {
				return nil, fmt.Errorf("%s: round %d: %w", cs[i].name, r, err)
			}
			times[i] = append(times[i], elapsed)
			fmt.Fprintf(out, "round %d %-20s %8.3fs\n", r, cs[i].name, elapsed.Seconds())
		}
	}
	return times, nil
}

func report(out io.Writer, cs []contender, times [][]time.Duration, base string, ours ...string) {
	med := make(map[string]time.Duration)
	for i, c := range cs {
		ts := slices.Clone(times[i])
		slices.Sort(ts)
		med[c.name] = median(ts)
		fmt.Fprintf(out, "  %-20s median %8.3fs  min %8.3fs  max %8.3fs\n", c.name,
			med[c.name].Seconds(), ts[0].Seconds(), ts[len(ts)-1].Seconds())
	}
	for _, o := range ours {
		fmt.Fprintf(out, "  ratio %s / %s = %.2fx\n", base, o, med[base].Seconds()/med[o].Seconds())
	}
	for _, c := range cs {
		if c.name != base && !slices.Contains(ours, c.name) {
			fmt.Fprintf(out, "  ratio %s / %s = %.2fx\n", c.name, ours[0], med[c.name].Seconds()/med[ours[0]].Seconds())
		}
	}
}

// nsExecOverhead measures what ip netns exec adds to a command, in a fresh namespace.
func nsExecOverhead(ctx context.Context, newNS func(context.Context) (string, error),
	inNS func(ctx context.Context, ns, stdin, prog string, args ...string) error) (time.Duration, error) {
	ns, err := newNS(ctx)
	if err != nil {
		return 0, err
	}
	var ts []time.Duration
	for range 5 {
		start := time.Now()
		if err := inNS(ctx, ns, "", "true"); err != nil {
			return 0, err
		}
		ts = append(ts, time.Since(start))
	}
	slices.Sort(ts)
	return median(ts), nil
}

// startCost is the median time of five runs of prog with args, whose failure is
// ignored (args are meant to fail before any work).
func startCost(ctx context.Context, prog string, args ...string) time.Duration {
	var ts []time.Duration
	for range 5 {
		start := time.Now()
		_ = exec.CommandContext(ctx, prog, args...).Run()
		ts = append(ts, time.Since(start))
	}
	slices.Sort(ts)
	return median(ts)
}

func median(sorted []time.Duration) time.Duration {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// makeTable returns n TCP services on 192.0.2.0/24 (ports from 1000 up) with d DR
// destinations each on 198.51.100.0/24.
func makeTable(n, d int) []ipvs.VirtualServer {
	table := make([]ipvs.VirtualServer, n)
	for i := range table {
		vip := netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i%250)})
		s := ipvs.Service{Protocol: ipvs.TCP, Address: vip, Port: uint16(1000 + i/250), Scheduler: ipvs.WeightedLeastConnection}
		ds := make([]ipvs.Destination, d)
		for j := range ds {
			ds[j] = ipvs.Destination{Address: netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + j)}), Port: 80,
				Forward: ipvs.DirectRoute, Weight: 1}
		}
		table[i] = ipvs.VirtualServer{Service: s, Destinations: ds}
	}
	return table
}

// rulesFile formats the table as ipvsadm -Sn does, for -R.
func rulesFile(table []ipvs.VirtualServer) string {
	var b strings.Builder
	for _, vs := range table {
		s := netip.AddrPortFrom(vs.Service.Address, vs.Service.Port)
		fmt.Fprintf(&b, "-A -t %s -s %s\n", s, vs.Service.Scheduler)
		for _, d := range vs.Destinations {
			fmt.Fprintf(&b, "-a -t %s -r %s -g -w %d\n", s, netip.AddrPortFrom(d.Address, d.Port), d.Weight)
		}
	}
	return b.String()
}

func count(snap []ipvs.ServiceStatus) (svcs, dests int) {
	for _, s := range snap {
		dests += len(s.Destinations)
	}
	return len(snap), dests
}

// countRules counts the -A and -a lines of ipvsadm -S output.
func countRules(b []byte) (svcs, dests int, err error) {
	for line := range strings.Lines(string(b)) {
		switch {
		case strings.HasPrefix(line, "-A "):
			svcs++
		case strings.HasPrefix(line, "-a "):
			dests++
		default:
			return 0, 0, fmt.Errorf("unexpected save line %q", line)
		}
	}
	return svcs, dests, nil
}

// listLines counts the service and destination lines of ipvsadm -Ln output.
func listLines(b []byte, err error) (svcs, dests int, _ error) {
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		switch {
		case strings.HasPrefix(line, "TCP "):
			svcs++
		case strings.HasPrefix(line, "  -> ") && !strings.HasPrefix(line, "  -> RemoteAddress"):
			dests++
		}
	}
	return svcs, dests, nil
}

// command runs prog with stdin and returns its standard output.
func command(ctx context.Context, stdin, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", prog, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	if stderr.Len() > 0 {
		return nil, errors.New(prog + " wrote to stderr: " + strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
