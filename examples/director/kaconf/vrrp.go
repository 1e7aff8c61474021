package kaconf

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Global defaults (keepalived.conf(5) unless noted).
const (
	defaultSMTPPort           = 25
	defaultSMTPConnectTimeout = 30 * time.Second
	defaultVRRPVersion        = 2
	defaultGARPMasterDelay    = 5 * time.Second
	defaultGARPMasterRepeat   = 5
	defaultGARPRefreshRepeat  = 1
	defaultPriority           = 100
	ownerPriority             = 255
	defaultAdvertInt          = time.Second
	defaultScriptInterval     = time.Second
	defaultDelayLoop          = 60 * time.Second
	defaultConnectTimeout     = 5 * time.Second
	defaultQuorum             = 1
	defaultPersistence        = 360 * time.Second
	defaultScheduler          = "wlc"
)

var (
	defaultMcastGroup4 = netip.MustParseAddr("224.0.0.18")
	defaultMcastGroup6 = netip.MustParseAddr("ff02::12")
)

// globalRaw is global_defs while it is read.
type globalRaw struct {
	g Global
}

func globalTable() table[globalRaw] {
	return auditGlobal(table[globalRaw]{
		"router_id": strEntry(func(t *globalRaw, s string) { t.g.RouterID = s }),
		"notification_email": listEntry(func(d *decoder, n *node, t *globalRaw) {
			if len(n.args) != 0 {
				d.errf(n, ErrSyntax, "one address per line in notification_email")
				return
			}
			t.g.NotificationEmail = append(t.g.NotificationEmail, n.key)
		}),
		"notification_email_from": strEntry(func(t *globalRaw, s string) { t.g.NotificationEmailFrom = s }),
		"smtp_server": {min: 1, max: 2, fn: func(d *decoder, n *node, t *globalRaw) {
			t.g.SMTPServer = n.arg(0)
			t.g.SMTPPort = defaultSMTPPort
			// host:port and [v6]:port in one word, besides keepalived's "host port"; a
			// bare IPv6 address (several colons) is a host.
			if h, p, err := net.SplitHostPort(n.arg(0)); err == nil && len(n.args) == 1 {
				if port, ok := d.port(n, p); ok {
					t.g.SMTPServer, t.g.SMTPPort = h, port
				}
			} else if len(n.args) == 2 {
				if p, ok := d.port(n, n.arg(1)); ok {
					t.g.SMTPPort = p
				}
			}
		}},
		"smtp_helo_name":       strEntry(func(t *globalRaw, s string) { t.g.SMTPHeloName = s }),
		"smtp_connect_timeout": wholeSecEntry(1, 3600, func(t *globalRaw, v time.Duration) { t.g.SMTPConnectTimeout = v }),
		"smtp_alert":           flagEntry(func(t *globalRaw, b bool) { t.g.SMTPAlert = boolPtr(b) }),
		"smtp_alert_vrrp":      flagEntry(func(t *globalRaw, b bool) { t.g.SMTPAlertVRRP = boolPtr(b) }),
		"smtp_alert_checker":   flagEntry(func(t *globalRaw, b bool) { t.g.SMTPAlertChecker = boolPtr(b) }),
		"no_email_faults":      bareEntry(func(t *globalRaw) { t.g.NoEmailFaults = true }),
		"lvs_sync_daemon":      {min: 1, max: 13, fn: lvsSyncDaemon},
		"lvs_flush":            bareEntry(func(t *globalRaw) { t.g.LVSFlush = true }),
		"lvs_timeouts":         {min: 2, max: 6, fn: lvsTimeouts},
		"vrrp_version":         intEntry(2, 3, func(t *globalRaw, v int) { t.g.VRRPVersion = v }),
		"vrrp_mcast_group4":    addrEntry(func(t *globalRaw, a netip.Addr) { t.g.VRRPMcastGroup4 = a }),
		"vrrp_mcast_group6":    addrEntry(func(t *globalRaw, a netip.Addr) { t.g.VRRPMcastGroup6 = a }),
		"vrrp_garp_master_delay": wholeSecEntry(0, 1000, func(t *globalRaw, v time.Duration) {
			t.g.VRRPGARPMasterDelay = v
		}),
		"vrrp_garp_master_repeat": intEntry(0, 1000, func(t *globalRaw, v int) { t.g.VRRPGARPMasterRepeat = v }),
		"vrrp_garp_lower_prio_delay": wholeSecEntry(0, 1000, func(t *globalRaw, v time.Duration) {
			t.g.VRRPGARPLowerPrioDelay = v
		}),
		"vrrp_garp_lower_prio_repeat": intEntry(0, 1000, func(t *globalRaw, v int) { t.g.VRRPGARPLowerPrioRepeat = v }),
		"vrrp_garp_master_refresh": wholeSecEntry(0, 86400, func(t *globalRaw, v time.Duration) {
			t.g.VRRPGARPMasterRefresh = v
		}),
		"vrrp_garp_master_refresh_repeat": intEntry(1, 1000, func(t *globalRaw, v int) { t.g.VRRPGARPMasterRefreshRepeat = v }),
		"vrrp_garp_interval":              {min: 1, max: 1, fn: garpInterval(func(t *globalRaw, v time.Duration) { t.g.VRRPGARPInterval = v })},
		"vrrp_gna_interval":               {min: 1, max: 1, fn: garpInterval(func(t *globalRaw, v time.Duration) { t.g.VRRPGNAInterval = v })},
		"vrrp_min_garp":                   flagEntry(func(t *globalRaw, b bool) { t.g.VRRPMinGARP = b }),
		// keepalived 2.2.7's handlers of these three set them whatever follows
		// (global_parser.c): "vrrp_strict false" turns strict mode on.
		"vrrp_skip_check_adv_addr":         ignoredArgs(func(t *globalRaw) { t.g.VRRPSkipCheckAdvAddr = true }),
		"vrrp_strict":                      ignoredArgs(func(t *globalRaw) { t.g.VRRPStrict = true }),
		"vrrp_check_unicast_src":           ignoredArgs(func(t *globalRaw) { t.g.VRRPCheckUnicastSrc = true }),
		"vrrp_higher_prio_send_advert":     higherPrioEntry(func(t *globalRaw, b bool) { t.g.VRRPHigherPrioSendAdvert = b }),
		"vrrp_lower_prio_no_advert":        flagEntry(func(t *globalRaw, b bool) { t.g.VRRPLowerPrioNoAdvert = b }),
		"vrrp_rt_priority":                 rtPriorityEntry(),
		"vrrp_rlimit_rttime":               rlimitRTTimeEntry(),
		"vrrp_rlimit_rtime":                rlimitRTTimeEntry(),
		"max_auto_priority":                maxAutoPriorityEntry(),
		"enable_script_security":           ignoredArgs(func(t *globalRaw) { t.g.EnableScriptSecurity = true }),
		"default_interface":                strEntry(func(t *globalRaw, s string) { t.g.DefaultInterface = s }),
		"notify_fifo":                      fifoPath(fifoAll),
		"notify_fifo_script":               fifoScript(fifoAll),
		"vrrp_notify_fifo":                 fifoPath(fifoVRRP),
		"vrrp_notify_fifo_script":          fifoScript(fifoVRRP),
		"lvs_notify_fifo":                  fifoPath(fifoLVS),
		"fifo_write_vrrp_states_on_reload": bareEntry(func(t *globalRaw) { t.g.FIFOWriteVRRPStatesOnReload = true }),
		"lvs_notify_fifo_script":           fifoScript(fifoLVS),
		"script_user": {min: 1, max: 2, fn: func(_ *decoder, n *node, t *globalRaw) {
			t.g.ScriptUser = n.arg(0)
			if len(n.args) == 2 {
				t.g.ScriptGroup = n.arg(1)
			}
		}},
	})
}

// garpInterval reads vrrp_garp_interval / vrrp_gna_interval. keepalived 2.2.7 rejects
// 0 (its range starts at 0.000001) but 0 is also its default, so the reader takes 0 as
// written and only warns.
func garpInterval(set func(*globalRaw, time.Duration)) func(*decoder, *node, *globalRaw) {
	return func(d *decoder, n *node, t *globalRaw) {
		v, ok := d.seconds(n, n.arg(0), 0, 4294967295*time.Microsecond)
		if !ok {
			return
		}
		if v == 0 {
			d.warn(n, "keepalived 2.2.7 rejects 0 (its range is 0.000001..4294.967295) and ignores the line; "+
				"its default is no delay, so read as 0, no delay")
		}
		set(t, v)
	}
}

func lvsSyncDaemon(d *decoder, n *node, t *globalRaw) {
	sd := &SyncDaemon{Interface: n.arg(0), SyncID: -1}
	args := n.args[1:]
	if len(args) > 0 && !isSyncDaemonOption(args[0].text) {
		sd.Instance = args[0].text
		args = args[1:]
	}
	for len(args) > 0 {
		if len(args) < 2 {
			d.errf(n, ErrSyntax, "option %q needs a value", args[0].text)
			return
		}
		opt, val := args[0].text, args[1].text
		args = args[2:]
		var ok bool
		switch opt {
		case "inst":
			sd.Instance, ok = val, true
		case "id":
			sd.SyncID, ok = d.integer(n, val, 0, 255)
		case "maxlen":
			sd.MaxLen, ok = d.integer(n, val, 1, 65507)
		case "port":
			var p int
			p, ok = d.integer(n, val, 1, 65535)
			sd.Port = uint16(p)
		case "ttl":
			sd.TTL, ok = d.integer(n, val, 1, 255)
		case "group":
			sd.Group, ok = d.addr(n, val)
		default:
			d.errf(n, ErrUnknownKeyword, "unknown option %q", opt)
		}
		if !ok {
			return
		}
	}
	t.g.LVSSyncDaemon = sd
}

// lvsTimeoutMax is keepalived's LVS_MAX_TIMEOUT.
const lvsTimeoutMax = 86400 * 31

// lvsTimeouts reads lvs_timeouts: option-value pairs, each option at most once
// meaningful (a later one wins, as in keepalived).
func lvsTimeouts(d *decoder, n *node, t *globalRaw) {
	args := n.args
	for len(args) > 0 {
		if len(args) < 2 {
			d.errf(n, ErrSyntax, "option %q needs a value", args[0].text)
			return
		}
		opt, val := args[0].text, args[1].text
		args = args[2:]
		var dst *time.Duration
		switch opt {
		case "tcp":
			dst = &t.g.LVSTimeouts.TCP
		case "tcpfin":
			dst = &t.g.LVSTimeouts.TCPFin
		case "udp":
			dst = &t.g.LVSTimeouts.UDP
		default:
			d.errf(n, ErrUnknownKeyword, "unknown option %q (tcp, tcpfin or udp)", opt)
			return
		}
		v, ok := d.integer(n, val, 0, lvsTimeoutMax)
		if !ok {
			return
		}
		*dst = time.Duration(v) * time.Second
	}
}

func isSyncDaemonOption(s string) bool {
	switch s {
	case "inst", "id", "maxlen", "port", "ttl", "group":
		return true
	}
	return false
}

// resolveGlobal fills the defaults that depend on what was written.
func resolveGlobal(g *Global, s seen) {
	if _, ok := s["smtp_connect_timeout"]; !ok {
		g.SMTPConnectTimeout = defaultSMTPConnectTimeout
	}
	if _, ok := s["vrrp_version"]; !ok {
		g.VRRPVersion = defaultVRRPVersion
	}
	if _, ok := s["vrrp_mcast_group4"]; !ok {
		g.VRRPMcastGroup4 = defaultMcastGroup4
	}
	if _, ok := s["vrrp_mcast_group6"]; !ok {
		g.VRRPMcastGroup6 = defaultMcastGroup6
	}
	// vrrp_min_garp means one GARP and no second burst, unless set explicitly.
	delay, repeat := defaultGARPMasterDelay, defaultGARPMasterRepeat
	if g.VRRPMinGARP {
		delay, repeat = 0, 1
	}
	if _, ok := s["vrrp_garp_master_delay"]; !ok {
		g.VRRPGARPMasterDelay = delay
	}
	if _, ok := s["vrrp_garp_master_repeat"]; !ok {
		g.VRRPGARPMasterRepeat = repeat
	}
	if _, ok := s["vrrp_garp_lower_prio_delay"]; !ok {
		g.VRRPGARPLowerPrioDelay = g.VRRPGARPMasterDelay
	}
	if _, ok := s["vrrp_garp_lower_prio_repeat"]; !ok {
		g.VRRPGARPLowerPrioRepeat = g.VRRPGARPMasterRepeat
	}
	if _, ok := s["vrrp_garp_master_refresh_repeat"]; !ok {
		g.VRRPGARPMasterRefreshRepeat = defaultGARPRefreshRepeat
	}
}

// scriptRaw is a vrrp_script while it is read.
type scriptRaw struct {
	s    Script
	seq  int
	seen seen
}

func scriptTable() table[scriptRaw] {
	return table[scriptRaw]{
		"script": cmdEntry(func(t *scriptRaw, c *Command) {
			// A later user line keeps its user and group.
			c.User, c.Group = orStr(c.User, t.s.Command.User), orStr(c.Group, t.s.Command.Group)
			t.s.Command = *c
		}),
		"interval": wholeSecEntry(1, 86400, func(t *scriptRaw, v time.Duration) { t.s.Interval = v }),
		"timeout":  wholeSecEntry(1, 86400, func(t *scriptRaw, v time.Duration) { t.s.Timeout = v }),
		"weight": {min: 1, max: 2, fn: func(d *decoder, n *node, t *scriptRaw) {
			w, ok := d.integer(n, n.arg(0), -253, 253)
			if !ok {
				return
			}
			t.s.Weight, t.s.Reverse = w, false
			if len(n.args) == 2 {
				if n.arg(1) != "reverse" {
					d.errf(n, ErrValue, "%q is not reverse", n.arg(1))
					return
				}
				t.s.Reverse = true
			}
		}},
		"rise": intEntry(1, 1<<30, func(t *scriptRaw, v int) { t.s.Rise = v }),
		"fall": intEntry(1, 1<<30, func(t *scriptRaw, v int) { t.s.Fall = v }),
		"user": {min: 1, max: 2, fn: func(_ *decoder, n *node, t *scriptRaw) {
			t.s.Command.User = n.arg(0)
			t.s.Command.Group = ""
			if len(n.args) == 2 {
				t.s.Command.Group = n.arg(1)
			}
		}},
		"init_fail": bareEntry(func(t *scriptRaw) { t.s.InitFail = true }),
	}
}

func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func resolveScript(d *decoder, n *node, r *scriptRaw) bool {
	if _, ok := r.seen["script"]; !ok {
		d.errf(n, ErrValue, "vrrp_script %s has no script", r.s.Name)
		return false
	}
	if _, ok := r.seen["interval"]; !ok {
		r.s.Interval = defaultScriptInterval
	}
	if _, ok := r.seen["timeout"]; !ok {
		r.s.Timeout = r.s.Interval
	}
	if _, ok := r.seen["rise"]; !ok {
		r.s.Rise = 1
	}
	if _, ok := r.seen["fall"]; !ok {
		r.s.Fall = 1
	}
	return true
}

// trackRef remembers where a track_script line was, for the order check.
type trackRef struct {
	n         *node
	weightSet bool
}

// weightRef is the shape shared by the track_file and track_process lines of
// instances and sync groups.
type weightRef = struct {
	Pos     Pos
	Name    string
	Weight  int
	Reverse bool
}

// resolveWeightRefs checks the lines of one kind (track_file, track_process) that
// owner tracks against their top-level definitions (target says which): a line
// naming none is an error, a second line for one name is ignored with a warning, as
// keepalived 2.2.7, and a line without a weight takes the definition's (lookup).
func resolveWeightRefs[R ~weightRef](d *decoder, kind, target, owner string, refs []R, raw []trackRef, lookup func(name string) (weight int, reverse, ok bool)) []R {
	var out []R
	seen := map[string]bool{}
	for i, r := range refs {
		ref := weightRef(r)
		n := raw[i].n
		weight, reverse, ok := lookup(ref.Name)
		if !ok {
			d.errf(n, ErrReference, "%s %s in %s names no %s", kind, ref.Name, owner, target)
			continue
		}
		if seen[ref.Name] {
			d.warn(n, fmt.Sprintf("%s %s is tracked twice by %s: keepalived 2.2.7 ignores the second (read the same way)", kind, ref.Name, owner))
			continue
		}
		seen[ref.Name] = true
		if !raw[i].weightSet {
			ref.Weight, ref.Reverse = weight, reverse
		}
		out = append(out, R(ref))
	}
	return out
}

// instRaw is a vrrp_instance while it is read.
type instRaw struct {
	in     Instance
	node   *node
	seen   seen
	tracks []trackRef
	// tifaces are the track_interface lines, as TrackInterfaces.
	tifaces []*node
	// tfiles are the track_file lines, in the order of in.TrackFiles.
	tfiles []trackRef
	// tprocs are the track_process lines, in the order of in.TrackProcesses.
	tprocs []trackRef
	// syncd is keepalived 1.x's lvs_sync_daemon_interface line, nil without one.
	syncd *node
}

func instanceTable() table[instRaw] {
	return auditInstance(table[instRaw]{
		"state":             strEntry(func(t *instRaw, s string) { t.in.State = State(s) }),
		"interface":         strEntry(func(t *instRaw, s string) { t.in.Interface = s }),
		"virtual_router_id": intEntry(1, 255, func(t *instRaw, v int) { t.in.VRID = v }),
		"priority":          intEntry(1, 255, func(t *instRaw, v int) { t.in.Priority = v }),
		"advert_int": {min: 1, max: 1, fn: func(d *decoder, n *node, t *instRaw) {
			v, ok := d.seconds(n, n.arg(0), 10*time.Millisecond, 255*time.Second)
			if !ok {
				return
			}
			if v%(10*time.Millisecond) != 0 {
				d.errf(n, ErrValue, "%s s is finer than VRRP's 0.01 s resolution", n.arg(0))
				return
			}
			t.in.AdvertInt = v
		}},
		"version":             intEntry(2, 3, func(t *instRaw, v int) { t.in.Version = v }),
		"nopreempt":           ignoredArgs(func(t *instRaw) { t.in.Nopreempt = true }),
		"preempt":             bareEntry(func(t *instRaw) { t.in.Nopreempt = false }),
		"preempt_delay":       secEntry(0, 1000*time.Second, func(t *instRaw, v time.Duration) { t.in.PreemptDelay = v }),
		"accept":              bareEntry(func(t *instRaw) { t.in.Accept = true }),
		"no_accept":           bareEntry(func(t *instRaw) { t.in.Accept = false }),
		"strict_mode":         flagEntry(func(t *instRaw, b bool) { t.in.StrictMode = b }),
		"skip_check_adv_addr": {max: 1, fn: skipCheckAdvAddr},
		"dont_track_primary":  bareEntry(func(t *instRaw) { t.in.DontTrackPrimary = true }),
		"use_vmac":            {max: 3, fn: useVMAC},
		"vmac_xmit_base":      bareEntry(func(*instRaw) {}), // resolveVMAC
		"lvs_sync_daemon_interface": {min: 1, max: 1, fn: func(d *decoder, n *node, t *instRaw) {
			d.warn(n, "lvs_sync_daemon_interface in a vrrp_instance is deprecated (keepalived 1.x): use global_defs lvs_sync_daemon IF INSTANCE")
			t.syncd = n
		}},
		"authentication": {block: true, fn: func(d *decoder, n *node, t *instRaw) {
			a := &Auth{}
			s := decode(d, "authentication", n.children, a, cachedTable(d, "authentication", authTable))
			if _, ok := s["auth_type"]; !ok {
				d.errf(n, ErrValue, "authentication without auth_type")
				return
			}
			if p, ok := s["auth_pass"]; ok && len(a.Pass) > 8 {
				d.warn(p, fmt.Sprintf("keepalived uses only the first 8 characters (%q)", a.Pass[:8]))
			}
			t.in.Auth = a
		}},
		"virtual_ipaddress": {block: true, fn: func(d *decoder, n *node, t *instRaw) {
			t.in.VIPs = append(t.in.VIPs, vips(d, n)...)
		}},
		"virtual_ipaddress_excluded": {block: true, fn: func(d *decoder, n *node, t *instRaw) {
			t.in.ExcludedVIPs = append(t.in.ExcludedVIPs, vips(d, n)...)
		}},
		"virtual_routes": {block: true, fn: func(d *decoder, n *node, t *instRaw) {
			t.in.VirtualRoutes = append(t.in.VirtualRoutes, routes(d, n)...)
		}},
		"virtual_rules": {block: true, fn: func(d *decoder, n *node, t *instRaw) {
			t.in.VirtualRules = append(t.in.VirtualRules, rules(d, n)...)
		}},
		"track_script": listEntry(func(d *decoder, n *node, t *instRaw) {
			w, rev, set, ok := trackWeight(d, n, "no_reverse")
			if !ok {
				return
			}
			t.in.TrackScripts = append(t.in.TrackScripts, TrackScript{Pos: n.pos, Name: n.key, Weight: w, Reverse: rev})
			t.tracks = append(t.tracks, trackRef{n: n, weightSet: set})
		}),
		"track_file": listEntry(func(d *decoder, n *node, t *instRaw) {
			trackFileLine(d, n, &t.in.TrackFiles, &t.tfiles)
		}),
		"track_process": listEntry(func(d *decoder, n *node, t *instRaw) {
			trackProcLine(d, n, &t.in.TrackProcesses, &t.tprocs)
		}),
		"track_interface": listEntry(func(d *decoder, n *node, t *instRaw) {
			w, rev, _, ok := trackWeight(d, n, "noreverse")
			if ok {
				t.in.TrackInterfaces = append(t.in.TrackInterfaces, TrackInterface{Pos: n.pos, Name: n.key, Weight: w, Reverse: rev})
				t.tifaces = append(t.tifaces, n)
			}
		}),
		"mcast_src_ip": addrEntry(func(t *instRaw, a netip.Addr) { t.in.McastSrcIP = a }),
		"unicast_src_ip": {min: 1, max: 1, fn: func(d *decoder, n *node, t *instRaw) {
			if a, ok := d.addrMask(n, n.arg(0)); ok {
				t.in.UnicastSrcIP = a
			}
		}},
		"unicast_peer": listEntry(func(d *decoder, n *node, t *instRaw) {
			if len(n.args) != 0 {
				d.errf(n, ErrUnknownKeyword, "unicast_peer options (%s) are not supported", n.arg(0))
				return
			}
			if a, ok := d.addrMask(n, n.key); ok {
				t.in.UnicastPeers = append(t.in.UnicastPeers, a)
			}
		}),
		"notify_master": cmdEntry(func(t *instRaw, c *Command) { t.in.NotifyMaster = c }),
		"notify_backup": cmdEntry(func(t *instRaw, c *Command) { t.in.NotifyBackup = c }),
		"notify_fault":  cmdEntry(func(t *instRaw, c *Command) { t.in.NotifyFault = c }),
		"notify_stop":   cmdEntry(func(t *instRaw, c *Command) { t.in.NotifyStop = c }),
		"notify":        cmdEntry(func(t *instRaw, c *Command) { t.in.Notify = c }),
		"smtp_alert":    flagEntry(func(t *instRaw, b bool) { t.in.SMTPAlert = b }),
		"garp_master_delay": wholeSecEntry(0, 1000, func(t *instRaw, v time.Duration) {
			t.in.GARPMasterDelay = v
		}),
		"garp_master_repeat": intEntry(0, 1000, func(t *instRaw, v int) { t.in.GARPMasterRepeat = v }),
		"garp_lower_prio_delay": wholeSecEntry(0, 1000, func(t *instRaw, v time.Duration) {
			t.in.GARPLowerPrioDelay = v
		}),
		"garp_lower_prio_repeat": intEntry(0, 1000, func(t *instRaw, v int) { t.in.GARPLowerPrioRepeat = v }),
		"garp_master_refresh": wholeSecEntry(0, 86400, func(t *instRaw, v time.Duration) {
			t.in.GARPMasterRefresh = v
		}),
		"garp_master_refresh_repeat": intEntry(1, 1000, func(t *instRaw, v int) { t.in.GARPMasterRefreshRepeat = v }),
	})
}

func authTable() table[Auth] {
	return table[Auth]{
		"auth_type": {min: 1, max: 1, fn: func(d *decoder, n *node, a *Auth) {
			switch AuthType(n.arg(0)) {
			case AuthPass, AuthAH:
				a.Type = AuthType(n.arg(0))
			default:
				d.errf(n, ErrValue, "%q is not PASS or AH", n.arg(0))
			}
		}},
		"auth_pass": strEntry(func(a *Auth, s string) { a.Pass = s }),
	}
}

// trackWeight reads "NAME [weight N [reverse|NOREV]]".
func trackWeight(d *decoder, n *node, norev string) (w int, rev, set, ok bool) {
	args := n.args
	if len(args) == 0 {
		return 0, false, false, true
	}
	if args[0].text != "weight" || len(args) < 2 || len(args) > 3 {
		d.errf(n, ErrSyntax, "expected %s [weight N [reverse|%s]]", n.key, norev)
		return 0, false, false, false
	}
	w, ok = d.integer(n, args[1].text, -253, 253)
	if !ok {
		return 0, false, false, false
	}
	if len(args) == 3 {
		switch args[2].text {
		case "reverse":
			rev = true
		case norev:
		default:
			d.errf(n, ErrValue, "%q is not reverse or %s", args[2].text, norev)
			return 0, false, false, false
		}
	}
	return w, rev, true, true
}

var scopes = []string{"site", "link", "host", "nowhere", "global"}

// vips reads the lines of a virtual_ipaddress block.
func vips(d *decoder, block *node) []VIP {
	var out []VIP
	for _, n := range block.children {
		if n.hasBlock {
			d.errf(n, ErrSyntax, "takes no { } block inside %s", block.key)
			continue
		}
		v, ok := vip(d, n)
		if ok {
			out = append(out, v)
		}
	}
	return out
}

func vip(d *decoder, n *node) (VIP, bool) {
	v := VIP{Pos: n.pos}
	var err error
	if strings.Contains(n.key, "/") {
		v.Prefix, err = netip.ParsePrefix(n.key)
	} else {
		var a netip.Addr
		a, err = netip.ParseAddr(n.key)
		if err == nil {
			v.Prefix = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil || v.Prefix.Addr().Zone() != "" {
		d.errf(n, ErrValue, "%q is not an address or ADDR/LEN", n.key)
		return v, false
	}
	v.Prefix = netip.PrefixFrom(v.Prefix.Addr().Unmap(), v.Prefix.Bits())
	if v.Prefix.Addr().Is4() && v.Prefix.Bits() > 32 {
		d.errf(n, ErrValue, "%q: prefix length over 32", n.key)
		return v, false
	}
	args := n.args
	for len(args) > 0 {
		opt := args[0].text
		if opt == "no_track" {
			v.NoTrack = true
			args = args[1:]
			continue
		}
		if len(args) < 2 {
			d.errf(n, ErrSyntax, "%s needs a value", opt)
			return v, false
		}
		val := args[1].text
		args = args[2:]
		switch opt {
		case "dev":
			v.Dev = val
		case "label":
			v.Label = val
		case "scope":
			if !contains(scopes, val) {
				d.errf(n, ErrValue, "scope %q is not one of %s", val, strings.Join(scopes, ", "))
				return v, false
			}
			v.Scope = val
		case "brd", "broadcast":
			a, ok := d.addr(n, val)
			if !ok {
				return v, false
			}
			v.Broadcast = a
		default:
			d.errf(n, ErrUnknownKeyword, "virtual_ipaddress option %q is not supported", opt)
			return v, false
		}
	}
	return v, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// resolveInstance fills an instance's defaults and checks what one instance alone can
// be checked for.
func resolveInstance(d *decoder, g *Global, r *instRaw) bool {
	in, s, n := &r.in, r.seen, r.node
	ok := true
	if _, set := s["virtual_router_id"]; !set {
		d.errf(n, ErrValue, "vrrp_instance %s has no virtual_router_id", in.Name)
		ok = false
	}
	if in.Interface == "" && len(in.UnicastPeers) == 0 {
		d.errf(n, ErrValue, "vrrp_instance %s has no interface (required without unicast_peer)", in.Name)
		ok = false
	}
	if st, set := s["state"]; set && in.State != StateMaster && in.State != StateBackup {
		d.errf(st, ErrValue, "%q is not MASTER or BACKUP", string(in.State))
		ok = false
	}
	_, prioSet := s["priority"]
	_, stateSet := s["state"]
	if !prioSet {
		if in.State == StateMaster {
			in.Priority = ownerPriority
			d.warn(s["state"], "state MASTER without priority: keepalived 2.2.7 makes the instance the address owner, priority 255 (read the same way)")
		} else {
			in.Priority = defaultPriority
		}
	}
	if !stateSet {
		in.State = StateBackup
		if in.Priority == ownerPriority {
			in.State = StateMaster
		}
	}
	if in.Nopreempt && in.State == StateMaster {
		in.Nopreempt = false
		d.warn(s["nopreempt"], "nopreempt needs state BACKUP: with state MASTER keepalived 2.2.7 clears it and preempts (read the same way)")
	}
	if in.Nopreempt && in.Priority == ownerPriority {
		in.Nopreempt = false
		d.warn(s["nopreempt"], "nopreempt cannot apply to priority 255, the address owner: keepalived 2.2.7 clears it (read the same way)")
	}
	if _, set := s["advert_int"]; !set {
		in.AdvertInt = defaultAdvertInt
	}
	// Address family from the VIPs: all of one family, IPv6 means VRRPv3.
	v6 := false
	for i, v := range in.VIPs {
		if i == 0 {
			v6 = v.Prefix.Addr().Is6()
		} else if v.Prefix.Addr().Is6() != v6 {
			d.errf(&node{pos: v.Pos, key: v.Prefix.String()}, ErrValue, "virtual_ipaddress mixes IPv4 and IPv6 (use virtual_ipaddress_excluded for the other family)")
			ok = false
		}
	}
	if _, set := s["strict_mode"]; !set {
		in.StrictMode = g.VRRPStrict
	}
	if vn, set := s["version"]; !set {
		in.Version = g.VRRPVersion
		if v6 {
			in.Version = 3
		}
	} else if v6 && in.Version == 2 && in.StrictMode {
		d.warn(vn, "IPv6 with VRRP version 2 in strict mode: keepalived 2.2.7 uses version 3 (read the same way)")
		in.Version = 3
	} else if v6 && in.Version == 2 {
		d.errf(vn, ErrValue, "VRRPv2 cannot carry IPv6 addresses")
		ok = false
	}
	if in.Version == 3 && in.AdvertInt > 4095*10*time.Millisecond {
		d.errf(s["advert_int"], ErrValue, "VRRPv3 advert_int is at most 40.95 s")
		ok = false
	}
	if an, set := s["advert_int"]; set && in.Version == 2 && in.AdvertInt%time.Second != 0 {
		d.warn(an, "VRRPv2 cannot carry a fractional advert_int: keepalived 2.2.7 rounds it to whole seconds; read as written (use version 3)")
	}
	_, acc := s["accept"]
	_, noacc := s["no_accept"]
	if !acc && !noacc {
		// keepalived 2.2.7 vrrp.c: the address owner accepts, others unless strict.
		in.Accept = in.Priority == ownerPriority || !in.StrictMode
	}
	if in.StrictMode {
		ok = strictInstance(d, r, acc) && ok
	}
	if !in.Accept && in.Priority != ownerPriority {
		at := n
		if na, set := s["no_accept"]; set {
			at = na
		}
		d.warn(at, fmt.Sprintf("vrrp_instance %s does not accept (no_accept, or strict mode's default): keepalived 2.2.7 adds firewall rules that drop traffic to its virtual addresses while it is MASTER; the director adds none, so they answer (add your own rules where that matters)", in.Name))
	}
	if len(in.VIPs) == 0 {
		if in.Version == 3 || in.StrictMode {
			d.errf(n, ErrValue, "vrrp_instance %s has no virtual_ipaddress: keepalived 2.2.7 requires one with VRRP version 3 or strict mode", in.Name)
			ok = false
		} else {
			d.warn(n, fmt.Sprintf("vrrp_instance %s has no virtual_ipaddress: keepalived 2.2.7 runs it (\"at least one is sensible\")", in.Name))
		}
	}
	// keepalived 2.2.7 vrrp.c drops a track_interface line naming the instance's own
	// interface: that one is tracked anyway (FAULT while it is down), whatever the
	// weight.
	for i := len(in.TrackInterfaces) - 1; i >= 0; i-- {
		if in.Interface != "" && in.TrackInterfaces[i].Name == in.Interface {
			d.warn(r.tifaces[i], fmt.Sprintf("track_interface %s is the instance's own interface: keepalived 2.2.7 ignores the line (the interface is tracked anyway: FAULT while it is down) and so does the reader", in.Interface))
			in.TrackInterfaces = slices.Delete(in.TrackInterfaces, i, i+1)
		}
	}
	if _, set := s["skip_check_adv_addr"]; !set {
		in.SkipCheckAdvAddr = g.VRRPSkipCheckAdvAddr
	}
	if _, set := s["smtp_alert"]; !set {
		in.SMTPAlert = defaultAlert(g.SMTPAlertVRRP, g.SMTPAlert, false)
	}
	// A VIP without dev is on the instance's interface or, without one, on
	// global default_interface (keepalived 2.2.7 vrrp.c; its default is eth0).
	dev := in.Interface
	if dev == "" {
		dev = orStr(g.DefaultInterface, "eth0")
	}
	for i := range in.VIPs {
		if in.VIPs[i].Dev == "" {
			in.VIPs[i].Dev = dev
		}
	}
	for i := range in.ExcludedVIPs {
		if in.ExcludedVIPs[i].Dev == "" {
			in.ExcludedVIPs[i].Dev = dev
		}
	}
	if _, set := s["garp_master_delay"]; !set {
		in.GARPMasterDelay = g.VRRPGARPMasterDelay
	}
	if _, set := s["garp_master_repeat"]; !set {
		in.GARPMasterRepeat = g.VRRPGARPMasterRepeat
	}
	if _, set := s["garp_lower_prio_delay"]; !set {
		in.GARPLowerPrioDelay = g.VRRPGARPLowerPrioDelay
		if in.StrictMode {
			in.GARPLowerPrioDelay = 0
		}
	}
	if _, set := s["garp_lower_prio_repeat"]; !set {
		in.GARPLowerPrioRepeat = g.VRRPGARPLowerPrioRepeat
		if in.StrictMode {
			in.GARPLowerPrioRepeat = 0
		}
	}
	for _, k := range []string{"garp_lower_prio_delay", "garp_lower_prio_repeat"} {
		if kn, set := s[k]; set && in.StrictMode && (in.GARPLowerPrioDelay != 0 || in.GARPLowerPrioRepeat != 0) {
			d.warn(kn, fmt.Sprintf("%s: strict mode requires no repeat GARPs: keepalived 2.2.7 resets it to 0 (read the same way)", strictWhy(s)))
		}
	}
	if in.StrictMode {
		in.GARPLowerPrioDelay, in.GARPLowerPrioRepeat = 0, 0
	}
	// keepalived 2.2.7 vrrp.c: strict mode implies lower_prio_no_advert.
	resolveAuditInstance(d, s, g, in)
	if _, set := s["garp_master_refresh"]; !set {
		in.GARPMasterRefresh = g.VRRPGARPMasterRefresh
	}
	if _, set := s["garp_master_refresh_repeat"]; !set {
		in.GARPMasterRefreshRepeat = g.VRRPGARPMasterRefreshRepeat
	}
	resolveVMAC(d, r)
	return ok
}

// strictWhy names what put an instance in strict mode, for warnings.
func strictWhy(s seen) string {
	if n, ok := s["strict_mode"]; ok {
		return "strict_mode at " + n.pos.String()
	}
	return "vrrp_strict"
}

// strictInstance applies what keepalived 2.2.7 (vrrp.c vrrp_complete_instance) does to
// an instance in strict mode (vrrp_strict in global_defs, or strict_mode), with a
// warning at each line whose meaning changes. accept says accept was written.
func strictInstance(d *decoder, r *instRaw, accept bool) bool {
	in, s := &r.in, r.seen
	why := strictWhy(s)
	ok := true
	if st, set := s["state"]; set && (in.State == StateMaster) != (in.Priority == ownerPriority) {
		want := StateBackup
		if in.Priority == ownerPriority {
			want = StateMaster
		}
		d.warn(st, fmt.Sprintf("with %s, state MASTER must match being the address owner (priority 255): keepalived 2.2.7 starts it as %s (read the same way)", why, want))
		in.State = want
	}
	if in.Auth != nil {
		d.warn(s["authentication"], fmt.Sprintf("with %s, keepalived 2.2.7 ignores authentication and sends adverts without it (read the same way)", why))
		in.Auth = nil
	}
	if in.PreemptDelay != 0 {
		d.warn(s["preempt_delay"], fmt.Sprintf("with %s, keepalived 2.2.7 resets preempt_delay to 0 (read the same way)", why))
		in.PreemptDelay = 0
	}
	if len(in.UnicastPeers) > 0 {
		d.errf(s["unicast_peer"], ErrValue, "with %s, keepalived 2.2.7 refuses unicast peers on an interface that can multicast", why)
		ok = false
	}
	if accept && in.Accept && in.Priority != ownerPriority && in.Version == 2 {
		d.warn(s["accept"], fmt.Sprintf("with %s, accept mode for VRRP version 2 does not comply with RFC 3768: keepalived 2.2.7 resets it (read the same way)", why))
		in.Accept = false
	}
	if len(in.VIPs) > 0 && in.VIPs[0].Prefix.Addr().Is6() && len(in.UnicastPeers) == 0 && !in.VIPs[0].Prefix.Addr().IsLinkLocalUnicast() {
		d.warn(s["virtual_ipaddress"], fmt.Sprintf("with %s, keepalived 2.2.7 says the first IPv6 VIP address must be link local (it runs anyway)", why))
	}
	return ok
}

func defaultAlert(specific, general *bool, def bool) bool {
	if specific != nil {
		return *specific
	}
	if general != nil {
		return *general
	}
	return def
}

// groupRaw is a vrrp_sync_group while it is read.
type groupRaw struct {
	g     SyncGroup
	node  *node
	seen  seen
	names []*node
	// tfiles are the track_file lines, in the order of g.TrackFiles.
	tfiles []trackRef
	// tprocs are the track_process lines, in the order of g.TrackProcesses.
	tprocs []trackRef
}

func syncGroupTable() table[groupRaw] {
	return table[groupRaw]{
		"group": listEntry(func(d *decoder, n *node, t *groupRaw) {
			if len(n.args) != 0 {
				d.errf(n, ErrSyntax, "one instance name per line in group")
				return
			}
			t.g.Group = append(t.g.Group, n.key)
			t.names = append(t.names, n)
		}),
		"notify_master": cmdEntry(func(t *groupRaw, c *Command) { t.g.NotifyMaster = c }),
		"notify_backup": cmdEntry(func(t *groupRaw, c *Command) { t.g.NotifyBackup = c }),
		"notify_fault":  cmdEntry(func(t *groupRaw, c *Command) { t.g.NotifyFault = c }),
		"notify_stop":   cmdEntry(func(t *groupRaw, c *Command) { t.g.NotifyStop = c }),
		"notify":        cmdEntry(func(t *groupRaw, c *Command) { t.g.Notify = c }),
		"smtp_alert":    flagEntry(func(t *groupRaw, b bool) { t.g.SMTPAlert = b }),
		"track_file": listEntry(func(d *decoder, n *node, t *groupRaw) {
			trackFileLine(d, n, &t.g.TrackFiles, &t.tfiles)
		}),
		"track_process": listEntry(func(d *decoder, n *node, t *groupRaw) {
			trackProcLine(d, n, &t.g.TrackProcesses, &t.tprocs)
		}),
	}
}

// crossCheckVRRP resolves names between scripts, instances and sync groups.
func crossCheckVRRP(d *decoder, g *Global, scripts []*scriptRaw, insts []*instRaw, groups []*groupRaw) {
	checkVMACNames(d, insts)
	byScript := map[string]*scriptRaw{}
	for _, s := range scripts {
		if prev, dup := byScript[s.s.Name]; dup {
			d.warn(&node{pos: s.s.Pos, key: "vrrp_script"}, fmt.Sprintf("vrrp_script %s is defined twice (first at %s): keepalived 2.2.7 uses the last (read the same way)", s.s.Name, prev.s.Pos))
		}
		byScript[s.s.Name] = s
	}
	byInst := map[string]*instRaw{}
	type vridKey struct {
		ifname string
		vrid   int
		v6     bool
	}
	byVRID := map[vridKey]*instRaw{}
	for _, r := range insts {
		in := &r.in
		if prev, dup := byInst[in.Name]; dup {
			d.errf(r.node, ErrReference, "vrrp_instance %s is defined twice (first at %s)", in.Name, prev.in.Pos)
		} else {
			byInst[in.Name] = r
		}
		for i, ref := range r.tracks {
			sr, ok := byScript[ref.n.key]
			if !ok {
				d.errf(ref.n, ErrReference, "track_script %s names no vrrp_script", ref.n.key)
				continue
			}
			if !ref.weightSet {
				in.TrackScripts[i].Weight, in.TrackScripts[i].Reverse = sr.s.Weight, sr.s.Reverse
			}
			if sr.seq > ref.n.seq {
				d.warn(ref.n, fmt.Sprintf("vrrp_script %s is defined later (%s): keepalived 2.2.7 ignores this track_script; read as tracking it", sr.s.Name, sr.s.Pos))
			}
		}
		if len(in.UnicastPeers) == 0 && in.Interface != "" && in.VRID != 0 {
			k := vridKey{in.Interface, in.VRID, len(in.VIPs) > 0 && in.VIPs[0].Prefix.Addr().Is6()}
			if prev, dup := byVRID[k]; dup {
				d.errf(r.seen["virtual_router_id"], ErrReference, "VRID %d is already used on interface %s by vrrp_instance %s (%s)",
					in.VRID, in.Interface, prev.in.Name, prev.in.Pos)
			} else {
				byVRID[k] = r
			}
		}
	}
	if sd := g.LVSSyncDaemon; sd != nil && sd.Instance != "" {
		if _, ok := byInst[sd.Instance]; !ok {
			d.errf(&node{pos: g.Pos, key: "lvs_sync_daemon"}, ErrReference, "lvs_sync_daemon names no vrrp_instance %s", sd.Instance)
		}
	}
	member := map[string]*groupRaw{}
	names := map[string]bool{}
	for _, gr := range groups {
		if names[gr.g.Name] {
			d.errf(gr.node, ErrReference, "vrrp_sync_group %s is defined twice", gr.g.Name)
		}
		names[gr.g.Name] = true
		if _, ok := gr.seen["group"]; !ok {
			d.errf(gr.node, ErrValue, "vrrp_sync_group %s has no group", gr.g.Name)
		}
		for _, n := range gr.names {
			if _, ok := byInst[n.key]; !ok {
				d.errf(n, ErrReference, "sync group %s names no vrrp_instance %s", gr.g.Name, n.key)
				continue
			}
			if other, dup := member[n.key]; dup {
				d.errf(n, ErrReference, "vrrp_instance %s is already in sync group %s", n.key, other.g.Name)
				continue
			}
			member[n.key] = gr
		}
		if _, set := gr.seen["smtp_alert"]; !set {
			gr.g.SMTPAlert = defaultAlert(g.SMTPAlertVRRP, g.SMTPAlert, false)
		}
	}
}

// skipCheckAdvAddr is vrrp_instance skip_check_adv_addr [BOOL]. keepalived 2.2.7
// (vrrp_parser.c) sets it for any valid BOOL, "false" included; the reader does the
// same and says so.
func skipCheckAdvAddr(d *decoder, n *node, t *instRaw) {
	v, ok := d.optBool(n)
	if !ok {
		return
	}
	if !v {
		d.warn(n, fmt.Sprintf("keepalived 2.2.7 turns skip_check_adv_addr on whatever its argument, %q included (read the same way)", n.arg(0)))
	}
	t.in.SkipCheckAdvAddr = true
}
