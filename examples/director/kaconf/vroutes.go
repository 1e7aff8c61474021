package kaconf

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Route is one line of a virtual_routes block (in a vrrp_instance) or of the top-level
// static_routes block. The reader accepts a subset of keepalived's route syntax:
//
//	[src ADDR] [to] [TYPE] PREFIX|default [via|gw ADDR [or ADDR]] [dev|oif IFNAME]
//	    [scope SCOPE] [table TABLE] [metric|priority|preference N]
//	    [nexthop [via|gw ADDR] [dev IFNAME] [weight N] ...]
//
// TYPE is unicast (the default), blackhole, unreachable or prohibit. A unicast route
// needs via, dev or nexthops; the other types take none. "via A or B" is keepalived's
// deprecated form of a multipath route through A and B; nexthop lines, as keepalived
// reads them, end the line. Any other option (protocol, mtu, onlink, tos, no_track,
// track_group, a nexthop's onlink, realms or encap, ...) and any other type is an
// error naming it.
type Route struct {
	Pos Pos
	// Type is "" (unicast), "blackhole", "unreachable" or "prohibit".
	Type string
	// Dst is the destination; "default" reads as 0.0.0.0/0 (::/0 when via or src
	// is IPv6). An address without a length is a host route.
	Dst netip.Prefix
	// Src is src (the preferred source address); Via is via or gw. Invalid when
	// unset.
	Src netip.Addr
	Via netip.Addr
	// Dev is dev or oif.
	Dev string
	// Scope is scope: "" (global), site, link, host or nowhere.
	Scope string
	// Table is table: 0 means main (254), as in keepalived.
	Table uint32
	// Metric is metric (priority, preference); 0 when unset.
	Metric uint32
	// Nexthops are a multipath route's next hops ("or" or nexthop); empty for a
	// route with one. Via is then unset; Dev, when set, is the device of the next
	// hops that name none.
	Nexthops []Nexthop
}

// Nexthop is one next hop of a multipath route.
type Nexthop struct {
	// Via is the gateway; invalid when the next hop names only a device.
	Via netip.Addr
	// Dev is the device; empty means Route.Dev, or the one the kernel finds for Via.
	Dev string
	// Weight is 1..256; 0 means 1, the kernel's default.
	Weight int
}

// routeTypes are the route types the reader accepts before the destination.
var routeTypes = []string{"unicast", "blackhole", "unreachable", "prohibit"}

// otherRouteTypes are keepalived's other types, refused by name.
var otherRouteTypes = []string{"local", "broadcast", "anycast", "multicast", "throw", "nat", "xresolve"}

var routeScopes = []string{"global", "site", "link", "host", "nowhere"}

// routes reads the lines of a virtual_routes or static_routes block.
func routes(d *decoder, block *node) []Route { return blockLines(d, block, readRoute) }

// blockLines reads each line of a block whose lines are values (routes, rules) with
// read; a nested block is an error.
func blockLines[T any](d *decoder, block *node, read func(d *decoder, block string, n *node) (T, bool)) []T {
	var out []T
	for _, n := range block.children {
		if n.hasBlock {
			d.errf(n, ErrSyntax, "takes no { } block inside %s", block.key)
			continue
		}
		if v, ok := read(d, block.key, n); ok {
			out = append(out, v)
		}
	}
	return out
}

func readRoute(d *decoder, block string, n *node) (Route, bool) {
	r := Route{Pos: n.pos}
	words := []string{n.key}
	for _, a := range n.args {
		words = append(words, a.text)
	}
	var dst string
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch w {
		case "src", "via", "gw", "dev", "oif", "scope", "table", "metric", "priority", "preference":
			if w == "gw" {
				d.warn(n, `"gw" for routes is deprecated in keepalived 2.2.7: write "via" (read the same way)`)
			}
			if i+1 >= len(words) {
				d.errf(n, ErrSyntax, "%s option %s needs a value", block, w)
				return r, false
			}
			i++
			if !routeOption(d, block, n, &r, w, words[i]) {
				return r, false
			}
			continue
		}
		if w == "or" && dst != "" {
			// keepalived 2.2.7 vrrp_iproute.c: via's address and this one become
			// the two next hops; a second or is ignored.
			if i+1 >= len(words) {
				d.errf(n, ErrSyntax, "%s option or needs an address", block)
				return r, false
			}
			i++
			if len(r.Nexthops) > 0 {
				d.warn(n, fmt.Sprintf(`second "or" %s: keepalived 2.2.7 ignores it ("or" route already specified; read the same way)`, words[i]))
				continue
			}
			if !r.Via.IsValid() {
				d.errf(n, ErrValue, `%s: "or" %s needs a via before it`, block, words[i])
				return r, false
			}
			a, err := netip.ParseAddr(words[i])
			if err != nil || a.Zone() != "" {
				d.errf(n, ErrValue, "%s: or %q is not an address", block, words[i])
				return r, false
			}
			d.warn(n, `"or" for routes is deprecated in keepalived 2.2.7: write "nexthop via A nexthop via B" (read the same way: a multipath route)`)
			r.Nexthops = []Nexthop{{Via: r.Via}, {Via: a.Unmap()}}
			r.Via = netip.Addr{}
			continue
		}
		if w == "nexthop" && dst != "" {
			if len(r.Nexthops) > 0 {
				d.errf(n, ErrValue, `%s: nexthop with "or" (keepalived 2.2.7: "Cannot specify nexthops with \"or\" route")`, block)
				return r, false
			}
			nhs, ok := readNexthops(d, block, n, words[i:])
			if !ok {
				return r, false
			}
			r.Nexthops = nhs
			break
		}
		if dst != "" {
			d.errf(n, ErrUnknownKeyword, "%s option %q is not supported", block, w)
			return r, false
		}
		if w == "to" && i+1 < len(words) {
			i++
			w = words[i]
		}
		if contains(routeTypes, w) || contains(otherRouteTypes, w) {
			if !contains(routeTypes, w) {
				d.errf(n, ErrUnknownKeyword, "%s route type %q is not supported (only unicast, blackhole, unreachable, prohibit)", block, w)
				return r, false
			}
			if w != "unicast" {
				r.Type = w
			}
			if i+1 >= len(words) {
				d.errf(n, ErrSyntax, "%s: route type %s needs a destination", block, w)
				return r, false
			}
			i++
			w = words[i]
		}
		dst = w
	}
	if dst == "" {
		d.errf(n, ErrSyntax, "%s: route has no destination", block)
		return r, false
	}
	six := (r.Via.IsValid() && r.Via.Is6()) || (r.Src.IsValid() && r.Src.Is6()) ||
		(len(r.Nexthops) > 0 && r.Nexthops[0].Via.IsValid() && r.Nexthops[0].Via.Is6())
	if dst == "default" {
		if six {
			r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		} else {
			r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		}
	} else {
		v, ok := vip(d, &node{pos: n.pos, key: dst})
		if !ok {
			return r, false
		}
		r.Dst = v.Prefix
		if r.Dst != r.Dst.Masked() {
			d.errf(n, ErrValue, "%s: destination %s has bits set past its length (%s)", block, dst, r.Dst.Masked())
			return r, false
		}
	}
	is4 := r.Dst.Addr().Is4()
	for _, a := range []struct {
		name string
		addr netip.Addr
	}{{"src", r.Src}, {"via", r.Via}} {
		if a.addr.IsValid() && a.addr.Is4() != is4 {
			d.errf(n, ErrValue, "%s: %s %s is not of the destination's family (%s)", block, a.name, a.addr, r.Dst)
			return r, false
		}
	}
	for _, nh := range r.Nexthops {
		if nh.Via.IsValid() && nh.Via.Is4() != is4 {
			d.errf(n, ErrValue, "%s: next hop %s is not of the destination's family (%s)", block, nh.Via, r.Dst)
			return r, false
		}
	}
	switch {
	case r.Type != "" && (r.Via.IsValid() || r.Dev != "" || len(r.Nexthops) > 0):
		d.errf(n, ErrValue, "%s: a %s route takes no via, dev or next hops", block, r.Type)
		return r, false
	case r.Via.IsValid() && len(r.Nexthops) > 0:
		d.errf(n, ErrValue, "%s: route to %s has both via and next hops", block, r.Dst)
		return r, false
	case r.Type == "" && !r.Via.IsValid() && r.Dev == "" && len(r.Nexthops) == 0:
		d.errf(n, ErrValue, "%s: route to %s needs via or dev", block, r.Dst)
		return r, false
	}
	return r, true
}

// readNexthops reads "nexthop [via|gw ADDR] [dev IFNAME] [weight N] nexthop ..." to
// the end of a route line, as keepalived 2.2.7's parse_nexthops does for the options
// the director supports; its others are refused by name.
func readNexthops(d *decoder, block string, n *node, words []string) ([]Nexthop, bool) {
	var out []Nexthop
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "nexthop" {
			out = append(out, Nexthop{})
			continue
		}
		nh := &out[len(out)-1]
		switch w {
		case "via", "gw", "dev", "weight":
		default:
			d.errf(n, ErrUnknownKeyword, "%s: nexthop option %q is not supported (only via, dev and weight)", block, w)
			return nil, false
		}
		if i+1 >= len(words) {
			d.errf(n, ErrSyntax, "%s: nexthop option %s needs a value", block, w)
			return nil, false
		}
		i++
		v := words[i]
		switch w {
		case "via", "gw":
			a, err := netip.ParseAddr(v)
			if err != nil || a.Zone() != "" {
				d.errf(n, ErrValue, "%s: nexthop %s %q is not an address", block, w, v)
				return nil, false
			}
			nh.Via = a.Unmap()
		case "dev":
			if len(v) > maxIfNameLen {
				d.errf(n, ErrValue, "%s: nexthop dev %q is longer than an interface name can be", block, v)
				return nil, false
			}
			nh.Dev = v
		case "weight":
			wt, err := strconv.Atoi(v)
			if err != nil || wt < 1 || wt > 256 {
				d.errf(n, ErrValue, "%s: nexthop weight %q is not a number in 1..256", block, v)
				return nil, false
			}
			nh.Weight = wt
		}
	}
	for _, nh := range out {
		if !nh.Via.IsValid() && nh.Dev == "" {
			d.errf(n, ErrValue, "%s: a nexthop needs via or dev", block)
			return nil, false
		}
	}
	return out, true
}

func routeOption(d *decoder, block string, n *node, r *Route, opt, val string) bool {
	switch opt {
	case "src", "via", "gw":
		a, err := netip.ParseAddr(val)
		if err != nil || a.Zone() != "" {
			d.errf(n, ErrValue, "%s: %s %q is not an address", block, opt, val)
			return false
		}
		if opt == "src" {
			r.Src = a.Unmap()
		} else {
			r.Via = a.Unmap()
		}
	case "dev", "oif":
		r.Dev = val
	case "scope":
		if !contains(routeScopes, val) {
			d.errf(n, ErrValue, "%s: scope %q is not one of %s", block, val, strings.Join(routeScopes, ", "))
			return false
		}
		if val != "global" {
			r.Scope = val
		}
	case "table":
		switch val {
		case "main":
			r.Table = 0
		case "local":
			r.Table = 255
		case "default":
			r.Table = 253
		default:
			t, err := strconv.ParseUint(val, 10, 32)
			if err != nil || t == 0 {
				d.errf(n, ErrValue, "%s: table %q is not main, local, default or a number in 1..4294967295", block, val)
				return false
			}
			if t != 254 {
				r.Table = uint32(t)
			}
		}
	default: // metric, priority, preference
		m, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			d.errf(n, ErrValue, "%s: %s %q is not a number in 0..4294967295", block, opt, val)
			return false
		}
		r.Metric = uint32(m)
	}
	return true
}

// formatRoutes writes a virtual_routes or static_routes block.
func formatRoutes(w *writer, key string, rs []Route) {
	if len(rs) == 0 {
		return
	}
	w.open(key)
	for _, r := range rs {
		var parts []string
		if r.Type != "" {
			parts = append(parts, r.Type)
		}
		parts = append(parts, r.Dst.String())
		if r.Src.IsValid() {
			parts = append(parts, "src", r.Src.String())
		}
		if r.Via.IsValid() {
			parts = append(parts, "via", r.Via.String())
		}
		if r.Dev != "" {
			parts = append(parts, "dev", word(r.Dev))
		}
		if r.Scope != "" {
			parts = append(parts, "scope", r.Scope)
		}
		if r.Table != 0 {
			parts = append(parts, "table", strconv.FormatUint(uint64(r.Table), 10))
		}
		if r.Metric != 0 {
			parts = append(parts, "metric", strconv.FormatUint(uint64(r.Metric), 10))
		}
		for _, nh := range r.Nexthops {
			parts = append(parts, "nexthop")
			if nh.Via.IsValid() {
				parts = append(parts, "via", nh.Via.String())
			}
			if nh.Dev != "" {
				parts = append(parts, "dev", word(nh.Dev))
			}
			if nh.Weight != 0 {
				parts = append(parts, "weight", strconv.Itoa(nh.Weight))
			}
		}
		w.line(parts...)
	}
	w.close()
}

// staticRoutesEntry reads a top-level static_routes block; several merge in order.
func staticRoutesEntry(d *decoder, n *node, st *state) {
	st.sroutes = append(st.sroutes, routes(d, n)...)
}

// routeWords are the option words and types a route line may contain, sorted.
func routeWords() []string {
	w := []string{"dev", "gw", "metric", "nexthop", "oif", "or", "preference", "priority", "scope", "src", "table", "to", "via", "weight"}
	w = append(w, routeTypes...)
	slices.Sort(w)
	return w
}
