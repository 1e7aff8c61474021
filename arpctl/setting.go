package arpctl

import (
	"fmt"
	"slices"
	"strings"
)

// Key names one IPv4 sysctl that arpctl reads and writes.
type Key string

// The sysctls that arpctl knows. Every Key except IPForward lives under
// net/ipv4/conf/<scope>/ and needs a Scope.
const (
	// ARPIgnore (net.ipv4.conf.*.arp_ignore) selects which ARP requests are answered:
	// 0 any local address on any interface, 1 only when the target address is on the
	// interface the request came in on, 2 as 1 and the sender in the same subnet,
	// 3 not for scope-host addresses, 8 never. The kernel applies max(all, iface).
	ARPIgnore Key = "arp_ignore"
	// ARPAnnounce (arp_announce) restricts the source address of ARP requests:
	// 0 any local address, 1 avoid addresses outside the target's subnet, 2 the best
	// local address for the target. The kernel applies max(all, iface).
	ARPAnnounce Key = "arp_announce"
	// ARPFilter (arp_filter) answers ARP only on the interface the reply would be
	// routed through. 0 or 1; the kernel applies all OR iface.
	ARPFilter Key = "arp_filter"
	// ARPNotify (arp_notify) sends gratuitous ARP when a device comes up or its
	// address changes. 0 or 1; the kernel applies max(all, iface).
	ARPNotify Key = "arp_notify"
	// RPFilter (rp_filter) is reverse path filtering: 0 off, 1 strict, 2 loose. The
	// kernel applies max(all, iface).
	RPFilter Key = "rp_filter"
	// SendRedirects (send_redirects) sends ICMP redirects. 0 or 1; the kernel applies
	// all OR iface, so turning it off takes 0 on both.
	SendRedirects Key = "send_redirects"
	// AcceptRedirects (accept_redirects) accepts ICMP redirects. 0 or 1; the kernel
	// applies all AND iface when the interface forwards, all OR iface when it does not.
	AcceptRedirects Key = "accept_redirects"
	// Forwarding (forwarding) routes packets between interfaces. 0 or 1; the kernel
	// looks only at the interface's own value. Writing it on the all scope sets it on
	// every interface and on default, and sets all.accept_redirects to its negation.
	Forwarding Key = "forwarding"
	// IPForward (net.ipv4.ip_forward) is the global switch, the same variable as
	// all.forwarding, with the same side effects. It takes the empty Scope.
	IPForward Key = "ip_forward"
)

// Keys lists every Key that arpctl knows, in a fixed order.
func Keys() []Key {
	return []Key{ARPIgnore, ARPAnnounce, ARPFilter, ARPNotify, RPFilter, SendRedirects, AcceptRedirects, Forwarding, IPForward}
}

// valid reports whether v is a value the kernel documents for k.
func (k Key) valid(v int) bool {
	switch k {
	case ARPIgnore:
		return (v >= 0 && v <= 3) || v == 8
	case ARPAnnounce, RPFilter:
		return v >= 0 && v <= 2
	case ARPFilter, ARPNotify, SendRedirects, AcceptRedirects, Forwarding, IPForward:
		return v == 0 || v == 1
	}
	return false
}

func (k Key) known() bool { return slices.Contains(Keys(), k) }

// rangeText describes the valid values of k for error messages.
func (k Key) rangeText() string {
	switch k {
	case ARPIgnore:
		return "0-3 or 8"
	case ARPAnnounce, RPFilter:
		return "0-2"
	}
	return "0 or 1"
}

// Scope is where a per-interface sysctl is set: All, Default, or an interface name.
type Scope string

// The two scopes that are not interfaces.
const (
	// All is net.ipv4.conf.all: combined with each interface's own value (see Key).
	All Scope = "all"
	// Default is net.ipv4.conf.default: the value that interfaces created later start
	// with. It does not change existing interfaces.
	Default Scope = "default"
)

// IsInterface reports whether s names an interface rather than All or Default.
func (s Scope) IsInterface() bool { return s != All && s != Default && s != "" }

// Setting is one sysctl in one scope. IPForward takes the empty Scope; every other
// Key needs one.
type Setting struct {
	Scope Scope
	Key   Key
}

// String returns the setting's sysctl name, such as net.ipv4.conf.all.arp_ignore.
func (s Setting) String() string {
	if s.Key == IPForward {
		return "net.ipv4.ip_forward"
	}
	return "net.ipv4.conf." + string(s.Scope) + "." + string(s.Key)
}

// path returns the setting's path relative to the /proc/sys root.
func (s Setting) path() string {
	if s.Key == IPForward {
		return "net/ipv4/ip_forward"
	}
	return "net/ipv4/conf/" + string(s.Scope) + "/" + string(s.Key)
}

// check validates the setting's shape: a known key, and a scope that fits it.
func (s Setting) check() error {
	if !s.Key.known() {
		return fmt.Errorf("arpctl: %w: %q", ErrUnknownKey, string(s.Key))
	}
	if s.Key == IPForward {
		if s.Scope != "" {
			return fmt.Errorf("arpctl: %s takes no scope, got %q", s.Key, string(s.Scope))
		}
		return nil
	}
	if s.Scope == "" {
		return fmt.Errorf("arpctl: %s needs a scope (all, default or an interface)", s.Key)
	}
	return checkIfName(string(s.Scope))
}

// Validate reports whether v is in the range the kernel documents for the setting.
// The error wraps ErrOutOfRange.
func (s Setting) Validate(v int) error {
	if err := s.check(); err != nil {
		return err
	}
	if !s.Key.valid(v) {
		return fmt.Errorf("arpctl: %s = %d: %w (want %s)", s, v, ErrOutOfRange, s.Key.rangeText())
	}
	return nil
}

// checkIfName rejects names that cannot be a Linux interface and would escape the
// conf directory.
func checkIfName(name string) error {
	if name == "" || len(name) > 15 || name == "." || name == ".." || strings.ContainsAny(name, "/ \t\n\x00") {
		return fmt.Errorf("arpctl: %w: invalid interface name %q", ErrUnknownInterface, name)
	}
	return nil
}

// combine returns the value the kernel applies for k on an interface, given the all
// and interface values (and the interface's forwarding value, which only
// AcceptRedirects needs).
func combine(k Key, all, iface, forwarding int) int {
	switch k {
	case ARPIgnore, ARPAnnounce, ARPNotify, RPFilter:
		return max(all, iface)
	case ARPFilter, SendRedirects:
		return b2i(all != 0 || iface != 0)
	case AcceptRedirects:
		if forwarding != 0 {
			return b2i(all != 0 && iface != 0)
		}
		return b2i(all != 0 || iface != 0)
	}
	// Forwarding: only the interface's own value counts.
	return iface
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
