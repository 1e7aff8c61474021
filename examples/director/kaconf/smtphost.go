package kaconf

import (
	"fmt"
	"net/netip"
	"time"
)

// SMTP_CHECK's host sub-blocks, which keepalived 2.2.7 still reads though its
// source calls them deprecated (check_smtp.c: "define additional checkers"). Each
// host is one more SMTP check of the real server, as keepalived queues one more
// checker per host:
//   - A host's connection lines (connect_ip, connect_port, bindto, bind_port,
//     connect_timeout) are its own; its address defaults to the real server's
//     address and port. Its other lines (retry, delay_before_retry, warmup,
//     delay_loop) set the SMTP_CHECK's, which every host's check copies.
//   - When the SMTP_CHECK itself sets no connection line, its first host takes its
//     place (keepalived: "use that host entry's connection options for the main
//     checker"); otherwise the SMTP_CHECK checks too, with its own options.

// smtpHost is one host { } block.
type smtpHost struct {
	node     *node
	seen     seen
	ip       netip.Addr
	port     uint16
	bindTo   netip.Addr
	bindPort uint16
	timeout  optDur
}

// hostRaw is what a host block's lines write to: the host, and for the lines that
// are not about the connection, the SMTP_CHECK around it.
type hostRaw struct {
	h      *smtpHost
	parent *checkRaw
}

// smtpConnKeywords are the lines that make an SMTP_CHECK or host a connection of
// its own.
var smtpConnKeywords = []string{"connect_ip", "connect_port", "bindto", "bind_port", "connect_timeout"}

func smtpHostTable() table[hostRaw] {
	// keepalived's retry, delay_before_retry, warmup and delay_loop handlers write
	// the current checker, also inside a host block; the connection lines, below,
	// are the host's own (connect_timeout among them).
	tb := table[hostRaw]{}
	checkOptEntries(tb, func(t *hostRaw) *checkOpts { return &t.parent.opts })
	tb["connect_ip"] = addrEntry(func(t *hostRaw, a netip.Addr) { t.h.ip = a })
	tb["connect_port"] = portEntry(func(t *hostRaw, p uint16) { t.h.port = p })
	tb["bindto"] = addrEntry(func(t *hostRaw, a netip.Addr) { t.h.bindTo = a })
	tb["bind_port"] = portEntry(func(t *hostRaw, p uint16) { t.h.bindPort = p })
	tb["connect_timeout"] = secEntry(0, maxTimer, func(t *hostRaw, v time.Duration) { t.h.timeout = optDur{v, true} })
	return tb
}

// smtpHostEntry is SMTP_CHECK's host keyword.
func smtpHostEntry() entry[checkRaw] {
	return entry[checkRaw]{block: true, fn: func(d *decoder, n *node, t *checkRaw) {
		h := &smtpHost{node: n}
		h.seen = decode(d, "host", n.children, &hostRaw{h: h, parent: t}, cachedTable(d, "host", smtpHostTable))
		t.hosts = append(t.hosts, h)
	}}
}

// expandSMTPHosts returns the checks of a resolved SMTP_CHECK with host blocks:
// one per host, plus the SMTP_CHECK's own when it sets a connection line. c is the
// resolved SMTP_CHECK; rsAddr and rsPort are the real server's address and the
// port its checks connect to by default.
func expandSMTPHosts(d *decoder, cr *checkRaw, c Check, rsAddr netip.Addr, rsPort uint16) []Check {
	if len(cr.hosts) == 0 {
		return []Check{c}
	}
	own := ownConnection(cr)
	n := len(cr.hosts)
	if own {
		n++
	}
	d.warn(cr.node, fmt.Sprintf("SMTP_CHECK host blocks are deprecated in keepalived 2.2.7 (\"define additional checkers\"); read as keepalived reads them: %d SMTP checks", n))
	var out []Check
	if own {
		out = append(out, c)
	}
	for _, h := range cr.hosts {
		hc := c
		hc.Pos = h.node.pos
		hc.ConnectIP, hc.ConnectPort = rsAddr, rsPort
		if h.ip.IsValid() {
			hc.ConnectIP = h.ip
		}
		if _, set := h.seen["connect_port"]; set {
			hc.ConnectPort = h.port
		}
		hc.BindTo, hc.BindPort = h.bindTo, h.bindPort
		if h.timeout.set {
			hc.ConnectTimeout = h.timeout.v
		} else {
			d.warn(h.node, fmt.Sprintf("host without connect_timeout: keepalived 2.2.7 leaves its connect timeout at 0 (a host's options start zeroed, check_smtp.c); the director gives it the SMTP_CHECK's, %v", c.ConnectTimeout))
		}
		if hc.BindTo.IsValid() && hc.BindTo.Is4() != hc.ConnectIP.Is4() {
			d.errf(h.node, ErrValue, "host: bindto %v is not of connect_ip %v's family", hc.BindTo, hc.ConnectIP)
			continue
		}
		if hc.ConnectPort == 0 {
			d.errf(h.node, ErrValue, "host has no port to connect to (set connect_port)")
			continue
		}
		out = append(out, hc)
	}
	return out
}

// ownConnection reports whether the SMTP_CHECK sets a connection line of its own,
// which makes it a check beside its hosts'.
func ownConnection(cr *checkRaw) bool {
	for _, k := range smtpConnKeywords {
		if _, set := cr.seen[k]; set {
			return true
		}
	}
	return false
}
