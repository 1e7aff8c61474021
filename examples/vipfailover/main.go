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
		fmt.Fprintln(os.Stderr, "vipfailover:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	if err := run(ctx, cfg, log); err != nil {
		log.Error("vipfailover stopped", "err", err)
		os.Exit(1)
	}
}

// prefixList is a repeatable -vip flag.
type prefixList []netip.Prefix

func (l *prefixList) String() string { return fmt.Sprint(*l) }

func (l *prefixList) Set(s string) error {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return err
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return err
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Zone() != "" || a.Is4In6() || !(a.IsGlobalUnicast() || a.IsLinkLocalUnicast()) {
		return fmt.Errorf("%s is not a unicast address", s)
	}
	*l = append(*l, p)
	return nil
}

// addrList is a repeatable -peer flag.
type addrList []netip.Addr

func (l *addrList) String() string { return fmt.Sprint(*l) }

func (l *addrList) Set(s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return err
	}
	*l = append(*l, a)
	return nil
}

// config is what the command line says.
type config struct {
	iface      string
	vips       []netip.Prefix
	vrid       uint8
	priority   uint8
	version    int
	advertInt  time.Duration
	peers      []netip.Addr
	src        netip.Addr // zero: the interface's address
	noPreempt  bool
	check      []string
	restart    []string
	interval   time.Duration
	timeout    time.Duration
	restartTO  time.Duration
	backoff    time.Duration
	fall, rise int
	weight     int
	logLevel   slog.Level
}

// ipv6 reports whether the VIPs, and so the VRRP instance, are IPv6.
func (c *config) ipv6() bool { return c.vips[0].Addr().Is6() }

func parse(args []string, out io.Writer) (*config, error) {
	fs := flag.NewFlagSet("vipfailover", flag.ContinueOnError)
	fs.SetOutput(out)
	var c config
	var vips prefixList
	var peers addrList
	fs.StringVar(&c.iface, "interface", "", "interface to run VRRP on and put the VIPs on (required)")
	fs.Var(&vips, "vip", "virtual address, ADDR or ADDR/LEN (repeat for several; all of one family)")
	vrid := fs.Uint("vrid", 0, "virtual router ID, 1..255 (required)")
	prio := fs.Uint("priority", 100, "VRRP priority, 1..254 (the highest healthy node holds the VIPs)")
	fs.IntVar(&c.version, "version", 3, "VRRP version: 2 (IPv4 only, whole-second intervals) or 3")
	fs.DurationVar(&c.advertInt, "advert-int", time.Second, "VRRP advertisement interval")
	fs.Var(&peers, "peer", "unicast VRRP peer address (repeat; none means multicast)")
	src := fs.String("src", "", "source address of adverts (keepalived's mcast_src_ip); empty means the interface's")
	fs.BoolVar(&c.noPreempt, "nopreempt", false, "do not take the VIPs from a running master of lower priority")
	check := fs.String("check", "", "health check command, exit status 0 = healthy (required), e.g. 'pidof nginx'")
	restart := fs.String("restart", "", "command that restarts the service after a failed check (optional)")
	fs.DurationVar(&c.interval, "check-interval", 2*time.Second, "time between checks")
	fs.DurationVar(&c.timeout, "check-timeout", 0, "time limit of one check; 0 means the check interval")
	fs.DurationVar(&c.restartTO, "restart-timeout", 30*time.Second, "time limit of the restart command")
	fs.DurationVar(&c.backoff, "restart-backoff", 30*time.Second, "while the service is down, retry the restart this often; 0 means never")
	fs.IntVar(&c.fall, "fall", 2, "consecutive failed checks after the restart that mark the service down")
	fs.IntVar(&c.rise, "rise", 2, "consecutive good checks that mark a down service up")
	fs.IntVar(&c.weight, "weight", 0, "priority drop while the service is down (keepalived's weight -N); 0 means FAULT")
	debug := fs.Bool("debug", false, "log every check")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *debug {
		c.logLevel = slog.LevelDebug
	}
	c.vips, c.peers = vips, peers
	switch {
	case c.iface == "":
		return nil, errors.New("-interface is required")
	case len(vips) == 0:
		return nil, errors.New("at least one -vip is required")
	case *vrid < 1 || *vrid > 255:
		return nil, errors.New("-vrid must be 1..255")
	case *prio < 1 || *prio > 254:
		return nil, errors.New("-priority must be 1..254")
	case *check == "":
		return nil, errors.New("-check is required")
	case c.interval <= 0:
		return nil, errors.New("-check-interval must be positive")
	case c.fall < 1 || c.rise < 1:
		return nil, errors.New("-fall and -rise must be at least 1")
	case c.weight < -253 || c.weight > 253:
		return nil, errors.New("-weight must be -253..253")
	}
	c.vrid, c.priority = uint8(*vrid), uint8(*prio)
	for _, p := range vips[1:] {
		if p.Addr().Is6() != c.ipv6() {
			return nil, fmt.Errorf("-vip %v and %v are of different families", vips[0], p)
		}
	}
	for _, p := range peers {
		if p.Is6() != c.ipv6() {
			return nil, fmt.Errorf("-peer %v is not of the VIPs' family", p)
		}
	}
	if *src != "" {
		a, err := netip.ParseAddr(*src)
		if err != nil {
			return nil, fmt.Errorf("-src: %w", err)
		}
		if a.Is6() != c.ipv6() {
			return nil, fmt.Errorf("-src %v is not of the VIPs' family", a)
		}
		c.src = a
	}
	var err error
	if c.check, err = argv.Split(*check); err != nil || len(c.check) == 0 {
		return nil, fmt.Errorf("-check: %v", orElse(err, "empty command"))
	}
	if *restart != "" {
		if c.restart, err = argv.Split(*restart); err != nil || len(c.restart) == 0 {
			return nil, fmt.Errorf("-restart: %v", orElse(err, "empty command"))
		}
	}
	if c.timeout <= 0 {
		c.timeout = c.interval
	}
	if c.weight < 0 {
		c.weight = -c.weight
	}
	return &c, nil
}

// orElse returns err's message, or alt when err is nil.
func orElse(err error, alt string) string {
	if err != nil {
		return err.Error()
	}
	return alt
}
