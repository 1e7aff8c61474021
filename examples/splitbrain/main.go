package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/internal/argv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parse(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "splitbrain:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	err = run(ctx, cfg, log)
	switch {
	case errors.Is(err, errFound):
		os.Exit(3)
	case err != nil:
		log.Error("splitbrain stopped", "err", err)
		os.Exit(1)
	}
}

// addrList is a repeatable -vip flag.
type addrList []netip.Addr

func (l *addrList) String() string { return fmt.Sprint(*l) }

func (l *addrList) Set(s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return err
	}
	if !a.Is4() || !a.IsGlobalUnicast() {
		return fmt.Errorf("%s is not a unicast IPv4 address (VIPs are checked with ARP)", s)
	}
	*l = append(*l, a)
	return nil
}

// config is what the command line says.
type config struct {
	iface       string
	ipv4, ipv6  bool
	window      time.Duration
	confirm     int
	vips        []netip.Addr
	arpInterval time.Duration
	arpWait     time.Duration
	vipConfirm  int
	alarm       []string
	once        bool
	duration    time.Duration
	logLevel    slog.Level
}

func parse(args []string, out io.Writer) (*config, error) {
	fs := flag.NewFlagSet("splitbrain", flag.ContinueOnError)
	fs.SetOutput(out)
	var c config
	var vips addrList
	fs.StringVar(&c.iface, "interface", "", "interface to watch (required)")
	family := fs.String("family", "both", "VRRP address family to watch: 4, 6 or both")
	fs.DurationVar(&c.window, "window", 0, "a router counts as advertising until silent this long; 0 means 3 of its advert intervals")
	fs.IntVar(&c.confirm, "confirm", 3, "adverts each of two routers must send while the other advertises to count as two masters")
	fs.Var(&vips, "vip", "IPv4 virtual address to check by ARP (repeat for several)")
	fs.DurationVar(&c.arpInterval, "arp-interval", 2*time.Second, "time between ARP checks of the -vip addresses")
	fs.DurationVar(&c.arpWait, "arp-wait", 500*time.Millisecond, "how long to collect ARP answers")
	fs.IntVar(&c.vipConfirm, "vip-confirm", 3, "consecutive ARP checks that must find a VIP on a non-master before it is reported")
	alarm := fs.String("alarm", "", "command to run for each report (see SPLITBRAIN_* in its environment)")
	fs.BoolVar(&c.once, "once", false, "exit with status 3 at the first problem found")
	fs.DurationVar(&c.duration, "for", 0, "stop watching after this long (0: until SIGINT or SIGTERM)")
	debug := fs.Bool("debug", false, "log every advert")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.vips = vips
	if *debug {
		c.logLevel = slog.LevelDebug
	}
	switch *family {
	case "4":
		c.ipv4 = true
	case "6":
		c.ipv6 = true
	case "both":
		c.ipv4, c.ipv6 = true, true
	default:
		return nil, fmt.Errorf("-family must be 4, 6 or both, not %q", *family)
	}
	switch {
	case c.iface == "":
		return nil, errors.New("-interface is required")
	case c.window < 0 || c.duration < 0:
		return nil, errors.New("-window and -for must not be negative")
	case c.confirm < 1 || c.vipConfirm < 1:
		return nil, errors.New("-confirm and -vip-confirm must be at least 1")
	case c.arpInterval <= 0 || c.arpWait <= 0:
		return nil, errors.New("-arp-interval and -arp-wait must be positive")
	case len(c.vips) > 0 && !c.ipv4:
		return nil, errors.New("-vip needs IPv4 adverts: use -family 4 or both")
	}
	if *alarm != "" {
		var err error
		if c.alarm, err = argv.Split(*alarm); err != nil {
			return nil, fmt.Errorf("-alarm: %w", err)
		}
	}
	return &c, nil
}
