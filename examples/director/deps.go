package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
			return &vipClient{c: c, ann: map[string]*announcer{}}, nil
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
		vmacs:   dialVMACs,
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
	ann map[string]*announcer
}

// announcer is an interface's Announcer and the index the interface had when it
// was opened: a macvlan created again has a new index, and the old socket is dead.
type announcer struct {
	*vip.Announcer
	index int
}

func (v *vipClient) Add(ctx context.Context, a vip.Address) error    { return v.c.Add(ctx, a) }
func (v *vipClient) Remove(ctx context.Context, a vip.Address) error { return v.c.Remove(ctx, a) }
func (v *vipClient) List(ctx context.Context) ([]vip.Address, error) { return v.c.List(ctx, "") }
func (v *vipClient) Cleanup(ctx context.Context) ([]vip.Address, error) {
	return v.c.Cleanup(ctx)
}

func (v *vipClient) Announce(ctx context.Context, iface string, p vip.Policy, addrs []netip.Addr) error {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return fmt.Errorf("director: announce on %s: %w", iface, err)
	}
	v.mu.Lock()
	a := v.ann[iface]
	v.mu.Unlock()
	if a == nil || a.index != ifi.Index {
		// Open the announcer's socket outside the lock; keep the first one if two
		// announcements raced.
		na, err := v.c.NewAnnouncer(&vip.AnnouncerConfig{Interface: iface})
		if err != nil {
			return err
		}
		n := &announcer{na, ifi.Index}
		var stale *announcer
		v.mu.Lock()
		if cur := v.ann[iface]; cur == nil || cur.index != ifi.Index {
			stale, v.ann[iface], a, n = cur, n, n, nil
		} else {
			a = cur
		}
		v.mu.Unlock()
		if n != nil {
			n.Close()
		}
		if stale != nil {
			stale.Close()
		}
	}
	err = a.Announce(ctx, p, addrs...)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (v *vipClient) Close() error {
	v.mu.Lock()
	anns := v.ann
	v.ann = map[string]*announcer{}
	v.mu.Unlock()
	for _, a := range anns {
		a.Close()
	}
	return v.c.Close()
}

// vmacSystem is the vmacBackend of the real system: macvlans through vip.Client,
// the ARP and rp_filter sysctls through arpctl, the others written under /proc/sys.
type vmacSystem struct {
	c   *vip.Client
	arp *arpctl.Client
}

// vmacAddrProto marks the source addresses the director puts on IPv6 macvlans:
// not vip.DefaultProto, so that the VIP backend neither takes them as VIPs nor
// removes them as stale ones.
const vmacAddrProto = 0x6d

func dialVMACs() (vmacBackend, error) {
	a, err := arpctl.New(nil)
	if err != nil {
		return nil, err
	}
	c, err := vip.Dial(&vip.Config{Proto: vmacAddrProto})
	if err != nil {
		return nil, err
	}
	return &vmacSystem{c: c, arp: a}, nil
}

func (v *vmacSystem) AddAddress(ctx context.Context, iface string, p netip.Prefix) error {
	a := vip.Address{Interface: iface, Prefix: p}
	if p.Addr().IsLinkLocalUnicast() {
		a.Scope = vip.ScopeLink
	}
	return v.c.Add(ctx, a)
}

func (v *vmacSystem) Ensure(ctx context.Context, m vip.MACVLAN) (int, error) {
	if err := v.c.EnsureMACVLAN(ctx, m); err != nil {
		return 0, err
	}
	ifi, err := net.InterfaceByName(m.Name)
	if err != nil {
		return 0, fmt.Errorf("director: macvlan %s: %w", m.Name, err)
	}
	return ifi.Index, nil
}

func (v *vmacSystem) Delete(ctx context.Context, m vip.MACVLAN) error {
	return v.c.DeleteMACVLAN(ctx, m)
}

// arpSetting returns the arpctl setting of path when arpctl knows it.
func arpSetting(path string) (arpctl.Setting, bool) {
	rest, ok := strings.CutPrefix(path, "net/ipv4/conf/")
	if !ok {
		return arpctl.Setting{}, false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return arpctl.Setting{}, false
	}
	s := arpctl.Setting{Scope: arpctl.Scope(rest[:i]), Key: arpctl.Key(rest[i+1:])}
	if !slices.Contains(arpctl.Keys(), s.Key) || s.Key.Global() {
		return arpctl.Setting{}, false
	}
	return s, true
}

func (v *vmacSystem) Sysctl(path string) (int, error) {
	if s, ok := arpSetting(path); ok {
		return v.arp.Get(s)
	}
	b, err := os.ReadFile(filepath.Join("/proc/sys", path))
	if err != nil {
		return 0, sysctlErr(path, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("director: sysctl %s: %w", path, err)
	}
	return n, nil
}

func (v *vmacSystem) SetSysctl(path string, n int) error {
	if s, ok := arpSetting(path); ok {
		err := v.arp.Set(s, n)
		if errors.Is(err, arpctl.ErrUnknownInterface) {
			err = fmt.Errorf("%w: %w", errNoSysctl, err)
		}
		return err
	}
	if err := os.WriteFile(filepath.Join("/proc/sys", path), []byte(strconv.Itoa(n)), 0o644); err != nil {
		return sysctlErr(path, err)
	}
	return nil
}

func sysctlErr(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("director: sysctl %s: %w: %w", path, errNoSysctl, err)
	}
	return fmt.Errorf("director: sysctl %s: %w", path, err)
}

func (v *vmacSystem) Interfaces() ([]string, error) { return v.arp.Interfaces() }

func (v *vmacSystem) Links() (map[string]vmacLink, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make(map[string]vmacLink, len(ifs))
	for _, ifi := range ifs {
		out[ifi.Name] = vmacLink{index: ifi.Index, up: ifi.Flags&net.FlagUp != 0, mac: string(ifi.HardwareAddr)}
	}
	return out, nil
}

func (v *vmacSystem) List(ctx context.Context) ([]vip.MACVLAN, error) {
	all, err := v.c.MACVLANs(ctx)
	if err != nil {
		return nil, err
	}
	var out []vip.MACVLAN
	for _, m := range all {
		if m.Alias == vmacAlias && m.Parent != "" {
			out = append(out, m)
		}
	}
	return out, nil
}

func (v *vmacSystem) Close() error { return v.c.Close() }
