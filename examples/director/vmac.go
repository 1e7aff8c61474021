package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vip"
)

// use_vmac, as keepalived 2.2.7 runs it (vrrp_vmac.c, vrrp_if_config.c):
//
//   - the instance owns a private-mode macvlan on its interface whose MAC is the
//     VRRP virtual MAC, named by use_vmac or "vrrp.VRID";
//   - the instance's addresses of its own family with no dev (or dev its interface)
//     live on the macvlan, so the kernel answers ARP for them with the virtual MAC,
//     and gratuitous ARP / NA go out from it;
//   - its adverts are sent and received on the macvlan (keepalived opens the
//     instance's socket on it), or on the interface with vmac_xmit_base. The
//     interface would not do for receiving: the kernel hands a multicast frame
//     whose source MAC is a local macvlan's (a peer's advert from the same virtual
//     MAC) to that macvlan alone (checked in namespaces: a socket on eth0 heard none
//     of keepalived's adverts once vrrp.51 existed, one on vrrp.51 heard all). An IPv6
//     instance sending from the macvlan puts its source address (the interface's
//     link-local one) on it, since the kernel sends from a link-local address only
//     on an interface that holds it;
//   - IPv4: the macvlan gets arp_ignore=1, accept_local=1, rp_filter=0 and
//     promote_secondaries=1, and IPv6 is turned off on it; the parent gets
//     arp_ignore=1 and arp_filter=1 while it carries a macvlan, its old values put
//     back when its last macvlan goes. rp_filter=0 on the macvlan takes
//     all.rp_filter=0 (the kernel applies the larger): as keepalived, the director
//     first raises default and every interface to all's value, then sets all to 0,
//     and puts them back when its last IPv4 macvlan goes.
//
// The macvlans are part of the reconciler's desired state (ensureVMACs before the
// VIPs, dropVMACs after them and the routes and rules): wanted while their
// instance is configured, whatever its VRRP state; created before the instance's
// Router opens its socket; re-created when deleted from outside, at the watcher's
// report or the drift check, and the socket on it reopened; deleted when the
// configuration drops them (after the Router on them has stopped) or the director
// stops. They carry vmacAlias, so that the first reconcile removes those a crashed
// run left and no instance wants (sweepVMACs), as the VIPs' first pass does.

// vmacBackend creates and deletes macvlans and reads and writes sysctls: the real
// system on Linux (deps.go), an in-memory fake in tests.
type vmacBackend interface {
	// Ensure creates m, or reuses a matching one, brings it up, and returns its
	// interface index.
	Ensure(ctx context.Context, m vip.MACVLAN) (int, error)
	// Delete deletes m; an absent one is no error.
	Delete(ctx context.Context, m vip.MACVLAN) error
	// Sysctl reads and SetSysctl writes the integer sysctl at path, relative to
	// /proc/sys ("net/ipv4/conf/eth0/arp_ignore").
	Sysctl(path string) (int, error)
	SetSysctl(path string, v int) error
	// AddAddress adds p to iface unless it is there, not as a VIP (the VIP
	// backend neither lists it as its own nor removes it).
	AddAddress(ctx context.Context, iface string, p netip.Prefix) error
	// Interfaces lists the interfaces that have IPv4 sysctls.
	Interfaces() ([]string, error)
	// List returns the macvlans that carry vmacAlias: the director's, made by this
	// run or by an earlier one.
	List(ctx context.Context) ([]vip.MACVLAN, error)
	// Links returns every interface by name, in one read of the kernel's list: the
	// drift check looks there first and makes sure only of the macvlans that are
	// gone, down or changed.
	Links() (map[string]vmacLink, error)
	Close() error
}

// vmacLink is what the drift check compares of an interface.
type vmacLink struct {
	index int
	up    bool
	mac   string
}

// vmacAlias is the interface alias the director gives its macvlans, so that a
// restart finds those a crashed run left (as VIPs carry IFA_PROTO).
const vmacAlias = "lvskit director use_vmac"

// vmacSpec is one wanted macvlan.
type vmacSpec struct {
	m    vip.MACVLAN
	inst string
	v6   bool // the instance's family: IPv4 ones get the sysctls
	// src, for an IPv6 instance that sends from the macvlan, is its source address
	// (its interface's link-local one, or mcast_src_ip), put on the macvlan: the
	// kernel sends from a link-local address only on an interface that holds it.
	src netip.Addr
}

// vmacName is the macvlan's name: use_vmac's (nameVMACs fills in the default).
func vmacName(in *kaconf.Instance) string {
	if in.VMAC.Name != "" {
		return in.VMAC.Name
	}
	return "vrrp." + strconv.Itoa(in.VRID)
}

// nameVMACs names the macvlans that use_vmac leaves unnamed as keepalived 2.2.7
// does (create_vmac_name), in the order of the file: "vrrp.VRID" unless another
// instance's macvlan has that name, then "vrrp6.VRID" for IPv6, then "vrrp1.VRID",
// "vrrp2.VRID", ... (so that an IPv4 and an IPv6 instance with one VRID get a
// macvlan each). keepalived also skips a name an interface already has, unless it
// is a matching macvlan; the director names from the file alone, and such an
// interface is reported when the macvlan is made.
func nameVMACs(cfg *kaconf.Config) {
	taken := map[string]bool{}
	for _, in := range cfg.Instances {
		if in.VMAC != nil && in.VMAC.Name != "" {
			taken[in.VMAC.Name] = true
		}
	}
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if in.VMAC == nil || in.VMAC.Name != "" {
			continue
		}
		name := fmt.Sprintf("vrrp.%d", in.VRID)
		num := 0
		for tries := 0; taken[name] && tries < 1000; tries++ {
			switch {
			case !isIPv6(in):
				num++
			case num == 0:
				num = 6
			case num == 6:
				num = 1
			default:
				if num++; num == 6 {
					num++
				}
			}
			name = fmt.Sprintf("vrrp%d.%d", num, in.VRID)
		}
		vm := *in.VMAC
		vm.Name = name
		in.VMAC = &vm
		taken[name] = true
	}
}

// vmacOf returns the macvlan of an instance with use_vmac.
func vmacOf(in *kaconf.Instance) (vmacSpec, bool) {
	if in.VMAC == nil {
		return vmacSpec{}, false
	}
	v6 := isIPv6(in)
	return vmacSpec{m: vip.MACVLAN{Name: vmacName(in), Parent: in.Interface, MAC: vip.VirtualMAC(uint8(in.VRID), v6), Alias: vmacAlias},
		inst: in.Name, v6: v6}, true
}

// vmacsOf lists the macvlans a configuration wants, sorted by name.
func vmacsOf(cfg *kaconf.Config) []vmacSpec {
	var out []vmacSpec
	for i := range cfg.Instances {
		if s, ok := vmacOf(&cfg.Instances[i]); ok {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b vmacSpec) int {
		switch {
		case a.m.Name < b.m.Name:
			return -1
		case a.m.Name > b.m.Name:
			return 1
		}
		return 0
	})
	return out
}

// vrrpIface is the interface an instance's adverts are sent and received on: its
// macvlan with use_vmac (keepalived opens the socket there), else, and with
// vmac_xmit_base, its interface.
func vrrpIface(in *kaconf.Instance) string {
	if in.VMAC != nil && !in.VMAC.XmitBase {
		return vmacName(in)
	}
	return in.Interface
}

// vipIface is the interface an instance's address with dev goes on: its macvlan
// when it has one and the address is of its family with no dev or dev its
// interface (as keepalived moves them), else dev or the interface.
func vipIface(in *kaconf.Instance, v kaconf.VIP) string {
	dev := v.Dev
	if dev == "" {
		dev = in.Interface
	}
	if in.VMAC != nil && dev == in.Interface && v.Prefix.Addr().Is6() == isIPv6(in) {
		return vmacName(in)
	}
	return dev
}

// checkVMAC refuses what the director does not run with use_vmac.
func checkVMAC(in *kaconf.Instance) error {
	if in.VMAC == nil {
		return nil
	}
	for _, l := range [][]kaconf.VIP{in.VIPs, in.ExcludedVIPs} {
		for _, v := range l {
			if dev := vipIface(in, v); v.Label != "" && dev != in.Interface && !strings.HasPrefix(v.Label, dev) {
				// keepalived hands the kernel the label as written; package vip takes
				// only labels that start with their interface's name, as ip(8) shows.
				return fmt.Errorf("%s: label %s of %v: with use_vmac the address is on %s, and its label must start with %s", v.Pos, v.Label, v.Prefix, dev, dev)
			}
		}
	}
	return nil
}

// The sysctls keepalived sets (vrrp_if_config.c).
var (
	vmacSysctls = []struct {
		key string
		v   int
	}{{"arp_ignore", 1}, {"accept_local", 1}, {"rp_filter", 0}, {"promote_secondaries", 1}}
	parentSysctls = []string{"arp_ignore", "arp_filter"}
)

func ipv4Conf(iface, key string) string { return "net/ipv4/conf/" + iface + "/" + key }

// heldVMAC is a macvlan the director made sure of, with its interface index then
// (0 after a failed attempt to make sure of it again).
type heldVMAC struct {
	s     vmacSpec
	index int
}

// savedParent is a parent's arp_ignore and arp_filter before its first macvlan.
type savedParent struct {
	vals map[string]int
}

// setVMACs gives the reconciler the vmac backend (nil keeps the current one) and
// the wanted macvlans.
func (r *reconciler) setVMACs(vb vmacBackend, want []vmacSpec) {
	r.mu.Lock()
	if vb != nil {
		r.vmacB = vb
	}
	r.vmacWant = want
	r.mu.Unlock()
	r.changed()
}

// wantedVMACs returns the wanted macvlans and the names of those held as of the
// last reconcile.
func (r *reconciler) wantedVMACs() (want []vmacSpec, held []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.vmacWant, r.vmacKnown
}

// resyncVMAC has the next reconcile check every wanted macvlan in the kernel (a
// link went down or vanished).
func (r *reconciler) resyncVMAC() {
	r.mu.Lock()
	r.vmacResync = true
	r.mu.Unlock()
	r.changed()
}

func (r *reconciler) hasVMACBackend() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.vmacB != nil
}

// closeVMACs closes the vmac backend after the reconciler has stopped.
func (r *reconciler) closeVMACs() {
	r.mu.Lock()
	vb := r.vmacB
	r.vmacB = nil
	r.mu.Unlock()
	if vb != nil {
		vb.Close()
	}
}

// ensureVMACs creates the wanted macvlans that are not held (all of them on a
// resync, to find those deleted from outside), sets their sysctls, and has the
// socket on one that was re-created reopened. It runs before the VIPs are added.
func (r *reconciler) ensureVMACs(ctx context.Context, reread bool) error {
	r.mu.Lock()
	vb, want := r.vmacB, r.vmacWant
	reread = reread || r.vmacResync
	r.vmacResync = false
	r.mu.Unlock()
	if vb == nil {
		return nil
	}
	if r.vmacHave == nil {
		r.vmacHave = map[string]heldVMAC{}
		r.parents = map[string]*savedParent{}
	}
	var errs []error
	if !r.vmacSwept {
		errs = append(errs, r.sweepVMACs(ctx, vb, want))
	}
	// The drift check reads the kernel's interfaces once and makes sure only of
	// the held macvlans that are gone, down or changed (a link dump per macvlan at
	// every check would not scale to a thousand instances).
	var links map[string]vmacLink
	if reread && len(r.vmacHave) > 0 {
		var err error
		if links, err = vb.Links(); err != nil {
			links = nil // make sure of every one
		}
	}
	for _, s := range want {
		h, held := r.vmacHave[s.m.Name]
		same := held && h.index != 0 && h.s.m.Parent == s.m.Parent && string(h.s.m.MAC) == string(s.m.MAC) && h.s.src == s.src
		if same && !reread {
			continue
		}
		if l, ok := links[s.m.Name]; same && ok && l.index == h.index && l.up && l.mac == string(s.m.MAC) {
			continue
		}
		if held && (h.s.m.Parent != s.m.Parent || string(h.s.m.MAC) != string(s.m.MAC)) {
			// Same name, another parent or MAC (a reload): delete the old one first.
			if err := r.deleteVMAC(ctx, vb, h); err != nil {
				errs = append(errs, err)
				continue
			}
			held = false
		}
		cctx, cancel := context.WithTimeout(ctx, r.vipTimeout)
		index, err := vb.Ensure(cctx, s.m)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("director: vrrp_instance %s: use_vmac: %w", s.inst, err))
			if held {
				// Try again at the next reconcile; index 0 has the socket reopened
				// once it is there again.
				r.vmacHave[s.m.Name] = heldVMAC{s: h.s}
			}
			continue
		}
		if !held {
			r.log.Info("macvlan ready", "interface", s.m.Name, "parent", s.m.Parent, "mac", s.m.MAC.String(), "instance", s.inst)
		}
		if held && h.index != index {
			r.log.Warn("macvlan was deleted from outside; created it again", "interface", s.m.Name, "instance", s.inst)
			if r.reopen != nil {
				if err := r.reopen(s.m.Name); err != nil {
					errs = append(errs, err)
					index = 0 // reopen at the next reconcile
				}
			}
		}
		r.vmacHave[s.m.Name] = heldVMAC{s: s, index: index}
		if s.src.IsValid() {
			// As keepalived, a /64 (the macvlan's own address generation is off).
			cctx, cancel := context.WithTimeout(ctx, r.vipTimeout)
			err := vb.AddAddress(cctx, s.m.Name, netip.PrefixFrom(s.src, 64))
			cancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("director: vrrp_instance %s: source address on %s: %w", s.inst, s.m.Name, err))
			}
		}
		if !s.v6 {
			if r.rpf == nil {
				rpf, err := clearRPFilter(vb)
				r.rpf = rpf
				errs = append(errs, err)
			}
			errs = append(errs, r.vmacSysctls(vb, s))
		}
	}
	r.publishVMACs()
	return errors.Join(errs...)
}

// sweepVMACs deletes the macvlans an earlier run left (they carry vmacAlias) that
// are not wanted as they are; a wanted one is reused. It runs once, at the first
// reconcile that can list them.
func (r *reconciler) sweepVMACs(ctx context.Context, vb vmacBackend, want []vmacSpec) error {
	cctx, cancel := context.WithTimeout(ctx, r.vipTimeout)
	left, err := vb.List(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("director: listing macvlans left by an earlier run: %w", err)
	}
	r.vmacSwept = true
	var errs []error
	for _, m := range left {
		if slices.ContainsFunc(want, func(s vmacSpec) bool {
			return s.m.Name == m.Name && s.m.Parent == m.Parent && string(s.m.MAC) == string(m.MAC)
		}) {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, r.vipTimeout)
		err := vb.Delete(cctx, m)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("director: deleting macvlan %s left by an earlier run: %w", m.Name, err))
			continue
		}
		r.log.Info("removed a stale macvlan left by an earlier run", "interface", m.Name, "parent", m.Parent)
	}
	return errors.Join(errs...)
}

// vmacSysctls sets keepalived's sysctls on an IPv4 macvlan and its parent, saving
// the parent's values the first time.
func (r *reconciler) vmacSysctls(vb vmacBackend, s vmacSpec) error {
	var errs []error
	for _, sc := range vmacSysctls {
		if err := vb.SetSysctl(ipv4Conf(s.m.Name, sc.key), sc.v); err != nil {
			errs = append(errs, fmt.Errorf("director: macvlan %s: %w", s.m.Name, err))
		}
	}
	// No IPv6 on an IPv4 instance's macvlan (keepalived's link_set_ipv6); a kernel
	// without IPv6 has nothing to turn off.
	if err := vb.SetSysctl("net/ipv6/conf/"+s.m.Name+"/disable_ipv6", 1); err != nil && !errors.Is(err, errNoSysctl) {
		errs = append(errs, fmt.Errorf("director: macvlan %s: %w", s.m.Name, err))
	}
	p := r.parents[s.m.Parent]
	if p == nil {
		p = &savedParent{vals: map[string]int{}}
		for _, k := range parentSysctls {
			v, err := vb.Sysctl(ipv4Conf(s.m.Parent, k))
			if err != nil {
				errs = append(errs, fmt.Errorf("director: macvlan %s: parent %s: %w", s.m.Name, s.m.Parent, err))
				continue
			}
			p.vals[k] = v
		}
		r.parents[s.m.Parent] = p
	}
	for _, k := range parentSysctls {
		if err := vb.SetSysctl(ipv4Conf(s.m.Parent, k), 1); err != nil {
			errs = append(errs, fmt.Errorf("director: macvlan %s: parent %s: %w", s.m.Name, s.m.Parent, err))
		}
	}
	return errors.Join(errs...)
}

// errNoSysctl is what a vmacBackend's SetSysctl wraps when the sysctl does not exist.
var errNoSysctl = errors.New("no such sysctl")

// dropVMACs deletes the held macvlans no longer wanted, and puts back the sysctls of
// a parent left without any. It runs after the VIPs are removed.
func (r *reconciler) dropVMACs(ctx context.Context) error {
	r.mu.Lock()
	vb, want := r.vmacB, r.vmacWant
	r.mu.Unlock()
	if vb == nil || len(r.vmacHave) == 0 {
		return nil
	}
	var errs []error
	names := make([]string, 0, len(r.vmacHave))
	for name := range r.vmacHave {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if slices.ContainsFunc(want, func(s vmacSpec) bool { return s.m.Name == name }) {
			continue
		}
		errs = append(errs, r.deleteVMAC(ctx, vb, r.vmacHave[name]))
	}
	r.publishVMACs()
	return errors.Join(errs...)
}

// deleteVMAC deletes a held macvlan and, when it was its parent's last IPv4 one,
// puts back the parent's sysctls.
func (r *reconciler) deleteVMAC(ctx context.Context, vb vmacBackend, h heldVMAC) error {
	cctx, cancel := context.WithTimeout(ctx, r.vipTimeout)
	err := vb.Delete(cctx, h.s.m)
	cancel()
	if err != nil {
		return fmt.Errorf("director: deleting macvlan %s: %w", h.s.m.Name, err)
	}
	r.log.Info("macvlan deleted", "interface", h.s.m.Name, "instance", h.s.inst)
	delete(r.vmacHave, h.s.m.Name)
	if r.rpf != nil && !r.holdsIPv4VMAC() {
		err = r.rpf.restore(vb)
		r.rpf = nil
	}
	for _, o := range r.vmacHave {
		if o.s.m.Parent == h.s.m.Parent && !o.s.v6 {
			return err // an IPv4 macvlan still needs the parent's settings
		}
	}
	errs := []error{err}
	p := r.parents[h.s.m.Parent]
	delete(r.parents, h.s.m.Parent)
	if p == nil {
		return errors.Join(errs...)
	}
	for _, k := range parentSysctls {
		if v, ok := p.vals[k]; ok {
			if err := vb.SetSysctl(ipv4Conf(h.s.m.Parent, k), v); err != nil && !errors.Is(err, errNoSysctl) {
				errs = append(errs, fmt.Errorf("director: restoring %s on %s: %w", k, h.s.m.Parent, err))
			}
		}
	}
	return errors.Join(errs...)
}

// holdsIPv4VMAC reports whether an IPv4 instance's macvlan is held.
func (r *reconciler) holdsIPv4VMAC() bool {
	for _, h := range r.vmacHave {
		if !h.s.v6 {
			return true
		}
	}
	return false
}

// publishVMACs records the names of the held macvlans for setVMACs.
func (r *reconciler) publishVMACs() {
	names := make([]string, 0, len(r.vmacHave))
	for name := range r.vmacHave {
		names = append(names, name)
	}
	r.mu.Lock()
	r.vmacKnown = names
	r.mu.Unlock()
}

// applyVMACs gives the reconciler cfg's macvlans, opening the backend when the
// first is wanted, and runs a reconcile when one is new so that it exists before
// the VRRP runtime opens a socket on it. The macvlans cfg no longer wants stay
// wanted until the caller, once the Routers on them have stopped, hands the
// returned list to setVMACs. opMu is held.
func (d *daemon) applyVMACs(cfg *kaconf.Config) ([]vmacSpec, error) {
	want := vmacsOf(cfg)
	var errs []error
	for i := range want {
		in := cfg.Instance(want[i].inst)
		if !want[i].v6 || in.VMAC.XmitBase {
			continue
		}
		// The source address the VRRP runtime gives the instance's Router.
		src := configuredPrimary(in)
		if !src.IsValid() {
			var err error
			if src, err = d.deps.primary(in.Interface, true); err != nil {
				errs = append(errs, fmt.Errorf("%s: vrrp_instance %s: use_vmac: %w", in.Pos, in.Name, err))
				continue
			}
		}
		want[i].src = src
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// The backend is opened with the first instance, use_vmac or not, so that the
	// first reconcile removes the macvlans a crashed run left.
	var vb vmacBackend
	if len(cfg.Instances) > 0 && !d.rec.hasVMACBackend() {
		var err error
		switch {
		case d.deps.vmacs != nil:
			vb, err = d.deps.vmacs()
		case len(want) > 0:
			err = errors.New("not supported on this system")
		}
		if err != nil && len(want) > 0 {
			return nil, fmt.Errorf("director: use_vmac: %w", err)
		}
		if err != nil {
			d.log.Warn("no macvlan backend: macvlans left by an earlier run are not removed", "err", err)
		}
	}
	prev, held := d.rec.wantedVMACs()
	both := slices.Clone(want)
	for _, s := range prev {
		if !slices.ContainsFunc(both, func(w vmacSpec) bool { return w.m.Name == s.m.Name }) {
			both = append(both, s)
		}
	}
	d.rec.setVMACs(vb, both)
	if slices.ContainsFunc(want, func(s vmacSpec) bool { return !slices.Contains(held, s.m.Name) }) {
		return want, d.rec.sync()
	}
	return want, nil
}

// rpFilter is what clearRPFilter changed, for restore.
type rpFilter struct {
	all    int            // all.rp_filter before; 0: nothing was changed
	dflt   int            // default.rp_filter before, -1 when unchanged
	ifaces map[string]int // interfaces raised to all's value, with their values before
}

// clearRPFilter lets rp_filter=0 on a macvlan take effect, as keepalived's
// clear_rp_filter: with all.rp_filter N > 0, default and every interface below N are
// raised to N (so that nothing else changes behaviour), then all is set to 0.
func clearRPFilter(vb vmacBackend) (*rpFilter, error) {
	all, err := vb.Sysctl(ipv4Conf("all", "rp_filter"))
	if err != nil {
		return &rpFilter{dflt: -1}, fmt.Errorf("director: use_vmac: %w", err)
	}
	rp := &rpFilter{all: all, dflt: -1, ifaces: map[string]int{}}
	if all == 0 {
		return rp, nil
	}
	var errs []error
	if d, err := vb.Sysctl(ipv4Conf("default", "rp_filter")); err == nil && d < all {
		if err := vb.SetSysctl(ipv4Conf("default", "rp_filter"), all); err == nil {
			rp.dflt = d
		} else {
			errs = append(errs, err)
		}
	}
	ifs, err := vb.Interfaces()
	errs = append(errs, err)
	for _, name := range ifs {
		v, err := vb.Sysctl(ipv4Conf(name, "rp_filter"))
		if err != nil || v >= all {
			continue
		}
		if err := vb.SetSysctl(ipv4Conf(name, "rp_filter"), all); err != nil {
			errs = append(errs, err)
			continue
		}
		rp.ifaces[name] = v
	}
	errs = append(errs, vb.SetSysctl(ipv4Conf("all", "rp_filter"), 0))
	if err := errors.Join(errs...); err != nil {
		return rp, fmt.Errorf("director: use_vmac: clearing all.rp_filter: %w", err)
	}
	return rp, nil
}

// restore puts back what clearRPFilter changed, each value only if it is still the
// one the director set.
func (rp *rpFilter) restore(vb vmacBackend) error {
	if rp.all == 0 {
		return nil
	}
	var errs []error
	if v, err := vb.Sysctl(ipv4Conf("all", "rp_filter")); err == nil && v == 0 {
		errs = append(errs, vb.SetSysctl(ipv4Conf("all", "rp_filter"), rp.all))
	}
	if rp.dflt >= 0 {
		if v, err := vb.Sysctl(ipv4Conf("default", "rp_filter")); err == nil && v == rp.all {
			errs = append(errs, vb.SetSysctl(ipv4Conf("default", "rp_filter"), rp.dflt))
		}
	}
	for name, old := range rp.ifaces {
		if v, err := vb.Sysctl(ipv4Conf(name, "rp_filter")); err == nil && v == rp.all {
			if err := vb.SetSysctl(ipv4Conf(name, "rp_filter"), old); err != nil && !errors.Is(err, errNoSysctl) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("director: restoring rp_filter: %w", err)
	}
	return nil
}
