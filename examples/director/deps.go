package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/arpctl"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/route"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

// linuxDeps are the real system: raw VRRP sockets, rtnetlink, generic netlink, and
// processes. On other systems the packages return errors naming the platform.
func linuxDeps() deps {
	return deps{
		// No peers: the shared socket joins the VRRP group, and so receives unicast
		// VRRP too; the Mux sorts packets by VRID and unicast source.
		transport: func(iface string, v6 bool) (vrrp.Transport, error) {
			return vrrp.ListenIP(&vrrp.TransportConfig{Interface: iface, IPv6: v6})
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
		watch: watchKernel,
		// A vrrp_script succeeds when it exits 0, run as its user (scriptsec.go).
		probe: func(ctx context.Context, argv []string) bool {
			return runCommand(ctx, argv) == nil
		},
		exec:    runCommand,
		kroutes: dialKRoutes,
		krules:  dialKRules,
		routes: func(table uint32) (routeAnnouncer, error) {
			return route.Dial(&route.Config{Table: table})
		},
		scaleOut: func() (func() error, error) {
			c, err := arpctl.New(nil)
			if err != nil {
				return nil, err
			}
			snap, err := c.Apply(arpctl.ScaleOutDirector())
			if err != nil {
				return nil, err
			}
			return snap.Restore, nil
		},
	}
}

// runCommand runs argv without a shell, as keepalived runs its scripts, until it
// exits or ctx ends, as the user and group ctx carries (withScriptCred; none: the
// director's own) with no supplementary groups. The script gets a process group of
// its own, killed whole when ctx ends, so what it started does not outlive it.
func runCommand(ctx context.Context, argv []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c := scriptCredFrom(ctx); c != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID}
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) > 0 {
		return fmt.Errorf("%w: %s", err, out)
	}
	return err
}

// watchKernel reports links going down and up and owned addresses disappearing
// (vip.Watcher) until ctx ends or the watcher fails.
func watchKernel(ctx context.Context, fn func(vip.Event)) error {
	c, err := vip.Dial(nil)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := c.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			return err
		}
		fn(ev)
	}
}

// vipClient is the vipBackend over vip.Client, with one Announcer per interface.
type vipClient struct {
	c   *vip.Client
	mu  sync.Mutex
	ann map[string]*vip.Announcer
}

func (v *vipClient) Add(ctx context.Context, a vip.Address) error    { return v.c.Add(ctx, a) }
func (v *vipClient) Remove(ctx context.Context, a vip.Address) error { return v.c.Remove(ctx, a) }
func (v *vipClient) List(ctx context.Context) ([]vip.Address, error) { return v.c.List(ctx, "") }
func (v *vipClient) Cleanup(ctx context.Context) ([]vip.Address, error) {
	return v.c.Cleanup(ctx)
}

func (v *vipClient) Announce(ctx context.Context, iface string, p vip.Policy, addrs []netip.Addr) error {
	v.mu.Lock()
	a := v.ann[iface]
	v.mu.Unlock()
	if a == nil {
		// Open the announcer's socket outside the lock; keep the first one if two
		// announcements raced.
		na, err := v.c.NewAnnouncer(&vip.AnnouncerConfig{Interface: iface})
		if err != nil {
			return err
		}
		v.mu.Lock()
		if a = v.ann[iface]; a == nil {
			a, v.ann[iface], na = na, na, nil
		}
		v.mu.Unlock()
		if na != nil {
			na.Close()
		}
	}
	err := a.Announce(ctx, p, addrs...)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (v *vipClient) Close() error {
	v.mu.Lock()
	anns := v.ann
	v.ann = map[string]*vip.Announcer{}
	v.mu.Unlock()
	for _, a := range anns {
		a.Close()
	}
	return v.c.Close()
}
