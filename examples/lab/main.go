// Command lab builds the seeds' LVS-DR cluster in network namespaces and walks through
// what a person would check by hand. See doc.go.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	inGuest    bool
	director   string
	realserver string
	version    int
	advert     string
	check      string
	scenario   string
	mem        int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.inGuest, "in-guest", false, "run here even without IPVS (set when the lab re-runs itself in the qemu guest)")
	fs.StringVar(&o.director, "director", "", "director binary (default $LVSKIT_DIRECTOR_BIN, then director on PATH, then built with go build)")
	fs.StringVar(&o.realserver, "realserver", "", "realserver binary (default $LVSKIT_REALSERVER_BIN, then realserver on PATH, then built with go build)")
	fs.IntVar(&o.version, "vrrp-version", 3, "VRRP version, 2 or 3")
	fs.StringVar(&o.advert, "advert-int", "0.5", "advert_int in seconds (fractions need VRRP version 3)")
	fs.StringVar(&o.check, "check", "TCP_CHECK", "health check of the real servers: TCP_CHECK or HTTP_GET")
	fs.StringVar(&o.scenario, "scenario", "seeds", "seeds (one VIP: failover, health checks, preemption, graceful stop) active-active (two VIPs, each director MASTER of one) or ecmp (three active directors behind a BGP/ECMP router, mh; needs BIRD 2)")
	fs.IntVar(&o.mem, "mem", 2048, "memory of the qemu guest in MiB, when the host has no IPVS")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.check != "TCP_CHECK" && o.check != "HTTP_GET" {
		return o, fmt.Errorf("-check %q: want TCP_CHECK or HTTP_GET", o.check)
	}
	if o.scenario != "seeds" && o.scenario != "active-active" && o.scenario != "ecmp" {
		return o, fmt.Errorf("-scenario %q: want seeds, active-active or ecmp", o.scenario)
	}
	if o.version != 2 && o.version != 3 {
		return o, fmt.Errorf("-vrrp-version %d: want 2 or 3", o.version)
	}
	return o, nil
}

// guestArgs are the flags the lab passes to itself in the guest.
func (o options) guestArgs() []string {
	return []string{"-in-guest", "-director", "/bin/director", "-realserver", "/bin/realserver",
		"-vrrp-version", fmt.Sprint(o.version), "-advert-int", o.advert, "-check", o.check, "-scenario", o.scenario}
}
