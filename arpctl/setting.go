package arpctl

import (
	"fmt"
	"slices"
	"strings"
)

// Key names one IPv4 sysctl that arpctl reads and writes.
type Key string

// The sysctls that arpctl knows. Every Key up to IPForward except IPForward lives
// under net/ipv4/conf/<scope>/ and needs a Scope; IPForward and the keys after it are
// global (see Key.Global) and take the empty Scope.
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

	// VSSloppyTCP (net.ipv4.vs.sloppy_tcp) lets IPVS create a connection from any
	// TCP packet, not only a SYN. 0 or 1. A scale-out director needs 1: when the
	// router's ECMP moves a flow to another director, that director has never seen
	// the SYN and would otherwise reset the connection. Global keys named VS... exist
	// only while the ip_vs module is loaded (see ErrNoIPVS).
	VSSloppyTCP Key = "net.ipv4.vs.sloppy_tcp"
	// VSSloppySCTP (net.ipv4.vs.sloppy_sctp) is VSSloppyTCP for SCTP: any packet,
	// not only an INIT, creates a connection. 0 or 1.
	VSSloppySCTP Key = "net.ipv4.vs.sloppy_sctp"
	// VSConntrack (net.ipv4.vs.conntrack) keeps netfilter connection tracking
	// entries for IPVS connections, which iptables NAT and state matches on the
	// director need. 0 or 1.
	VSConntrack Key = "net.ipv4.vs.conntrack"
	// VSExpireNodestConn (net.ipv4.vs.expire_nodest_conn) expires a connection at
	// its next packet once its real server has been deleted, so that the client's
	// next connection is scheduled anew instead of its packets being dropped until
	// the entry times out. 0 or 1.
	VSExpireNodestConn Key = "net.ipv4.vs.expire_nodest_conn"
	// VSExpireQuiescentTemplate (net.ipv4.vs.expire_quiescent_template) expires a
	// persistence template whose real server has weight 0, so that persistent
	// clients move off a drained server. 0 or 1.
	VSExpireQuiescentTemplate Key = "net.ipv4.vs.expire_quiescent_template"
	// FIBMultipathHashPolicy (net.ipv4.fib_multipath_hash_policy) is what a router
	// hashes to pick among the next hops of an ECMP route: 0 addresses only (L3),
	// 1 addresses, ports and protocol (L4), 2 L3 or the inner L3 of encapsulated
	// packets, 3 the fields in fib_multipath_hash_fields (Linux 5.12+). A router in
	// front of scale-out directors needs 1, or every flow of one client goes to one
	// director.
	FIBMultipathHashPolicy Key = "net.ipv4.fib_multipath_hash_policy"
	// FIB6MultipathHashPolicy (net.ipv6.fib_multipath_hash_policy) is
	// FIBMultipathHashPolicy for IPv6 routes, with the same values.
	FIB6MultipathHashPolicy Key = "net.ipv6.fib_multipath_hash_policy"
)

// Keys lists every Key that arpctl knows, in a fixed order.
func Keys() []Key {
	return []Key{ARPIgnore, ARPAnnounce, ARPFilter, ARPNotify, RPFilter, SendRedirects, AcceptRedirects, Forwarding, IPForward,
		VSSloppyTCP, VSSloppySCTP, VSConntrack, VSExpireNodestConn, VSExpireQuiescentTemplate,
		FIBMultipathHashPolicy, FIB6MultipathHashPolicy}
}

// Global reports whether k is a sysctl of the whole namespace rather than of a conf
// scope: IPForward, the IPVS keys and the multipath hash policies. A global Key takes
// the empty Scope.
func (k Key) Global() bool {
	return k == IPForward || strings.HasPrefix(string(k), "net.")
}

// ipvs reports whether k lives under net/ipv4/vs, which only the ip_vs module creates.
func (k Key) ipvs() bool { return strings.HasPrefix(string(k), "net.ipv4.vs.") }

// valid reports whether v is a value the kernel documents for k.
func (k Key) valid(v int) bool {
	switch k {
	case ARPIgnore:
		return (v >= 0 && v <= 3) || v == 8
	case ARPAnnounce, RPFilter:
		return v >= 0 && v <= 2
	case ARPFilter, ARPNotify, SendRedirects, AcceptRedirects, Forwarding, IPForward,
		VSSloppyTCP, VSSloppySCTP, VSConntrack, VSExpireNodestConn, VSExpireQuiescentTemplate:
		return v == 0 || v == 1
	case FIBMultipathHashPolicy, FIB6MultipathHashPolicy:
		return v >= 0 && v <= 3
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
	case FIBMultipathHashPolicy, FIB6MultipathHashPolicy:
		return "0-3"
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

// Setting is one sysctl in one scope. Global keys (Key.Global) take the empty Scope;
// every other Key needs one.
type Setting struct {
	// Scope is the interface, all or default; empty for a global key.
	Scope Scope
	// Key is the sysctl's name within its scope.
	Key Key
}

// String returns the setting's sysctl name, such as net.ipv4.conf.all.arp_ignore.
func (s Setting) String() string {
	if s.Key == IPForward {
		return "net.ipv4.ip_forward"
	}
	if s.Key.Global() {
		return string(s.Key)
	}
	return "net.ipv4.conf." + string(s.Scope) + "." + string(s.Key)
}

// path returns the setting's path relative to the /proc/sys root.
func (s Setting) path() string {
	if s.Key == IPForward {
		return "net/ipv4/ip_forward"
	}
	if s.Key.Global() {
		return strings.ReplaceAll(string(s.Key), ".", "/")
	}
	return "net/ipv4/conf/" + string(s.Scope) + "/" + string(s.Key)
}

// check validates the setting's shape: a known key, and a scope that fits it.
func (s Setting) check() error {
	if !s.Key.known() {
		return fmt.Errorf("arpctl: %w: %q", ErrUnknownKey, string(s.Key))
	}
	if s.Key.Global() {
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
