package kaconf

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

var schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"}

const maxTimer = 86400 * time.Second

// checkOpts are the checker options that a virtual server and a real server can set as
// defaults for their checkers.
type checkOpts struct {
	connectTimeout, delayBeforeRetry, warmup, delayLoop optDur
	retry                                               optInt
}

// checkOptEntries adds the inheritable checker options to a table.
func checkOptEntries[T any](tb table[T], opts func(*T) *checkOpts) {
	tb["connect_timeout"] = secEntry(0, maxTimer, func(t *T, v time.Duration) { opts(t).connectTimeout = optDur{v, true} })
	tb["delay_before_retry"] = secEntry(0, maxTimer, func(t *T, v time.Duration) { opts(t).delayBeforeRetry = optDur{v, true} })
	tb["warmup"] = secEntry(0, maxTimer, func(t *T, v time.Duration) { opts(t).warmup = optDur{v, true} })
	tb["delay_loop"] = secEntry(time.Microsecond, maxTimer, func(t *T, v time.Duration) { opts(t).delayLoop = optDur{v, true} })
	tb["retry"] = intEntry(0, 1<<30, func(t *T, v int) { opts(t).retry = optInt{v, true} })
}

func methodEntry[T any](set func(*T, Method)) entry[T] {
	return entry[T]{min: 1, max: 1, fn: func(d *decoder, n *node, t *T) {
		switch m := Method(n.arg(0)); m {
		case MethodNAT, MethodDR, MethodTUN:
			set(t, m)
		default:
			d.errf(n, ErrValue, "%q is not NAT, DR or TUN", n.arg(0))
		}
	}}
}

type vsRaw struct {
	vs   VirtualServer
	node *node
	seen seen
	opts checkOpts
	rss  []*rsRaw
	// grp is the virtual_server_group of a "virtual_server group NAME".
	grp *VirtualServerGroup
}

type rsRaw struct {
	rs   RealServer
	node *node
	seen seen
	opts checkOpts
	chks []*checkRaw
	// checkPort is the port as written (or inherited), which checkers connect to.
	checkPort uint16
}

type checkRaw struct {
	c    Check
	node *node
	seen seen
	opts checkOpts
	// nbGetRetry is the nb_get_retry line, for its warning.
	nbGetRetry *node
	// fileWeight: FILE_CHECK's weight line was given.
	fileWeight bool
	// hosts are SMTP_CHECK's host blocks (smtphost.go).
	hosts []*smtpHost
}

// checkTypes are the checker blocks of a real_server, in keepalived.conf(5)'s order.
var checkTypes = []CheckType{CheckTCP, CheckHTTP, CheckSSL, CheckMisc, CheckDNS, CheckUDP, CheckPing, CheckSMTP, CheckFile}

func vsTable() table[vsRaw] {
	tb := table[vsRaw]{
		"lb_algo":    {min: 1, max: 1, fn: scheduler},
		"lvs_sched":  {min: 1, max: 1, fn: scheduler},
		"lb_kind":    methodEntry(func(t *vsRaw, m Method) { t.vs.Method = m }),
		"lvs_method": methodEntry(func(t *vsRaw, m Method) { t.vs.Method = m }),
		"persistence_timeout": {min: 0, max: 1, fn: func(d *decoder, n *node, t *vsRaw) {
			t.vs.PersistenceTimeout = defaultPersistence
			if len(n.args) == 1 {
				if v, ok := d.wholeSeconds(n, n.arg(0), 1, 1<<31-1); ok {
					t.vs.PersistenceTimeout = v
				}
			}
		}},
		"persistence_granularity": {min: 1, max: 1, fn: func(d *decoder, n *node, t *vsRaw) {
			if v, ok := granularity(n.arg(0)); ok {
				t.vs.PersistenceGranularity = v
				return
			}
			d.errf(n, ErrValue, "%q is not a netmask or prefix length", n.arg(0))
		}},
		"protocol": {min: 1, max: 1, fn: func(d *decoder, n *node, t *vsRaw) {
			switch p := Protocol(n.arg(0)); p {
			case ProtocolTCP, ProtocolUDP, ProtocolSCTP:
				t.vs.Protocol = p
			default:
				d.errf(n, ErrValue, "%q is not TCP, UDP or SCTP", n.arg(0))
			}
		}},
		"sorry_server": {min: 1, max: 2, fn: func(d *decoder, n *node, t *vsRaw) {
			if ap, ok := addrPort(d, n, n.args); ok {
				t.vs.SorryServer = ap
			}
		}},
		"sorry_server_inhibit": bareEntry(func(t *vsRaw) { t.vs.SorryServerInhibit = true }),
		"quorum":               intEntry(1, 1<<30, func(t *vsRaw, v int) { t.vs.Quorum = v }),
		"hysteresis":           intEntry(0, 1<<30, func(t *vsRaw, v int) { t.vs.Hysteresis = v }),
		"quorum_up":            cmdEntry(func(t *vsRaw, c *Command) { t.vs.QuorumUp = c }),
		"quorum_down":          cmdEntry(func(t *vsRaw, c *Command) { t.vs.QuorumDown = c }),
		"alpha":                bareEntry(func(t *vsRaw) { t.vs.Alpha = true }),
		"omega":                bareEntry(func(t *vsRaw) { t.vs.Omega = true }),
		"ha_suspend":           bareEntry(func(t *vsRaw) { t.vs.HASuspend = true }),
		"inhibit_on_failure":   flagEntry(func(t *vsRaw, b bool) { t.vs.InhibitOnFailure = b }),
		"virtualhost":          strEntry(func(t *vsRaw, s string) { t.vs.Virtualhost = s }),
		"smtp_alert":           flagEntry(func(t *vsRaw, b bool) { t.vs.SMTPAlert = b }),
		"real_server": {min: 1, max: 2, block: true, fn: func(d *decoder, n *node, t *vsRaw) {
			ap, ok := addrPort(d, n, n.args)
			r := &rsRaw{rs: RealServer{Pos: n.pos, Addr: ap}, node: n}
			r.seen = decode(d, "real_server", n.children, r, cachedTable(d, "real_server", rsTable))
			if ok {
				t.rss = append(t.rss, r)
			}
		}},
	}
	checkOptEntries(tb, func(t *vsRaw) *checkOpts { return &t.opts })
	return auditVS(tb)
}

func scheduler(d *decoder, n *node, t *vsRaw) {
	if !contains(schedulers, n.arg(0)) {
		d.errf(n, ErrValue, "scheduler %q is not one of %s", n.arg(0), strings.Join(schedulers, " "))
		return
	}
	t.vs.Scheduler = n.arg(0)
}

// granularity reads a netmask (255.255.255.0) or a prefix length (IPv6: 64).
func granularity(s string) (int, bool) {
	if v, err := strconv.Atoi(s); err == nil && v >= 1 && v <= 128 {
		return v, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := bits.LeadingZeros32(^m)
	if ones == 0 || m<<ones != 0 {
		return 0, false
	}
	return ones, true
}

func addrPort(d *decoder, n *node, args []token) (netip.AddrPort, bool) {
	a, ok := d.addr(n, args[0].text)
	if !ok {
		return netip.AddrPort{}, false
	}
	var p uint16
	if len(args) > 1 {
		if p, ok = d.port(n, args[1].text); !ok {
			return netip.AddrPort{}, false
		}
	}
	return netip.AddrPortFrom(a, p), true
}

func rsTable() table[rsRaw] {
	tb := table[rsRaw]{
		"weight": intEntry(0, 65535, func(t *rsRaw, v int) { t.rs.Weight = v }),
		// keepalived 2.2.7 knows only lvs_method here, not lb_kind.
		"lvs_method":         methodEntry(func(t *rsRaw, m Method) { t.rs.Method = m }),
		"inhibit_on_failure": flagEntry(func(t *rsRaw, b bool) { t.rs.InhibitOnFailure = b }),
		"virtualhost":        strEntry(func(t *rsRaw, s string) { t.rs.Virtualhost = s }),
		"notify_up":          cmdEntry(func(t *rsRaw, c *Command) { t.rs.NotifyUp = c }),
		"notify_down":        cmdEntry(func(t *rsRaw, c *Command) { t.rs.NotifyDown = c }),
		"smtp_alert":         flagEntry(func(t *rsRaw, b bool) { t.rs.SMTPAlert = b }),
	}
	checkOptEntries(tb, func(t *rsRaw) *checkOpts { return &t.opts })
	auditRS(tb)
	for _, ct := range checkTypes {
		tb[string(ct)] = entry[rsRaw]{block: true, fn: func(d *decoder, n *node, t *rsRaw) {
			c := &checkRaw{c: Check{Pos: n.pos, Type: ct}, node: n}
			c.seen = decode(d, string(ct), n.children, c, cachedTable(d, string(ct), func() table[checkRaw] { return checkTable(ct) }))
			t.chks = append(t.chks, c)
		}}
	}
	return tb
}

// baseCheckTable is checkTable before the audit's additions (audit.go).
func baseCheckTable(ct CheckType) table[checkRaw] {
	if ct == CheckFile {
		return fileCheckTable()
	}
	tb := table[checkRaw]{}
	checkOptEntries(tb, func(t *checkRaw) *checkOpts { return &t.opts })
	if ct == CheckMisc {
		delete(tb, "connect_timeout")
		tb["misc_path"] = cmdEntry(func(t *checkRaw, c *Command) {
			if t.c.Misc != nil {
				c.User, c.Group = orStr(c.User, t.c.Misc.User), orStr(c.Group, t.c.Misc.Group)
			}
			t.c.Misc = c
		})
		tb["misc_timeout"] = secEntry(time.Microsecond, maxTimer, func(t *checkRaw, v time.Duration) { t.c.MiscTimeout = v })
		tb["misc_dynamic"] = bareEntry(func(t *checkRaw) { t.c.MiscDynamic = true })
		tb["user"] = entry[checkRaw]{min: 1, max: 2, fn: func(_ *decoder, n *node, t *checkRaw) {
			if t.c.Misc == nil {
				t.c.Misc = &Command{}
			}
			t.c.Misc.User, t.c.Misc.Group = n.arg(0), ""
			if len(n.args) == 2 {
				t.c.Misc.Group = n.arg(1)
			}
		}}
		return tb
	}
	tb["connect_ip"] = addrEntry(func(t *checkRaw, a netip.Addr) { t.c.ConnectIP = a })
	tb["connect_port"] = portEntry(func(t *checkRaw, p uint16) { t.c.ConnectPort = p })
	tb["bindto"] = addrEntry(func(t *checkRaw, a netip.Addr) { t.c.BindTo = a })
	tb["bind_port"] = portEntry(func(t *checkRaw, p uint16) { t.c.BindPort = p })
	// nb_get_retry is retry's old name. keepalived 2.2.7 still reads it in HTTP_GET
	// and SSL_GET (with a deprecation notice) but not in TCP_CHECK.
	tb["nb_get_retry"] = entry[checkRaw]{min: 1, max: 1, fn: func(d *decoder, n *node, t *checkRaw) {
		if v, ok := d.integer(n, n.arg(0), 0, 1<<30); ok {
			t.opts.retry = optInt{v, true}
			t.nbGetRetry = n
		}
	}}
	switch ct {
	case CheckTCP:
		return tb
	case CheckDNS, CheckUDP, CheckPing, CheckSMTP:
		// keepalived 2.2.7 reads nb_get_retry only in HTTP_GET and SSL_GET.
		delete(tb, "nb_get_retry")
		return extraCheckTable(ct, tb)
	}
	tb["virtualhost"] = strEntry(func(t *checkRaw, s string) { t.c.Virtualhost = s })
	tb["url"] = entry[checkRaw]{block: true, fn: func(d *decoder, n *node, t *checkRaw) {
		u := URL{Pos: n.pos}
		s := decode(d, "url", n.children, &u, cachedTable(d, "url", urlTable))
		if _, ok := s["path"]; !ok {
			d.errf(n, ErrValue, "url without path")
			return
		}
		if _, ok := s["status_code"]; !ok {
			u.StatusCodes = []StatusRange{{200, 299}}
		}
		t.c.URLs = append(t.c.URLs, u)
	}}
	if ct == CheckSSL {
		tb["enable_sni"] = flagEntry(func(t *checkRaw, b bool) { t.c.EnableSNI = b })
		tb["sni_name"] = entry[checkRaw]{min: 1, max: 1, fn: func(d *decoder, n *node, t *checkRaw) {
			t.c.SNIName = n.arg(0)
			d.warn(n, "keepalived 2.2.7 does not know sni_name (it sends the virtualhost as SNI); read as the SNI name to send")
		}}
	}
	return auditHTTPCheck(tb)
}

func urlTable() table[URL] {
	return table[URL]{
		"path": strEntry(func(u *URL, s string) { u.Path = s }),
		"digest": {min: 1, max: 1, fn: func(d *decoder, n *node, u *URL) {
			s := strings.ToLower(n.arg(0))
			if b, err := hex.DecodeString(s); err != nil || len(b) != 16 {
				d.errf(n, ErrValue, "%q is not an MD5 digest (32 hex digits)", n.arg(0))
				return
			}
			u.Digest = s
		}},
		"status_code": {min: 1, max: -1, fn: func(d *decoder, n *node, u *URL) {
			var rs []StatusRange
			for _, a := range n.args {
				lo, hi, isRange := strings.Cut(a.text, "-")
				if !isRange {
					hi = lo
				}
				l, ok1 := d.integer(n, lo, 100, 599)
				if !ok1 {
					return
				}
				h, ok2 := d.integer(n, hi, 100, 599)
				if !ok2 {
					return
				}
				if h < l {
					d.errf(n, ErrValue, "range %s runs backwards", a.text)
					return
				}
				rs = append(rs, StatusRange{l, h})
			}
			u.StatusCodes = rs
		}},
		"virtualhost": strEntry(func(u *URL, s string) { u.Virtualhost = s }),
	}
}

// resolveVS fills a virtual server's defaults, then its real servers' and checkers'.
func resolveVS(d *decoder, g *Global, tfs map[string]*TrackFile, r *vsRaw) {
	vs, s := &r.vs, r.seen
	vs.DelayLoop = r.opts.delayLoop.or(defaultDelayLoop)
	if _, set := s["lb_algo"]; !set {
		if _, set := s["lvs_sched"]; !set {
			vs.Scheduler = defaultScheduler
		}
	}
	if vs.Method == "" {
		vs.Method = MethodNAT
	}
	if r.markOnly() {
		if p, set := s["protocol"]; set {
			d.warn(p, "keepalived ignores protocol for a fwmark virtual server (read the same way)")
		}
		vs.Protocol = ""
	} else if vs.Protocol == "" {
		d.warn(r.node, "no protocol: keepalived 2.2.7 defaults to UDP (\"no protocol set - defaulting to UDP\"; read the same way): write protocol TCP if TCP is meant")
		vs.Protocol = ProtocolUDP
	}
	if r.zeroPort() && vs.PersistenceTimeout == 0 {
		d.warn(r.node, "port 0 is only valid for a persistent service: keepalived sets persistence_timeout 360 (read the same way)")
		vs.PersistenceTimeout = defaultPersistence
	}
	if _, set := s["quorum"]; !set {
		vs.Quorum = defaultQuorum
	}
	if _, set := s["smtp_alert"]; !set {
		vs.SMTPAlert = defaultAlert(g.SMTPAlertChecker, g.SMTPAlert, false)
	}
	if vs.SorryServer.IsValid() && vs.SorryServer.Port() == 0 && vs.FWMark == 0 {
		vs.SorryServer = netip.AddrPortFrom(vs.SorryServer.Addr(), vs.Addr.Port())
	}
	seenRS := map[netip.AddrPort]*rsRaw{}
	weights := 0
	for _, rr := range r.rss {
		rs := &rr.rs
		if rs.Addr.Port() == 0 && vs.FWMark == 0 {
			rs.Addr = netip.AddrPortFrom(rs.Addr.Addr(), vs.Addr.Port())
		}
		if prev, dup := seenRS[rs.Addr]; dup {
			d.errf(rr.node, ErrReference, "real server %s is already listed at %s", rs.Addr, prev.rs.Pos)
			continue
		}
		seenRS[rs.Addr] = rr
		if _, set := rr.seen["weight"]; !set {
			rs.Weight = 1
		}
		weights += rs.Weight
		if rs.Method == "" {
			rs.Method = vs.Method
		}
		// keepalived 2.2.7 points its checkers at the port written (check_api.c
		// queue_checker copies the address while parsing) before it resets a DR
		// or TUN real server's port to the virtual server's (check_data.c).
		rr.checkPort = rs.Addr.Port()
		if rs.Method != MethodNAT && vs.FWMark == 0 && vs.Group == "" && rs.Addr.Port() != vs.Addr.Port() {
			d.warn(rr.node, fmt.Sprintf("%s cannot change the port: keepalived resets the real server's port to %d for IPVS and health-checks port %d (read the same way)", rs.Method, vs.Addr.Port(), rr.checkPort))
			rs.Addr = netip.AddrPortFrom(rs.Addr.Addr(), vs.Addr.Port())
		}
		if _, set := rr.seen["inhibit_on_failure"]; !set {
			rs.InhibitOnFailure = vs.InhibitOnFailure
		}
		rs.DelayLoop = rr.opts.delayLoop.or(vs.DelayLoop)
		if _, set := rr.seen["smtp_alert"]; !set {
			rs.SMTPAlert = defaultAlert(g.SMTPAlertChecker, g.SMTPAlert, true)
		}
		for _, cr := range rr.chks {
			if !resolveExtraCheck(d, tfs, cr) {
				rs.Checks = append(rs.Checks, cr.c)
				continue
			}
			resolveCheck(d, r, rr, cr)
			rs.Checks = append(rs.Checks, expandSMTPHosts(d, cr, cr.c, rs.Addr.Addr(), rr.checkPort)...)
		}
		vs.RealServers = append(vs.RealServers, *rs)
	}
	if weights > 0 && vs.Quorum > weights {
		d.warn(s["quorum"], fmt.Sprintf("quorum %d exceeds the real servers' total weight %d: keepalived lowers it to %d (read the same way)", vs.Quorum, weights, weights))
		vs.Quorum = weights
	}
	if vs.Hysteresis >= vs.Quorum {
		d.warn(s["hysteresis"], fmt.Sprintf("hysteresis %d is not below quorum %d: keepalived lowers it to %d (read the same way)", vs.Hysteresis, vs.Quorum, vs.Quorum-1))
		vs.Hysteresis = vs.Quorum - 1
	}
}

func resolveCheck(d *decoder, v *vsRaw, r *rsRaw, cr *checkRaw) {
	c := &cr.c
	inherit := func(f func(*checkOpts) optDur, def time.Duration) time.Duration {
		return f(&cr.opts).or(f(&r.opts).or(f(&v.opts).or(def)))
	}
	c.DelayLoop = cr.opts.delayLoop.or(r.rs.DelayLoop)
	retry, dbr := 1, time.Second
	switch c.Type {
	case CheckMisc:
		retry = 0
	case CheckHTTP, CheckSSL:
		dbr = 3 * time.Second
	case CheckDNS:
		// keepalived check_dns.c: retry 3, delay_before_retry the delay_loop.
		retry, dbr = 3, c.DelayLoop
	}
	c.Retry = cr.opts.retry.or(r.opts.retry.or(v.opts.retry.or(retry)))
	c.DelayBeforeRetry = inherit(func(o *checkOpts) optDur { return o.delayBeforeRetry }, dbr)
	c.Warmup = inherit(func(o *checkOpts) optDur { return o.warmup }, c.DelayLoop)
	if c.Type == CheckMisc {
		if c.Misc == nil || len(c.Misc.Args) == 0 {
			d.errf(cr.node, ErrValue, "MISC_CHECK without misc_path")
		}
		if _, set := cr.seen["misc_timeout"]; !set {
			c.MiscTimeout = c.DelayLoop
		}
		return
	}
	c.ConnectTimeout = inherit(func(o *checkOpts) optDur { return o.connectTimeout }, defaultConnectTimeout)
	if !c.ConnectIP.IsValid() {
		c.ConnectIP = r.rs.Addr.Addr()
	}
	if _, set := cr.seen["connect_port"]; !set {
		c.ConnectPort = r.checkPort
	}
	if c.ConnectPort == 0 && c.Type != CheckPing {
		d.errf(cr.node, ErrValue, "%s has no port to connect to (set connect_port)", c.Type)
	}
	if n := cr.nbGetRetry; n != nil {
		if c.Type == CheckTCP {
			d.warn(n, fmt.Sprintf("keepalived 2.2.7 rejects nb_get_retry in TCP_CHECK as an unknown keyword and keeps retry at %d; read as retry %d, as its author meant",
				r.opts.retry.or(v.opts.retry.or(1)), c.Retry))
		} else {
			d.warn(n, "nb_get_retry is the old name of retry (keepalived 2.2.7 reads it the same way but calls it deprecated)")
		}
	}
	if c.Type != CheckHTTP && c.Type != CheckSSL {
		return
	}
	if c.Virtualhost == "" {
		c.Virtualhost = orStr(r.rs.Virtualhost, v.vs.Virtualhost)
	}
	if len(c.URLs) == 0 {
		d.errf(cr.node, ErrValue, "%s without url", c.Type)
	}
	for i := range c.URLs {
		if c.URLs[i].Virtualhost == "" {
			c.URLs[i].Virtualhost = c.Virtualhost
		}
	}
}

// crossCheckLVS rejects two virtual servers for the same service.
func crossCheckLVS(d *decoder, vss []*vsRaw) {
	type key struct {
		ap    netip.AddrPort
		proto Protocol
		mark  uint32
	}
	byKey := map[key]*vsRaw{}
	for _, r := range vss {
		if r.vs.Group != "" {
			continue // crossCheckVSGroups
		}
		k := key{r.vs.Addr, r.vs.Protocol, r.vs.FWMark}
		if prev, dup := byKey[k]; dup {
			d.errf(r.node, ErrReference, "the same virtual server is already defined at %s", prev.vs.Pos)
			continue
		}
		byKey[k] = r
	}
}
