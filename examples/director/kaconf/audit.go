package kaconf

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The keywords added by the audit of the reader against keepalived 2.2.7's parsers
// (issue 14). Each keepalived keyword is either read with keepalived's meaning, read
// with a warning naming the line and saying what keepalived would do, or refused and
// listed with the reason in docs/migrating-from-keepalived.md ("Rejected keywords");
// examples/director/kakeywords_test.go holds the list of keepalived 2.2.7's keywords
// that keeps it so.

// processOnlyGlobals maps the global_defs keywords that tune only keepalived's own
// processes (its VRRP, checker and BFD children, their scheduling, memory locking,
// names and netlink or socket buffer sizes) to what they tune. The director runs as
// one Go process with its own buffers; nothing a VRRP peer, an IPVS or routing table,
// a notify script or a mail recipient sees depends on these, so they are read and
// ignored with a warning rather than refused.
func processOnlyGlobals() map[string]string {
	const (
		bfd     = "keepalived's BFD process (the director has none: BFD is not implemented)"
		checker = "keepalived's checker process (the director's checkers run in its one process)"
		vrrpP   = "keepalived's VRRP process (the director's VRRP runs in its one process; vrrp_rt_priority and vrrp_rlimit_rttime are applied to it)"
		names   = "the names keepalived gives its processes (the director's process is named by its binary)"
		bufs    = "a netlink socket's receive buffer in keepalived (the director sizes its own sockets)"
	)
	return map[string]string{
		"bfd_cpu_affinity":                    bfd,
		"bfd_no_swap":                         bfd,
		"bfd_priority":                        bfd,
		"bfd_process_name":                    bfd,
		"bfd_rlimit_rtime":                    bfd,
		"bfd_rlimit_rttime":                   bfd,
		"bfd_rt_priority":                     bfd,
		"checker_cpu_affinity":                checker,
		"checker_no_swap":                     checker,
		"checker_priority":                    checker,
		"checker_process_name":                checker,
		"checker_rlimit_rtime":                checker,
		"checker_rlimit_rttime":               checker,
		"checker_rt_priority":                 checker,
		"vrrp_cpu_affinity":                   vrrpP,
		"vrrp_no_swap":                        vrrpP,
		"vrrp_priority":                       vrrpP,
		"vrrp_process_name":                   names,
		"lvs_process_name":                    names,
		"process_name":                        names,
		"process_names":                       names,
		"lvs_netlink_cmd_rcv_bufs":            bufs,
		"lvs_netlink_cmd_rcv_bufs_force":      bufs,
		"lvs_netlink_monitor_rcv_bufs":        bufs,
		"lvs_netlink_monitor_rcv_bufs_force":  bufs,
		"vrrp_netlink_cmd_rcv_bufs":           bufs,
		"vrrp_netlink_cmd_rcv_bufs_force":     bufs,
		"vrrp_netlink_monitor_rcv_bufs":       bufs,
		"vrrp_netlink_monitor_rcv_bufs_force": bufs,
		"process_monitor_rcv_bufs":            bufs,
		"process_monitor_rcv_bufs_force":      bufs,
		"vrrp_rx_bufs_policy":                 "the receive buffer of keepalived's VRRP sockets (the director sizes its own)",
		"vrrp_rx_bufs_multiplier":             "the receive buffer of keepalived's VRRP sockets (the director sizes its own)",
		"tmp_config_directory":                "where keepalived writes its temporary copies of the configuration (the director keeps none)",
		"random_seed":                         "the seed of keepalived's internal random numbers (used for its own jitter, never sent)",
		"log_unknown_vrids":                   "what keepalived logs about adverts for VRIDs it does not run",
		"checker_log_all_failures":            "what keepalived's checkers log (the director logs every checker transition)",
	}
}

// processOnlyEntry reads a keyword that tunes only keepalived's own processes: any
// arguments, ignored with a warning naming what it tuned.
func processOnlyEntry[T any](what string) entry[T] {
	return entry[T]{max: -1, fn: func(d *decoder, n *node, _ *T) {
		d.warn(n, fmt.Sprintf("ignored by the director: it tunes %s; nothing a VRRP peer, the kernel's tables or a script sees changes", what))
	}}
}

// auditGlobal adds the audit's global_defs keywords to tb.
func auditGlobal(tb table[globalRaw]) table[globalRaw] {
	for k, what := range processOnlyGlobals() {
		tb[k] = processOnlyEntry[globalRaw](what)
	}
	// lvs_flush_on_stop [VS]; lvs_flush_onstop is its name before keepalived 2.1.6.
	tb["lvs_flush_on_stop"] = lvsFlushOnStopEntry()
	tb["lvs_flush_onstop"] = lvsFlushOnStopEntry()
	tb["rs_init_notifies"] = flagEntry(func(t *globalRaw, b bool) { t.g.RSInitNotifies = b })
	tb["no_checker_emails"] = flagEntry(func(t *globalRaw, b bool) { t.g.NoCheckerEmails = b })
	// min_auto_priority_delay USECS, 1..10000000 (keepalived 2.2.7 global_parser.c).
	tb["min_auto_priority_delay"] = intEntry(1, 10000000, func(t *globalRaw, v int) {
		t.g.RTPriority.MinAutoDelay = time.Duration(v) * time.Microsecond
	})
	return tb
}

// auditTop adds the audit's top-level keywords to tb.
func auditTop(tb table[state]) table[state] {
	// keepalived 2.2.7 global_parser.c: how long keepalived waits for its children
	// to exit at shutdown or reload. The director has no child processes of its own
	// (scripts are waited for by their own timeouts).
	tb["child_wait_time"] = processOnlyEntry[state]("how long keepalived waits for its child processes to exit (the director has none)")
	return tb
}

// auditInstance adds the audit's vrrp_instance keywords to tb. Their defaults come
// from global_defs in resolveAuditInstance.
func auditInstance(tb table[instRaw]) table[instRaw] {
	// lower_prio_no_advert [BOOL]: vrrp_lower_prio_no_advert for this instance
	// (keepalived 2.2.7 vrrp_parser.c; the bare keyword means on).
	tb["lower_prio_no_advert"] = flagEntry(func(t *instRaw, b bool) { t.in.LowerPrioNoAdvert = b })
	// higher_prio_send_advert [BOOL]: validated here, warned about in
	// resolveAuditInstance, where strict mode is known.
	tb["higher_prio_send_advert"] = flagEntry(func(*instRaw, bool) {})
	// check_unicast_src: keepalived ignores its arguments, drops unicast adverts
	// from addresses that are not a unicast_peer, and without unicast_peer
	// multicasts (vrrp.c, "a unicast keyword has been specified without any
	// unicast peers"): what the director always does (vrrp DropUnknownPeer).
	tb["check_unicast_src"] = ignoredArgs(func(*instRaw) {})
	// debug LEVEL: "not implemented yet" in keepalived 2.2.7, which reads 0..4.
	tb["debug"] = intEntry(0, 4, func(*instRaw, int) {})
	tb["kernel_rx_buf_size"] = processOnlyEntry[instRaw]("the receive buffer of keepalived's VRRP socket for this instance (the director sizes its own)")
	return tb
}

// higherPrioWarning is what a set higher_prio_send_advert changes. keepalived
// 2.2.7 (vrrp.c) then has a master that receives an advert of a higher priority send
// one advert of its own before it becomes backup; the director's master becomes
// backup without it.
const higherPrioWarning = "keepalived 2.2.7's master sends one advert at its own priority before yielding to a higher-priority one; " +
	"the director's master yields without it (the election's outcome is the same)"

// higherPrioEntry reads vrrp_higher_prio_send_advert [BOOL], with a warning when set.
func higherPrioEntry[T any](set func(*T, bool)) entry[T] {
	return entry[T]{max: 1, fn: func(d *decoder, n *node, t *T) {
		v, ok := d.optBool(n)
		if !ok {
			return
		}
		set(t, v)
		if v {
			d.warn(n, higherPrioWarning)
		}
	}}
}

// resolveAuditInstance applies global_defs and strict mode to the audit's instance
// keywords, as keepalived 2.2.7's vrrp_complete_instance does.
func resolveAuditInstance(d *decoder, s seen, g *Global, in *Instance) {
	if kn, set := s["check_unicast_src"]; set && len(in.UnicastPeers) == 0 {
		d.warn(kn, "check_unicast_src without unicast_peer: keepalived 2.2.7 multicasts and warns that a unicast keyword without peers is deprecated (read the same way)")
	}
	if kn, set := s["higher_prio_send_advert"]; set && (len(kn.args) == 0 || isOn(kn.arg(0))) {
		if in.StrictMode {
			d.warn(kn, fmt.Sprintf("%s: strict mode requires higher_prio_send_advert clear: keepalived 2.2.7 resets it (read the same way)", strictWhy(s)))
		} else {
			d.warn(kn, higherPrioWarning)
		}
	}
	kn, set := s["lower_prio_no_advert"]
	switch {
	case !set:
		in.LowerPrioNoAdvert = g.VRRPLowerPrioNoAdvert || in.StrictMode
	case in.StrictMode && !in.LowerPrioNoAdvert:
		d.warn(kn, fmt.Sprintf("%s: strict mode requires lower_prio_no_advert: keepalived 2.2.7 resets it to on (read the same way)", strictWhy(s)))
		in.LowerPrioNoAdvert = true
	}
}

// auditRS adds the audit's real_server keywords to tb.
func auditRS(tb table[rsRaw]) table[rsRaw] {
	// uthreshold / lthreshold N (0..4294967295, keepalived 2.2.7 check_parser.c):
	// the IPVS destination's upper and lower connection thresholds.
	tb["uthreshold"] = thresholdEntry(func(t *rsRaw, v uint32) { t.rs.UpperThreshold = v })
	tb["lthreshold"] = thresholdEntry(func(t *rsRaw, v uint32) { t.rs.LowerThreshold = v })
	return tb
}

func thresholdEntry(set func(*rsRaw, uint32)) entry[rsRaw] {
	return entry[rsRaw]{min: 1, max: 1, fn: func(d *decoder, n *node, t *rsRaw) {
		v, err := strconv.ParseUint(n.arg(0), 10, 32)
		if err != nil {
			d.errf(n, ErrValue, "%q is not an integer in 0..4294967295", n.arg(0))
			return
		}
		set(t, uint32(v))
	}}
}

// The sh and mh schedulers' names for the IPVS scheduler flags (keepalived 2.2.7
// check_parser.c lbflags_handler, Linux ip_vs.h IP_VS_SVC_F_SCHED_SH_*/MH_*).
const (
	schedFlag1 = 1 << iota // flag-1, sh-fallback, mh-fallback
	schedFlag2             // flag-2, sh-port, mh-port
	schedFlag3             // flag-3
)

// peNameMax is the longest persistence engine name IPVS takes
// (IP_VS_PENAME_MAXLEN 16, with its NUL).
const peNameMax = 15

// auditVS adds the audit's virtual_server keywords to tb.
func auditVS(tb table[vsRaw]) table[vsRaw] {
	// keepalived's handler for these ignores any words after the keyword.
	flag := func(set func(d *decoder, n *node, t *vsRaw)) entry[vsRaw] {
		return entry[vsRaw]{max: -1, fn: func(d *decoder, n *node, t *vsRaw) {
			if len(n.args) > 0 {
				d.warn(n, fmt.Sprintf("keepalived 2.2.7 ignores %q after %s (read the same way)", n.arg(0), n.key))
			}
			set(d, n, t)
		}}
	}
	for k, bit := range map[string]int{"flag-1": schedFlag1, "flag-2": schedFlag2, "flag-3": schedFlag3} {
		tb[k] = flag(func(_ *decoder, _ *node, t *vsRaw) { t.vs.SchedFlags |= bit })
	}
	// sh-port and friends count only when the scheduler read so far is theirs:
	// keepalived tests vs->sched as the line is read, so an lb_algo further down
	// leaves them ignored.
	for k, sf := range map[string]struct {
		sched string
		bit   int
	}{"sh-fallback": {"sh", schedFlag1}, "sh-port": {"sh", schedFlag2}, "mh-fallback": {"mh", schedFlag1}, "mh-port": {"mh", schedFlag2}} {
		tb[k] = flag(func(d *decoder, n *node, t *vsRaw) {
			if t.vs.Scheduler != sf.sched {
				d.warn(n, fmt.Sprintf("keepalived 2.2.7 applies %s only after lb_algo %s in the same virtual_server; ignored (read the same way)", n.key, sf.sched))
				return
			}
			t.vs.SchedFlags |= sf.bit
		})
	}
	tb["ops"] = flag(func(_ *decoder, _ *node, t *vsRaw) { t.vs.OnePacket = true })
	// hashed: keepalived 2.2.7's handler sets nothing for it (the kernel hashes
	// every service itself).
	tb["hashed"] = flag(func(*decoder, *node, *vsRaw) {})
	tb["persistence_engine"] = strEntry(func(t *vsRaw, s string) { t.vs.PersistenceEngine = s })
	tb["ip_family"] = entry[vsRaw]{min: 1, max: 1, fn: ipFamily}
	// sorry_server_lvs_method NAT|DR|TUN: keepalived 2.2.7 applies it to the sorry
	// server read so far, and ignores it (with an error) before any sorry_server.
	sm := methodEntry(func(t *vsRaw, m Method) { t.vs.SorryServerMethod = m })
	tb["sorry_server_lvs_method"] = entry[vsRaw]{min: 1, max: 1, fn: func(d *decoder, n *node, t *vsRaw) {
		if !t.vs.SorryServer.IsValid() {
			d.warn(n, "keepalived 2.2.7 ignores sorry_server_lvs_method before sorry_server (\"sorry_server forwarding used without sorry_server\"); ignored (read the same way)")
			return
		}
		sm.fn(d, n, t)
	}}
	return tb
}

// resolveAuditVS checks the audit's virtual_server keywords once the block is read,
// as keepalived 2.2.7's check_data.c does.
func resolveAuditVS(d *decoder, r *vsRaw) {
	vs, s := &r.vs, r.seen
	if n, set := s["ops"]; set && vs.OnePacket && !r.markOnly() && vs.Protocol != ProtocolUDP {
		d.warn(n, "one-packet scheduling requires UDP: keepalived 2.2.7 resets it (read the same way)")
		vs.OnePacket = false
	}
	if n, set := s["persistence_engine"]; set && len(vs.PersistenceEngine) > peNameMax {
		d.warn(n, fmt.Sprintf("persistence engine name longer than %d bytes: keepalived 2.2.7 truncates it to %q (read the same way)", peNameMax, vs.PersistenceEngine[:peNameMax]))
		vs.PersistenceEngine = vs.PersistenceEngine[:peNameMax]
	}
}

// formatAuditVS writes the audit's virtual_server keywords that differ from the
// defaults.
func formatAuditVS(w *writer, vs *VirtualServer) {
	for i, k := range []string{"flag-1", "flag-2", "flag-3"} {
		if vs.SchedFlags&(1<<i) != 0 {
			w.line(k)
		}
	}
	if vs.OnePacket {
		w.line("ops")
	}
	if vs.PersistenceEngine != "" {
		w.str("persistence_engine", vs.PersistenceEngine)
	}
	w.str("ip_family", vs.IPFamily)
	if vs.SorryServer.IsValid() && vs.SorryServerMethod != "" {
		// After sorry_server, which formatVS writes earlier in the block.
		w.line("sorry_server_lvs_method", string(vs.SorryServerMethod))
	}
}

// auditHTTPCheck adds the audit's HTTP_GET and SSL_GET keywords to tb.
func auditHTTPCheck(tb table[checkRaw]) table[checkRaw] {
	// http_protocol 1.0|1.0C|1.0c|1.1 (keepalived 2.2.7 check_http.c).
	tb["http_protocol"] = entry[checkRaw]{min: 1, max: 1, fn: func(d *decoder, n *node, t *checkRaw) {
		switch v := n.arg(0); v {
		case "1.0", "1.1", "1.0C":
			t.c.HTTPProtocol = v
		case "1.0c":
			t.c.HTTPProtocol = "1.0C"
		default:
			d.errf(n, ErrValue, "%q is not an HTTP version (1.0, 1.0C or 1.1)", v)
		}
	}}
	// fast_recovery [BOOL]: keepalived then checks a recovering server's URLs back
	// to back instead of one per delay_before_retry; the director's HTTP_GET always
	// checks every URL of an attempt back to back (allOf in the director).
	tb["fast_recovery"] = flagEntry(func(*checkRaw, bool) {})
	return tb
}

// checkTable is the keyword table of a checker block.
func checkTable(ct CheckType) table[checkRaw] {
	tb := baseCheckTable(ct)
	if ct != CheckFile {
		// log_all_failures BOOL (keepalived 2.2.7 check_api.c, every checker but
		// FILE_CHECK): only what keepalived logs.
		tb["log_all_failures"] = processOnlyEntry[checkRaw]("what keepalived's checker logs (the director logs every checker transition)")
	}
	return tb
}

func lvsFlushOnStopEntry() entry[globalRaw] {
	return entry[globalRaw]{max: 1, fn: func(d *decoder, n *node, t *globalRaw) {
		if n.key == "lvs_flush_onstop" {
			d.warn(n, "lvs_flush_onstop is deprecated (keepalived 2.1.6 renamed it): use lvs_flush_on_stop")
		}
		switch {
		case len(n.args) == 0:
			t.g.LVSFlushOnStop = "FULL"
		case n.arg(0) == "VS":
			t.g.LVSFlushOnStop = "VS"
		default:
			d.errf(n, ErrValue, "%q: lvs_flush_on_stop takes nothing or VS", n.arg(0))
		}
	}}
}

// ipFamily reads ip_family inet|inet6. keepalived 2.2.7 (check_parser.c) ignores it,
// with an error, when the family is already known and differs: the virtual
// server's address, or a real server above it that is not tunnelled.
func ipFamily(d *decoder, n *node, t *vsRaw) {
	v := n.arg(0)
	if v != "inet" && v != "inet6" {
		d.errf(n, ErrValue, "%q is not inet or inet6", v)
		return
	}
	six := v == "inet6"
	known, isSix := false, false
	if t.vs.Addr.IsValid() {
		known, isSix = true, t.vs.Addr.Addr().Is6()
	} else {
		for _, r := range t.rss {
			m := r.rs.Method
			if m == "" {
				m = t.vs.Method
			}
			if m != MethodTUN {
				known, isSix = true, r.rs.Addr.Addr().Is6()
				break
			}
		}
	}
	if known && isSix != six {
		d.warn(n, fmt.Sprintf("ip_family %s conflicts with the virtual server's family: keepalived 2.2.7 ignores it (read the same way)", v))
		return
	}
	t.vs.IPFamily = v
}

// isOn reports whether a <BOOL> already validated by decoder.boolean is on.
func isOn(s string) bool {
	switch strings.ToLower(s) {
	case "on", "true", "yes":
		return true
	}
	return false
}
