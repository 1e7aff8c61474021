// Command directorbench measures examples/director against keepalived as users run
// them: two routers (priority 150 and 100) as separate processes in network
// namespaces on one segment per 255 instances, each from the same keepalived.conf of
// N VRRPv3 instances at advert_int 0.1, the director pair and a keepalived pair side
// by side in the same run. It reports the CPU of all their processes over a window,
// whether every instance was elected right (advertised by the priority-150 host
// alone, as seen on the wire by an observer host), and the takeover time of every
// instance when the master is killed and cut off. See docs/benchmarks/director.md.
//
//	sudo go run ./examples/directorbench [-n 10,50,250,1000] [-secs 10] [-failover 250] [-keepalived /usr/sbin/keepalived] [-director BIN] [-together]
//
// It needs root (namespaces, raw sockets) and runs from inside the lvskit module,
// whose examples/director it builds. Everything it creates is removed when it ends,
// also on SIGINT and SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "directorbench:", err)
		}
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	ns         []int
	secs       time.Duration
	failover   int
	keepalived string
	director   string
	together   bool
	keep       bool
	only       string
	timeout    time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("directorbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	list := fs.String("n", "10,50,250,1000", "comma-separated instance counts, one round each")
	secs := fs.Float64("secs", 10, "seconds of steady state over which CPU and adverts are measured")
	fs.IntVar(&o.failover, "failover", 250, "instance count of the round that ends with a failover (kill A, cut its link); 0: none")
	fs.StringVar(&o.keepalived, "keepalived", "/usr/sbin/keepalived", "keepalived binary; when missing, only the director runs")
	fs.StringVar(&o.director, "director", "", "director binary to run; empty means build examples/director from the working tree")
	fs.BoolVar(&o.together, "together", false, "run the director pair and the keepalived pair at the same time (each in its own topology); default: one after the other in each round, so that one side's load does not starve the other")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (configuration files and every router's log) and print its path")
	fs.StringVar(&o.only, "only", "", "run only this side: director or keepalived (for investigating one)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "the whole run ends after this long")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.ns, err = parseCounts(*list); err != nil {
		return o, fmt.Errorf("-n: %w", err)
	}
	if *secs <= 0 || *secs > 600 {
		return o, fmt.Errorf("-secs %v: want more than 0 and at most 600", *secs)
	}
	o.secs = time.Duration(*secs * float64(time.Second))
	if o.only != "" && o.only != "director" && o.only != "keepalived" {
		return o, fmt.Errorf("-only %q: want director or keepalived", o.only)
	}
	if o.failover < 0 {
		return o, fmt.Errorf("-failover %d: want 0 or more", o.failover)
	}
	if o.failover > 0 && !containsInt(o.ns, o.failover) {
		// The failover ends a round; give it one.
		o.ns = append(o.ns, o.failover)
	}
	return o, nil
}

// parseCounts parses "10,50,250".
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if n < 1 || n > maxSegments*maxPerSegment {
			return nil, fmt.Errorf("%d instances: want 1 to %d", n, maxSegments*maxPerSegment)
		}
		out = append(out, n)
	}
	return out, nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// run is the whole program.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return runBench(ctx, o, stdout, stderr)
}
