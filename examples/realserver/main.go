// Command realserver makes this machine (or network namespace) an LVS real server for
// direct routing or IP-in-IP tunnelling: it puts each VIP on lo as a host address,
// applies the ARP sysctls that keep the real server from answering ARP for the VIPs,
// prints what it changed, and waits. On SIGINT or SIGTERM it removes the addresses it
// added and restores every sysctl exactly as it found it.
//
//	realserver -vip 192.0.2.100 [-vip 2001:db8::100 ...] [-mode dr|tun]
//
// Addresses that were already on lo are left alone, before and after. VIPs that an
// earlier realserver left behind when it was killed are removed at start (they carry
// realserver's own ownership mark); the sysctls of such a run cannot be restored,
// since its snapshot died with it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/arpctl"
	"github.com/lvskit/lvskit/vip"
)

// proto marks the addresses that realserver adds, distinct from vip.DefaultProto so
// that its start-up cleanup never touches a director daemon's VIPs.
const proto = 0x72 // 'r'

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "realserver:", err)
		os.Exit(1)
	}
}

type addrList []netip.Addr

func (l *addrList) String() string { return fmt.Sprint(*l) }

func (l *addrList) Set(s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return err
	}
	if a.Zone() != "" || a.Is4In6() || !a.IsGlobalUnicast() {
		return fmt.Errorf("%s is not a unicast VIP", s)
	}
	*l = append(*l, a)
	return nil
}

// config is what the command line says.
type config struct {
	vips    []netip.Addr
	profile arpctl.Profile
}

func parse(args []string, out io.Writer) (*config, error) {
	fs := flag.NewFlagSet("realserver", flag.ContinueOnError)
	fs.SetOutput(out)
	var vips addrList
	fs.Var(&vips, "vip", "a virtual IP address to serve (repeat for several)")
	mode := fs.String("mode", "dr", "LVS forwarding method: dr (direct routing) or tun (IP-in-IP)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if len(vips) == 0 {
		return nil, errors.New("at least one -vip is needed")
	}
	cfg := &config{vips: vips}
	switch *mode {
	case "dr":
		cfg.profile = arpctl.DRRealServer()
	case "tun":
		cfg.profile = arpctl.TUNRealServer()
	default:
		return nil, fmt.Errorf("-mode %q: want dr or tun", *mode)
	}
	return cfg, nil
}

// run applies the configuration, waits for ctx to end, and undoes it.
func run(ctx context.Context, args []string, out io.Writer) (err error) {
	cfg, err := parse(args, out)
	if err != nil {
		return err
	}
	sysctls, err := arpctl.New(nil)
	if err != nil {
		return err
	}
	addrs, err := vip.Dial(&vip.Config{Proto: proto})
	if err != nil {
		return err
	}
	defer addrs.Close()

	stale, err := addrs.Cleanup(ctx)
	if err != nil {
		return err
	}
	for _, a := range stale {
		fmt.Fprintf(out, "removed %s left by an earlier run\n", a)
	}
	before, err := addrs.List(ctx, "lo")
	if err != nil {
		return err
	}

	// Sysctls first, so that the VIPs never answer ARP; undone last.
	snap, err := sysctls.Apply(cfg.profile)
	if err != nil {
		return err
	}
	for _, ch := range snap.Changes() {
		fmt.Fprintf(out, "set %s = %d (was %d)\n", ch.Setting, ch.New, ch.Old)
	}
	for _, e := range snap.Skipped {
		fmt.Fprintf(out, "skipped %s: no such interface (load the ipip module first)\n", e.Setting)
	}
	var added []vip.Address
	defer func() {
		// ctx has ended by now: undo within a bounded time of our own.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for i := len(added) - 1; i >= 0; i-- {
			if rerr := addrs.Remove(uctx, added[i]); rerr != nil {
				err = errors.Join(err, rerr)
				continue
			}
			fmt.Fprintf(out, "removed %s\n", added[i])
		}
		if rerr := snap.Restore(); rerr != nil {
			err = errors.Join(err, rerr)
			return
		}
		for _, ch := range snap.Changes() {
			fmt.Fprintf(out, "restored %s = %d\n", ch.Setting, ch.Old)
		}
	}()

	for _, ip := range cfg.vips {
		a := vip.Address{Interface: "lo", Prefix: netip.PrefixFrom(ip, ip.BitLen())}
		if slices.ContainsFunc(before, func(b vip.Address) bool { return b.Prefix == a.Prefix }) {
			fmt.Fprintf(out, "%s is already on lo; leaving it alone\n", a.Prefix)
			continue
		}
		if err := addrs.Add(ctx, a); err != nil {
			return err
		}
		added = append(added, a)
		fmt.Fprintf(out, "added %s\n", a)
	}
	fmt.Fprintln(out, "ready")
	<-ctx.Done()
	return nil
}
