package kaconf

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Rule is one line of a virtual_rules block (in a vrrp_instance) or of the top-level
// static_rules block: an IP policy routing rule. The reader accepts a subset of
// keepalived 2.2.7's rule syntax, every word of which maps to one FIB rule attribute:
//
//	[from PREFIX|all] [to PREFIX|all] [not] [preference|priority|order N]
//	    [tos|dsfield N] [fwmark N[/MASK]] [iif|dev IFNAME] [oif IFNAME]
//	    [uidrange A-B] [ipproto PROTO] [sport P-Q] [dport P-Q]
//	    [suppress_prefixlength|sup_pl N] ACTION
//	ACTION: table|lookup TABLE | goto N | nop | blackhole | unreachable | prohibit
//	    (each may follow "type")
//
// Any other option (inet, inet6, realms, l3mdev, protocol, no_track, track_group,
// tunnel-id, suppress_ifgroup, ...) is an error naming it. A rule without a preference gets one
// as keepalived gives it, counting down from 16384 per family, with keepalived's
// warning.
type Rule struct {
	Pos Pos
	// V6 is the family: an IPv6 from or to makes it IPv6; the default is IPv4.
	V6 bool
	// From and To are the selectors; invalid (the zero Prefix) means all.
	From, To netip.Prefix
	// Not is not: the selector is inverted.
	Not bool
	// Priority is preference (priority, order).
	Priority uint32
	// TOS is tos (dsfield); 0 matches any.
	TOS uint8
	// FwMark and FwMask are fwmark N[/MASK]; 0 and 0 when unset. A mask of 0 with
	// a mark means the kernel's default, all ones.
	FwMark, FwMask uint32
	// Iif is iif (dev); Oif is oif. Empty when unset.
	Iif, Oif string
	// UIDRange is uidrange A-B; HasUIDRange says it is set.
	UIDRange    [2]uint32
	HasUIDRange bool
	// IPProto is ipproto (a number or a protocol name); 0 when unset.
	IPProto uint8
	// SPort and DPort are sport and dport ranges; {0, 0} when unset.
	SPort, DPort [2]uint16
	// SuppressPrefixLen is suppress_prefixlength; HasSuppressPrefixLen says it is set.
	SuppressPrefixLen    uint32
	HasSuppressPrefixLen bool
	// Action is "table" (Table is its table, never 0: main is 254), "goto" (Goto is
	// the target preference), "nop", "blackhole", "unreachable" or "prohibit".
	Action string
	Table  uint32
	Goto   uint32
}

// ruleStartPriority is where keepalived 2.2.7 starts the preferences it gives
// rules without one, per family, counting down.
const ruleStartPriority = 16384

// ruleActions are the actions a rule line may name (also after "type").
var ruleActions = []string{"goto", "nop", "blackhole", "unreachable", "prohibit"}

// ruleRefused are keepalived's rule options the reader refuses by name.
var ruleRefused = []string{"realms", "l3mdev", "protocol", "no_track", "track_group", "tunnel-id", "suppress_ifgroup", "sup_group"}

// ipProtoNames are the protocol names ipproto takes besides numbers (the ones
// /etc/protocols names that policy routing is used with).
var ipProtoNames = map[string]uint8{"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
	"ipv6-icmp": 58, "icmpv6": 58, "sctp": 132, "udplite": 136}

// rules reads the lines of a virtual_rules or static_rules block.
func rules(d *decoder, block *node) []Rule { return blockLines(d, block, readRule) }

// ruleSelector reads the value of from or to: a prefix (an address alone is a
// host), or all, any, default for none.
func ruleSelector(d *decoder, block string, n *node, opt, val string) (netip.Prefix, bool, bool) {
	switch val {
	case "all", "any", "default":
		return netip.Prefix{}, false, true
	}
	v, ok := vip(d, &node{pos: n.pos, key: val})
	if !ok {
		return netip.Prefix{}, false, false
	}
	if v.Prefix != v.Prefix.Masked() {
		d.errf(n, ErrValue, "%s: %s %s has bits set past its length (%s)", block, opt, val, v.Prefix.Masked())
		return netip.Prefix{}, false, false
	}
	return v.Prefix, true, true
}

func readRule(d *decoder, block string, n *node) (Rule, bool) {
	r := Rule{Pos: n.pos}
	words := []string{n.key}
	for _, a := range n.args {
		words = append(words, a.text)
	}
	family := 0 // 4, 6 or 0 while unknown
	setFamily := func(f int, why string) bool {
		if family != 0 && family != f {
			d.errf(n, ErrValue, "%s: %s mixes IPv4 and IPv6", block, why)
			return false
		}
		family = f
		return true
	}
	hasPrio := false
	bad := func(opt, val, what string) (Rule, bool) {
		d.errf(n, ErrValue, "%s: %s %q is not %s", block, opt, val, what)
		return r, false
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch w {
		case "inet", "inet6":
			// keepalived 2.2.7 skips the word after inet or inet6 too, so what
			// it reads is not what the line says.
			d.errf(n, ErrUnknownKeyword, "%s option %q is not supported (keepalived 2.2.7 ignores the word after it; from or to set the family)", block, w)
			return r, false
		case "not":
			r.Not = true
			continue
		case "nop", "blackhole", "unreachable", "prohibit":
			if r.Action != "" {
				d.errf(n, ErrValue, "%s: a rule has one action (%s and %s)", block, r.Action, w)
				return r, false
			}
			r.Action = w
			continue
		}
		if contains(ruleRefused, w) {
			d.errf(n, ErrUnknownKeyword, "%s option %q is not supported", block, w)
			return r, false
		}
		takes := []string{"from", "to", "table", "lookup", "preference", "priority", "order", "tos", "dsfield",
			"fwmark", "iif", "dev", "oif", "uidrange", "ipproto", "sport", "dport", "suppress_prefixlength", "sup_pl", "goto", "type"}
		if !contains(takes, w) {
			d.errf(n, ErrUnknownKeyword, "%s option %q is not supported", block, w)
			return r, false
		}
		if i+1 >= len(words) {
			d.errf(n, ErrSyntax, "%s option %s needs a value", block, w)
			return r, false
		}
		i++
		val := words[i]
		if w == "type" {
			if !contains(ruleActions, val) {
				d.errf(n, ErrUnknownKeyword, "%s: rule type %q is not supported (only %s)", block, val, strings.Join(ruleActions, ", "))
				return r, false
			}
			if val != "goto" {
				i-- // read the action as a word of its own
				continue
			}
			w = "goto"
			if i+1 >= len(words) {
				d.errf(n, ErrSyntax, "%s option goto needs a value", block)
				return r, false
			}
			i++
			val = words[i]
		}
		switch w {
		case "from", "to":
			p, set, ok := ruleSelector(d, block, n, w, val)
			if !ok {
				return r, false
			}
			if set {
				f := 4
				if p.Addr().Is6() {
					f = 6
				}
				if !setFamily(f, w+" "+val) {
					return r, false
				}
			}
			if w == "from" {
				r.From = p
			} else {
				r.To = p
			}
		case "table", "lookup":
			if r.Action != "" {
				d.errf(n, ErrValue, "%s: a rule has one action (%s and table)", block, r.Action)
				return r, false
			}
			t, ok := ruleTable(val)
			if !ok {
				return bad(w, val, "main, local, default or a number in 1..4294967295")
			}
			r.Action, r.Table = "table", t
		case "goto":
			if r.Action != "" {
				d.errf(n, ErrValue, "%s: a rule has one action (%s and goto)", block, r.Action)
				return r, false
			}
			g, err := strconv.ParseUint(val, 0, 32)
			if err != nil {
				return bad(w, val, "a number in 0..4294967295")
			}
			r.Action, r.Goto = "goto", uint32(g)
		case "preference", "priority", "order":
			p, err := strconv.ParseUint(val, 0, 32)
			if err != nil {
				return bad(w, val, "a number in 0..4294967295")
			}
			r.Priority, hasPrio = uint32(p), true
		case "tos", "dsfield":
			t, err := strconv.ParseUint(val, 0, 8)
			if err != nil {
				return bad(w, val, "a number in 0..255 (names from rt_dsfield are not read)")
			}
			r.TOS = uint8(t)
		case "fwmark":
			ms, mask, hasMask := strings.Cut(val, "/")
			m, err := strconv.ParseUint(ms, 0, 32)
			var k uint64
			if err == nil && hasMask {
				k, err = strconv.ParseUint(mask, 0, 32)
			}
			if err != nil || (hasMask && k == 0) {
				return bad(w, val, "N or N/MASK with numbers in 0..4294967295 and a mask other than 0")
			}
			if k == 0xffffffff {
				k = 0 // the kernel's default
			}
			r.FwMark, r.FwMask = uint32(m), uint32(k)
		case "iif", "dev", "oif":
			if len(val) > maxIfNameLen {
				return bad(w, val, "an interface name (at most 15 bytes)")
			}
			if w == "oif" {
				r.Oif = val
			} else {
				r.Iif = val
			}
		case "uidrange":
			a, b, ok := strings.Cut(val, "-")
			lo, err1 := strconv.ParseUint(a, 10, 32)
			hi, err2 := strconv.ParseUint(b, 10, 32)
			if !ok || err1 != nil || err2 != nil || lo > hi || hi == 0xffffffff {
				// The kernel refuses 4294967295, the invalid user ID ("Invalid uid
				// range"), which keepalived 2.2.7 would send.
				return bad(w, val, "a range A-B of user IDs with A <= B < 4294967295")
			}
			r.UIDRange, r.HasUIDRange = [2]uint32{uint32(lo), uint32(hi)}, true
		case "ipproto":
			p, ok := ipProtoNames[val]
			if !ok {
				v, err := strconv.ParseUint(val, 10, 8)
				if err != nil || v > 127 || v == 0 {
					return bad(w, val, "a protocol number in 1..127 or one of tcp, udp, icmp, ipv6-icmp, sctp, gre, esp, ah, igmp, udplite")
				}
				p = uint8(v)
			}
			r.IPProto = p
		case "sport", "dport":
			// keepalived 2.2.7 refuses a single port ("invalid sport range"):
			// write P-P.
			a, b, ranged := strings.Cut(val, "-")
			lo, err1 := strconv.ParseUint(a, 10, 16)
			hi, err2 := strconv.ParseUint(b, 10, 16)
			if !ranged || err1 != nil || err2 != nil || lo == 0 || lo > hi {
				return bad(w, val, "a range P-Q of ports in 1..65535 with P <= Q (keepalived 2.2.7 takes no single port)")
			}
			if w == "sport" {
				r.SPort = [2]uint16{uint16(lo), uint16(hi)}
			} else {
				r.DPort = [2]uint16{uint16(lo), uint16(hi)}
			}
		case "suppress_prefixlength", "sup_pl":
			s, err := strconv.ParseUint(val, 10, 31)
			if err != nil {
				return bad(w, val, "a number in 0..2147483647")
			}
			r.SuppressPrefixLen, r.HasSuppressPrefixLen = uint32(s), true
		}
	}
	r.V6 = family == 6
	switch {
	case r.Action == "":
		d.errf(n, ErrValue, "%s: rule has no action (table, goto, nop, blackhole, unreachable or prohibit)", block)
		return r, false
	case r.Action == "goto" && !hasPrio:
		d.errf(n, ErrValue, "%s: goto %d needs a preference", block, r.Goto)
		return r, false
	case r.Action == "goto" && r.Priority >= r.Goto:
		d.errf(n, ErrValue, "%s: preference %d is not below goto target %d", block, r.Priority, r.Goto)
		return r, false
	case r.Action != "table" && r.HasSuppressPrefixLen:
		d.errf(n, ErrValue, "%s: suppress_prefixlength needs a table action, not %s", block, r.Action)
		return r, false
	}
	if !hasPrio {
		p := &d.rulePrio4
		if r.V6 {
			p = &d.rulePrio6
		}
		r.Priority = ruleStartPriority - *p
		*p++
		d.warn(n, fmt.Sprintf("rule has no preference: set to %d as keepalived 2.2.7 does (\"This is probably not what you want\")", r.Priority))
	}
	return r, true
}

func ruleTable(val string) (uint32, bool) {
	switch val {
	case "main":
		return 254, true
	case "local":
		return 255, true
	case "default":
		return 253, true
	}
	t, err := strconv.ParseUint(val, 10, 32)
	if err != nil || t == 0 {
		return 0, false
	}
	return uint32(t), true
}

// String returns r as the canonical line Format writes.
func (r Rule) String() string { return strings.Join(formatRule(r), " ") }

// formatRule writes r as one canonical line.
func formatRule(r Rule) []string {
	var parts []string
	if r.From.IsValid() {
		parts = append(parts, "from", r.From.String())
	}
	if r.To.IsValid() {
		parts = append(parts, "to", r.To.String())
	}
	if r.Not {
		parts = append(parts, "not")
	}
	u := func(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
	parts = append(parts, "preference", u(r.Priority))
	if r.TOS != 0 {
		parts = append(parts, "tos", u(uint32(r.TOS)))
	}
	if r.FwMark != 0 || r.FwMask != 0 {
		m := u(r.FwMark)
		if r.FwMask != 0 {
			m += "/" + fmt.Sprintf("%#x", r.FwMask)
		}
		parts = append(parts, "fwmark", m)
	}
	if r.Iif != "" {
		parts = append(parts, "iif", word(r.Iif))
	}
	if r.Oif != "" {
		parts = append(parts, "oif", word(r.Oif))
	}
	if r.HasUIDRange {
		parts = append(parts, "uidrange", u(r.UIDRange[0])+"-"+u(r.UIDRange[1]))
	}
	if r.IPProto != 0 {
		parts = append(parts, "ipproto", u(uint32(r.IPProto)))
	}
	for _, p := range []struct {
		k string
		v [2]uint16
	}{{"sport", r.SPort}, {"dport", r.DPort}} {
		if p.v[0] != 0 {
			parts = append(parts, p.k, u(uint32(p.v[0]))+"-"+u(uint32(p.v[1])))
		}
	}
	if r.HasSuppressPrefixLen {
		parts = append(parts, "suppress_prefixlength", u(r.SuppressPrefixLen))
	}
	switch r.Action {
	case "table":
		parts = append(parts, "table", u(r.Table))
	case "goto":
		parts = append(parts, "goto", u(r.Goto))
	default:
		parts = append(parts, r.Action)
	}
	return parts
}

// formatRules writes a virtual_rules or static_rules block.
func formatRules(w *writer, key string, rs []Rule) {
	if len(rs) == 0 {
		return
	}
	w.open(key)
	for _, r := range rs {
		w.line(formatRule(r)...)
	}
	w.close()
}

// staticRulesEntry reads a top-level static_rules block; several merge in order.
func staticRulesEntry(d *decoder, n *node, st *state) {
	st.srules = append(st.srules, rules(d, n)...)
}

// staticAddressesEntry reads a top-level static_ipaddress block; several merge in
// order. An address without dev is on global default_interface (eth0 without it),
// set when the file has been read.
func staticAddressesEntry(d *decoder, n *node, st *state) {
	st.saddrs = append(st.saddrs, vips(d, n)...)
}

// ruleWords are the option words and actions a rule line may contain, sorted.
func ruleWords() []string {
	w := []string{"dev", "dport", "dsfield", "from", "fwmark", "iif", "ipproto", "lookup", "not",
		"oif", "order", "preference", "priority", "sport", "sup_pl", "suppress_prefixlength", "table", "to", "tos",
		"type", "uidrange"}
	w = append(w, ruleActions...)
	slices.Sort(w)
	return w
}
