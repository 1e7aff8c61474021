package vip

import (
	"fmt"
	"net/netip"
	"strings"
)

// Scope is an address scope (rtnetlink's ifa_scope).
type Scope uint8

// Address scopes. The zero value is ScopeUniverse, what `ip addr add` uses.
const (
	ScopeUniverse Scope = 0
	ScopeSite     Scope = 200
	ScopeLink     Scope = 253
	ScopeHost     Scope = 254
)

// String returns the scope's name as ip(8) prints it, or its number.
func (s Scope) String() string {
	switch s {
	case ScopeUniverse:
		return "global"
	case ScopeSite:
		return "site"
	case ScopeLink:
		return "link"
	case ScopeHost:
		return "host"
	}
	return fmt.Sprintf("%d", uint8(s))
}

// Address is a virtual IP address on an interface. Addresses are comparable with ==
// and have an Equal method, so go-cmp compares them without options.
type Address struct {
	// Interface is the name of the interface that holds the address, such as "lo".
	Interface string
	// Prefix is the address and its prefix length, such as 192.0.2.10/32. The address
	// is not masked: 192.0.2.10/24 means the address 192.0.2.10 in a /24.
	Prefix netip.Prefix
	// Label is the IPv4 label (as "eth0:1" in ip addr). It must start with the
	// interface name and be at most 15 bytes. Empty means none, which the kernel
	// reports as the interface name. IPv6 addresses have no label.
	Label string
	// Scope is the address scope; zero is global.
	Scope Scope
	// NoPrefixRoute stops the kernel adding a route for the prefix (noprefixroute).
	NoPrefixRoute bool
	// Owned reports, in what List returns, that lvskit added the address (see the
	// package documentation on ownership). Add and Remove ignore it.
	Owned bool
}

// Equal reports whether a and b are the same address with the same properties.
func (a Address) Equal(b Address) bool { return a == b }

// String formats the address as ip(8) would take it.
func (a Address) String() string {
	s := a.Prefix.String() + " dev " + a.Interface
	if a.Label != "" {
		s += " label " + a.Label
	}
	if a.Scope != ScopeUniverse {
		s += " scope " + a.Scope.String()
	}
	return s
}

// Is4 reports whether the address is IPv4.
func (a Address) Is4() bool { return a.Prefix.Addr().Is4() }

// Validate checks the address before it is sent to the kernel.
func (a Address) Validate() error {
	if a.Interface == "" || len(a.Interface) > 15 || strings.ContainsAny(a.Interface, "/ \x00") {
		return fmt.Errorf("vip: invalid interface name %q", a.Interface)
	}
	if !a.Prefix.IsValid() {
		return fmt.Errorf("vip: %s: invalid prefix", a.Interface)
	}
	ip := a.Prefix.Addr()
	if ip.Is4In6() {
		return fmt.Errorf("vip: %s: use the IPv4 form, not an IPv4-mapped IPv6 address", a.Prefix)
	}
	if ip.IsUnspecified() || ip.IsMulticast() {
		return fmt.Errorf("vip: %s is not a unicast address", ip)
	}
	if ip.Zone() != "" {
		return fmt.Errorf("vip: %s: zones are not allowed, use Interface", ip)
	}
	if a.Label != "" {
		if !ip.Is4() {
			return fmt.Errorf("vip: %s: %w", a.Prefix, ErrLabelIPv6)
		}
		if len(a.Label) > 15 || !strings.HasPrefix(a.Label, a.Interface) {
			return fmt.Errorf("vip: label %q: %w", a.Label, ErrInvalidLabel)
		}
	}
	return nil
}

// HostAddresses returns addrs as host addresses (/32 or /128) on iface: the form of
// the virtual addresses a vrrp.Status or vrrp.Config carries, ready for Client.Add.
// Invalid addresses are skipped; an IPv4-mapped IPv6 address becomes IPv4.
func HostAddresses(iface string, addrs []netip.Addr) []Address {
	out := make([]Address, 0, len(addrs))
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		a = a.Unmap()
		out = append(out, Address{Interface: iface, Prefix: netip.PrefixFrom(a, a.BitLen())})
	}
	return out
}
