package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

var (
	mcast4 = vrrp.MulticastIPv4
	mcast6 = vrrp.MulticastIPv6
)

// isIPv6 reports the address family of an instance: that of its source address if
// one is set, else of its first virtual address, else of its first unicast peer.
func isIPv6(in *kaconf.Instance) bool {
	switch {
	case in.McastSrcIP.IsValid():
		return in.McastSrcIP.Is6()
	case in.UnicastSrcIP.IsValid():
		return in.UnicastSrcIP.Is6()
	case len(in.VIPs) > 0:
		return in.VIPs[0].Prefix.Addr().Is6()
	case len(in.UnicastPeers) > 0:
		return in.UnicastPeers[0].Is6()
	}
	return false
}

// configuredPrimary is the source address the file sets, or the zero Addr.
func configuredPrimary(in *kaconf.Instance) netip.Addr {
	if in.UnicastSrcIP.IsValid() && len(in.UnicastPeers) > 0 {
		return in.UnicastSrcIP
	}
	if in.McastSrcIP.IsValid() {
		return in.McastSrcIP
	}
	return in.UnicastSrcIP
}

// netipZeroPrimary is a stand-in primary address for validating an instance before
// its interface is looked at.
func netipZeroPrimary(in *kaconf.Instance) netip.Addr {
	if p := configuredPrimary(in); p.IsValid() {
		return p
	}
	if isIPv6(in) {
		return netip.MustParseAddr("fe80::1")
	}
	return netip.MustParseAddr("192.0.2.1")
}

// vrrpConfig translates a vrrp_instance into the engine's Config. Trackers come in
// the order track_script, then track_interface; see trackers.
func vrrpConfig(cfg *kaconf.Config, in *kaconf.Instance, primary netip.Addr) (vrrp.Config, error) {
	if in.Interface == "" {
		return vrrp.Config{}, fmt.Errorf("interface is required by the director")
	}
	if err := checkVMAC(in); err != nil {
		return vrrp.Config{}, err
	}
	c := vrrp.Config{
		Name:                  in.Name,
		Version:               in.Version,
		VRID:                  uint8(in.VRID),
		Priority:              uint8(in.Priority),
		AdvertInterval:        in.AdvertInt,
		Primary:               primary,
		Peers:                 slices.Clone(in.UnicastPeers),
		NoPreempt:             in.Nopreempt,
		PreemptDelay:          in.PreemptDelay,
		StartAsMaster:         startAsMaster(cfg, in),
		AcceptMode:            in.Accept && in.Version == 3,
		NoLowerPriorityAdvert: in.LowerPrioNoAdvert, // global, or strict mode (kaconf)
	}
	if c.NoPreempt {
		c.PreemptDelay = 0 // keepalived ignores preempt_delay with nopreempt; the engine refuses it
	}
	if in.Auth != nil && in.Version == 2 { // keepalived ignores authentication in VRRPv3
		if in.Auth.Type != kaconf.AuthPass {
			return vrrp.Config{}, fmt.Errorf("auth_type %s is not supported (only PASS)", in.Auth.Type)
		}
		p := in.Auth.Pass
		if len(p) > vrrp.AuthDataLen {
			p = p[:vrrp.AuthDataLen] // keepalived uses the first 8 bytes
		}
		c.AuthPass = p
	}
	for _, v := range in.VIPs {
		if v.Prefix.Addr().Is6() != primary.Is6() {
			return vrrp.Config{}, fmt.Errorf("%s: virtual address %v is not of the instance's address family", v.Pos, v.Prefix)
		}
		c.Addrs = append(c.Addrs, v.Prefix.Addr())
	}
	for _, t := range trackers(cfg, in) {
		c.Trackers = append(c.Trackers, t.cfg)
	}
	if err := c.Validate(); err != nil {
		return vrrp.Config{}, err
	}
	return c, nil
}

// startAsMaster is keepalived 2.2.7's initial state for an instance: MASTER as
// written (state MASTER, which the reader leaves without nopreempt), except in a sync
// group where a member wants MASTER and any member, that one included, is BACKUP or
// not the address owner (priority 255): there every member starts BACKUP (vrrp.c
// vrrp_complete_init, seen in its data dump as "Wantstate = BACKUP").
func startAsMaster(cfg *kaconf.Config, in *kaconf.Instance) bool {
	if in.State != kaconf.StateMaster || in.Nopreempt {
		return false
	}
	g := syncGroupOf(cfg, in.Name)
	if g == nil {
		return true
	}
	for _, name := range g.Group {
		if m := cfg.Instance(name); m != nil && (m.State != kaconf.StateMaster || m.Priority != 255) {
			return false
		}
	}
	return true
}

// tracker is one vrrp.TrackerConfig of an instance and how to feed it.
type tracker struct {
	cfg vrrp.TrackerConfig
	// script or iface names what feeds it.
	script, iface string
	// invert feeds the opposite of the result (keepalived's "reverse").
	invert bool
	// file is set for a track_file line (trackfile.go).
	file *fileTrack
	// proc names the vrrp_track_process of a track_process line (trackproc.go).
	proc string
}

// trackers lists an instance's trackers: its track_script lines, then its
// track_interface lines. keepalived's "weight N reverse" becomes a tracker of weight
// -N fed with inverted results, which adjusts the priority the same way.
func trackers(cfg *kaconf.Config, in *kaconf.Instance) []tracker {
	var out []tracker
	for _, ts := range in.TrackScripts {
		s := cfg.Script(ts.Name)
		if s == nil {
			continue
		}
		w := ts.Weight
		if ts.Reverse {
			w = -w
		}
		out = append(out, tracker{
			cfg: vrrp.TrackerConfig{Name: "script:" + ts.Name, Weight: w, Rise: s.Rise, Fall: s.Fall,
				InitiallyDown: s.InitFail != ts.Reverse},
			script: ts.Name, invert: ts.Reverse,
		})
	}
	for _, ti := range in.TrackInterfaces {
		w := ti.Weight
		if ti.Reverse {
			w = -w
		}
		out = append(out, tracker{cfg: vrrp.TrackerConfig{Name: "interface:" + ti.Name, Weight: w},
			iface: ti.Name, invert: ti.Reverse})
	}
	out = append(out, fileTrackers(cfg, in)...)
	out = append(out, procTrackers(cfg, in)...)
	return out
}

// vipAddresses are the addresses an instance adds as MASTER: virtual_ipaddress and
// virtual_ipaddress_excluded.
func vipAddresses(in *kaconf.Instance) []vip.Address {
	var out []vip.Address
	for _, l := range [][]kaconf.VIP{in.VIPs, in.ExcludedVIPs} {
		for _, v := range l {
			out = append(out, vipAddress(v, vipIface(in, v)))
		}
	}
	return out
}

// vipAddress is v as an address on dev.
func vipAddress(v kaconf.VIP, dev string) vip.Address {
	a := vip.Address{Interface: dev, Prefix: v.Prefix, Label: v.Label}
	switch v.Scope {
	case "site":
		a.Scope = vip.ScopeSite
	case "link":
		a.Scope = vip.ScopeLink
	case "host":
		a.Scope = vip.ScopeHost
	case "nowhere":
		a.Scope = 255
	}
	return a
}

// garpPolicy is the announcement policy of an instance: keepalived's garp_master_*
// settings (already defaulted from vrrp_garp_* by the reader) and vrrp_garp_interval
// (vrrp_gna_interval for IPv6).
func garpPolicy(cfg *kaconf.Config, in *kaconf.Instance, v6 bool) vip.Policy {
	p := vip.Policy{Count: in.GARPMasterRepeat, RepeatDelay: in.GARPMasterDelay, RepeatCount: in.GARPMasterRepeat,
		Interval: cfg.Global.VRRPGARPInterval, Refresh: in.GARPMasterRefresh}
	if v6 {
		p.Interval = cfg.Global.VRRPGNAInterval
	}
	if p.Count <= 0 {
		p.Count = 1
	}
	return p
}

// routerKey names the vrrp.Router that runs an instance: its sync group's, or its own.
func routerKey(cfg *kaconf.Config, name string) string {
	for _, g := range cfg.SyncGroups {
		if slices.Contains(g.Group, name) {
			return "group:" + g.Name
		}
	}
	return "instance:" + name
}

// syncGroupOf returns the sync group an instance belongs to, or nil.
func syncGroupOf(cfg *kaconf.Config, name string) *kaconf.SyncGroup {
	for i := range cfg.SyncGroups {
		if slices.Contains(cfg.SyncGroups[i].Group, name) {
			return &cfg.SyncGroups[i]
		}
	}
	return nil
}

// transportKey identifies a transport: instances with equal keys share one socket.
type transportKey struct {
	iface string
	v6    bool
	peers string
}

func keyOf(in *kaconf.Instance) transportKey {
	var ps []string
	for _, p := range in.UnicastPeers {
		ps = append(ps, p.String())
	}
	slices.Sort(ps)
	return transportKey{iface: vrrpIface(in), v6: isIPv6(in), peers: strings.Join(ps, ",")}
}
