package kaconf

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Route is one line of a virtual_routes block (in a vrrp_instance) or of the top-level
// static_routes block. The reader accepts a subset of keepalived's route syntax:
//
//	[src ADDR] [to] [TYPE] PREFIX|default [via|gw ADDR] [dev|oif IFNAME] [scope SCOPE]
//	    [table TABLE] [metric|priority|preference N]
//
// TYPE is unicast (the default), blackhole, unreachable or prohibit. A unicast route
// needs via or dev; the other types take neither. Any other option (or, nexthop,
// protocol, mtu, onlink, tos, no_track, track_group, ...) and any other type is an
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
}

// routeTypes are the route types the reader accepts before the destination.
var routeTypes = []string{"unicast", "blackhole", "unreachable", "prohibit"}

// otherRouteTypes are keepalived's other types, refused by name.
var otherRouteTypes = []string{"local", "broadcast", "anycast", "multicast", "throw", "nat", "xresolve"}

var routeScopes = []string{"global", "site", "link", "host", "nowhere"}

// routes reads the lines of a virtual_routes or static_routes block.
func routes(d *decoder, block *node) []Route {
	var out []Route
	for _, n := range block.children {
		if n.hasBlock {
			d.errf(n, ErrSyntax, "takes no { } block inside %s", block.key)
			continue
		}
		if r, ok := readRoute(d, block.key, n); ok {
			out = append(out, r)
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
	six := (r.Via.IsValid() && r.Via.Is6()) || (r.Src.IsValid() && r.Src.Is6())
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
	switch {
	case r.Type != "" && (r.Via.IsValid() || r.Dev != ""):
		d.errf(n, ErrValue, "%s: a %s route takes no via or dev", block, r.Type)
		return r, false
	case r.Type == "" && !r.Via.IsValid() && r.Dev == "":
		d.errf(n, ErrValue, "%s: route to %s needs via or dev", block, r.Dst)
		return r, false
	}
	return r, true
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
	w := []string{"dev", "gw", "metric", "oif", "preference", "priority", "scope", "src", "table", "to", "via"}
	w = append(w, routeTypes...)
	slices.Sort(w)
	return w
}
