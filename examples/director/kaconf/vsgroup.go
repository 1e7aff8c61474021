package kaconf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxGroupMembers bounds the services one virtual_server_group expands to: an IPv6
// range over the last 16 bits could otherwise ask for 65,536 IPVS services.
const maxGroupMembers = 1024

// VirtualServerGroup is a virtual_server_group: the services that a
// "virtual_server group NAME" block applies its settings and real servers to, one
// IPVS service per address and port, and one per fwmark.
type VirtualServerGroup struct {
	Pos     Pos
	Name    string
	Members []VSGroupMember
}

// VSGroupMember is one line of a virtual_server_group: an address, or a range of
// addresses differing in their last byte (IPv4) or last 16-bit group (IPv6), with a
// port; or a fwmark.
type VSGroupMember struct {
	Pos Pos
	// Addr is the first address and the port; invalid for a fwmark line. Port 0
	// (written as 0 or left out) makes the group's address services persistent, as
	// keepalived does.
	Addr netip.AddrPort
	// Last is the range's last address; Addr's address for a single address.
	Last netip.Addr
	// FWMark is the mark of a "fwmark N" line, 0 otherwise.
	FWMark uint32
	// Family is a fwmark's optional family, "inet" or "inet6"; empty means the
	// real servers' (the first one's).
	Family string
}

// Addrs returns the member's addresses, first to last; nil for a fwmark.
func (m VSGroupMember) Addrs() []netip.Addr {
	if m.FWMark != 0 {
		return nil
	}
	var out []netip.Addr
	for a := m.Addr.Addr(); ; a = a.Next() {
		out = append(out, a)
		if a == m.Last || !a.IsValid() {
			return out
		}
	}
}

// VirtualServerGroup returns the virtual_server_group called name, or nil.
func (c *Config) VirtualServerGroup(name string) *VirtualServerGroup {
	for i := range c.VirtualServerGroups {
		if c.VirtualServerGroups[i].Name == name {
			return &c.VirtualServerGroups[i]
		}
	}
	return nil
}

// vsgRaw is a virtual_server_group as read; bad: one of its lines was an error
// (already reported, so the group is neither empty nor missing).
type vsgRaw struct {
	g   VirtualServerGroup
	bad bool
}

// vsGroupEntry reads a virtual_server_group block.
func vsGroupEntry(d *decoder, n *node, st *state) {
	r := vsgRaw{g: VirtualServerGroup{Pos: n.pos, Name: n.arg(0)}}
	count := 0
	for _, c := range n.children {
		if c.hasBlock {
			d.errf(c, ErrSyntax, "takes no { } block inside virtual_server_group")
			r.bad = true
			continue
		}
		m, ok := vsGroupMember(d, c)
		if !ok {
			r.bad = true
			continue
		}
		if count += max(1, len(m.Addrs())); count > maxGroupMembers {
			d.errf(c, ErrLimit, "virtual_server_group %s has more than %d services", r.g.Name, maxGroupMembers)
			r.bad = true
			break
		}
		r.g.Members = append(r.g.Members, m)
	}
	st.vsgs = append(st.vsgs, r)
}

// vsGroupMember reads one line of a virtual_server_group: "fwmark N", "ADDR [PORT]"
// or "ADDR-END [PORT]", END being the last byte in decimal (IPv4) or the last 16-bit
// group in hex (IPv6), as keepalived 2.2.7's check_data.c reads them.
func vsGroupMember(d *decoder, n *node) (VSGroupMember, bool) {
	m := VSGroupMember{Pos: n.pos}
	if n.key == "fwmark" {
		if len(n.args) != 1 && len(n.args) != 2 {
			d.errf(n, ErrSyntax, "fwmark takes a mark and optionally inet or inet6")
			return m, false
		}
		if len(n.args) == 2 {
			if f := n.arg(1); f != "inet" && f != "inet6" {
				d.errf(n, ErrValue, "fwmark family %q is not inet or inet6", f)
				return m, false
			}
			m.Family = n.arg(1)
		}
		v, err := strconv.ParseUint(n.arg(0), 0, 32)
		if err != nil || v == 0 {
			d.errf(n, ErrValue, "fwmark %q is not a number in 1..4294967295", n.arg(0))
			return m, false
		}
		m.FWMark = uint32(v)
		return m, true
	}
	if len(n.args) > 1 {
		d.errf(n, ErrSyntax, "a virtual_server_group line is ADDRESS[-END] [PORT] or fwmark N")
		return m, false
	}
	var port uint16
	if len(n.args) == 1 {
		p, ok := d.port(n, n.arg(0))
		if !ok {
			return m, false
		}
		port = p
	}
	if strings.Contains(n.key, "/") {
		d.errf(n, ErrValue, "%q: an address/prefix range is not supported; write FIRST-LAST with the last byte (IPv4) or 16-bit group (IPv6)", n.key)
		return m, false
	}
	first, end, isRange := strings.Cut(n.key, "-")
	a, err := netip.ParseAddr(first)
	if err != nil || a.Zone() != "" {
		d.errf(n, ErrValue, "%q is not an IP address", first)
		return m, false
	}
	a = a.Unmap()
	m.Addr, m.Last = netip.AddrPortFrom(a, port), a
	if !isRange {
		return m, true
	}
	base, bitsMax := 10, uint64(255)
	if a.Is6() {
		base, bitsMax = 16, 0xffff
	}
	if strings.ContainsAny(end, ".:") {
		d.errf(n, ErrValue, "%q: a range ends with the last byte (IPv4) or 16-bit group in hex (IPv6), not an address", n.key)
		return m, false
	}
	e, err := strconv.ParseUint(end, base, 32)
	if err != nil || e > bitsMax {
		d.errf(n, ErrValue, "%q: range end %q is not a number in 0..%d", n.key, end, bitsMax)
		return m, false
	}
	var last netip.Addr
	var start uint64
	if a.Is4() {
		b := a.As4()
		start, b[3] = uint64(b[3]), byte(e)
		last = netip.AddrFrom4(b)
	} else {
		b := a.As16()
		start = uint64(b[14])<<8 | uint64(b[15])
		b[14], b[15] = byte(e>>8), byte(e)
		last = netip.AddrFrom16(b)
	}
	if e <= start {
		d.errf(n, ErrValue, "%q: the range end is not greater than its start", n.key)
		return m, false
	}
	m.Last = last
	return m, true
}

// groupKey is one service of a virtual server, for finding two that are the same.
type groupKey struct {
	ap     netip.AddrPort
	proto  Protocol
	mark   uint32
	family string // a fwmark's family in its group ("" when it has none)
}

// resolveVSGroups checks the groups' names and members and joins each
// "virtual_server group NAME" to its group. It returns the groups for the Config.
func resolveVSGroups(d *decoder, groups []vsgRaw, vss []*vsRaw) []VirtualServerGroup {
	byName := map[string]*VirtualServerGroup{}
	var out []VirtualServerGroup
	for i := range groups {
		g := &groups[i].g
		if prev := byName[g.Name]; prev != nil {
			d.add(&Error{Pos: g.Pos, Keyword: "virtual_server_group", Err: fmt.Errorf("%w: virtual_server_group %s is already defined at %s", ErrReference, g.Name, prev.Pos)})
			continue
		}
		if len(g.Members) == 0 && !groups[i].bad {
			d.add(&Error{Pos: g.Pos, Keyword: "virtual_server_group", Err: fmt.Errorf("%w: virtual_server_group %s has no entries", ErrValue, g.Name)})
			continue
		}
		byName[g.Name] = g
		seen := map[groupKey]Pos{}
		for _, m := range g.Members {
			for _, k := range memberKeys(m, "") {
				if p, dup := seen[k]; dup {
					d.add(&Error{Pos: m.Pos, Keyword: "virtual_server_group", Err: fmt.Errorf("%w: %s is already in virtual_server_group %s at %s", ErrReference, keyString(k), g.Name, p)})
					break
				}
				seen[k] = m.Pos
			}
		}
		out = append(out, *g)
	}
	for _, r := range vss {
		if r.vs.Group == "" {
			continue
		}
		if r.grp = byName[r.vs.Group]; r.grp == nil {
			d.errf(r.node, ErrReference, "virtual_server_group %s is not defined", r.vs.Group)
		}
	}
	return out
}

func memberKeys(m VSGroupMember, proto Protocol) []groupKey {
	if m.FWMark != 0 {
		// One mark serves IPv4 and IPv6 as two services.
		return []groupKey{{mark: m.FWMark, family: m.Family}}
	}
	var out []groupKey
	for _, a := range m.Addrs() {
		out = append(out, groupKey{ap: netip.AddrPortFrom(a, m.Addr.Port()), proto: proto})
	}
	return out
}

func keyString(k groupKey) string {
	if k.mark != 0 {
		return strings.TrimSpace("fwmark " + strconv.FormatUint(uint64(k.mark), 10) + " " + k.family)
	}
	return k.ap.String()
}

// markOnly reports whether the virtual server is only fwmark services (its
// protocol is then ignored, as keepalived does).
func (r *vsRaw) markOnly() bool {
	if r.vs.Group == "" || r.grp == nil {
		return r.vs.FWMark != 0
	}
	for _, m := range r.grp.Members {
		if m.FWMark == 0 {
			return false
		}
	}
	return true
}

// zeroPort reports whether the virtual server has an address service with port 0,
// itself or in its group (keepalived then makes it persistent).
func (r *vsRaw) zeroPort() bool {
	if r.vs.Group == "" {
		return r.vs.FWMark == 0 && r.vs.Addr.Port() == 0
	}
	if r.grp == nil {
		return false
	}
	for _, m := range r.grp.Members {
		if m.FWMark == 0 && m.Addr.Port() == 0 {
			return true
		}
	}
	return false
}

// crossCheckVSGroups rejects a group's service that another virtual server (with a
// group or without) already defines; crossCheckLVS compares the others among
// themselves.
func crossCheckVSGroups(d *decoder, vss []*vsRaw) {
	owner := map[groupKey]*vsRaw{}
	for _, r := range vss {
		if r.vs.Group == "" {
			owner[groupKey{ap: r.vs.Addr, proto: r.vs.Protocol, mark: r.vs.FWMark}] = r
		}
	}
	for _, r := range vss {
		if r.grp == nil {
			continue
		}
		for _, m := range r.grp.Members {
			proto := r.vs.Protocol
			if m.FWMark != 0 {
				proto = ""
			}
			for _, k := range memberKeys(m, proto) {
				if prev, dup := owner[k]; dup && prev != r {
					d.errf(r.node, ErrReference, "%s of virtual_server_group %s is already defined by the virtual server at %s", keyString(k), r.vs.Group, prev.vs.Pos)
					break
				}
				owner[k] = r
			}
		}
	}
}

// formatVSGroupMember is a member's line as the reader reads it.
func formatVSGroupMember(m VSGroupMember) []string {
	if m.FWMark != 0 {
		if m.Family != "" {
			return []string{"fwmark", strconv.FormatUint(uint64(m.FWMark), 10), m.Family}
		}
		return []string{"fwmark", strconv.FormatUint(uint64(m.FWMark), 10)}
	}
	a := m.Addr.Addr().String()
	if m.Last != m.Addr.Addr() {
		if m.Last.Is4() {
			a += "-" + strconv.Itoa(int(m.Last.As4()[3]))
		} else {
			b := m.Last.As16()
			a += "-" + strconv.FormatUint(uint64(b[14])<<8|uint64(b[15]), 16)
		}
	}
	return []string{a, strconv.Itoa(int(m.Addr.Port()))}
}

func formatVSGroup(w *writer, g *VirtualServerGroup) {
	w.open("virtual_server_group", word(g.Name))
	for _, m := range g.Members {
		w.line(formatVSGroupMember(m)...)
	}
	w.close()
}
