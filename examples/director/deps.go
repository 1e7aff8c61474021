package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"sync"
	"time"

	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

// linuxDeps are the real system: raw VRRP sockets, rtnetlink, generic netlink, and
// processes. On other systems the packages return errors naming the platform.
func linuxDeps() deps {
	return deps{
		transport: func(iface string, v6 bool, peers []netip.Addr, _ netip.Addr) (vrrp.Transport, error) {
			return vrrp.ListenIP(&vrrp.TransportConfig{Interface: iface, IPv6: v6, Peers: peers})
		},
		primary: vrrp.InterfaceAddr,
		vips: func() (vipBackend, error) {
			c, err := vip.Dial(nil)
			if err != nil {
				return nil, err
			}
			return &vipClient{c: c, ann: map[string]*vip.Announcer{}}, nil
		},
		ipvs: func() (*ipvs.Client, error) { return ipvs.Dial(nil) },
		linkUp: func(iface string) bool {
			ifi, err := net.InterfaceByName(iface)
			return err == nil && ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0
		},
		watchLinks: watchLinks,
		probe: func(ctx context.Context, argv []string) bool {
			_, err := (&health.ExecChecker{Argv: argv}).Check(ctx)
			return err == nil
		},
		exec: runCommand,
	}
}

// runCommand runs argv without a shell, as keepalived runs its scripts, until it
// exits or ctx ends.
func runCommand(ctx context.Context, argv []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) > 0 {
		return fmt.Errorf("%w: %s", err, out)
	}
	return err
}

// watchLinks reports links going down and up until ctx ends.
func watchLinks(ctx context.Context, fn func(iface string, up bool)) {
	c, err := vip.Dial(nil)
	if err != nil {
		return
	}
	defer c.Close()
	w, err := c.NewWatcher()
	if err != nil {
		return
	}
	defer w.Close()
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			return
		}
		switch ev.Kind {
		case vip.LinkDown:
			fn(ev.Interface, false)
		case vip.LinkUp:
			fn(ev.Interface, true)
		}
	}
}

// vipClient is the vipBackend over vip.Client, with one Announcer per interface.
type vipClient struct {
	c   *vip.Client
	mu  sync.Mutex
	ann map[string]*vip.Announcer
}

func (v *vipClient) Add(a vip.Address) error         { return v.c.Add(a) }
func (v *vipClient) Remove(a vip.Address) error      { return v.c.Remove(a) }
func (v *vipClient) Cleanup() ([]vip.Address, error) { return v.c.Cleanup() }

func (v *vipClient) Announce(ctx context.Context, iface string, p vip.Policy, addrs []netip.Addr) error {
	v.mu.Lock()
	a := v.ann[iface]
	if a == nil {
		var err error
		a, err = v.c.NewAnnouncer(&vip.AnnouncerConfig{Interface: iface})
		if err != nil {
			v.mu.Unlock()
			return err
		}
		v.ann[iface] = a
	}
	v.mu.Unlock()
	err := a.Announce(ctx, p, addrs...)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (v *vipClient) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, a := range v.ann {
		a.Close()
	}
	return v.c.Close()
}
