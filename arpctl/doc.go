// Package arpctl reads and writes the IPv4 ARP and forwarding sysctls that LVS
// directors and real servers need, the IPVS and multipath sysctls of a scale-out
// cluster, and applies them as profiles that can be undone.
//
// # Settings and scopes
//
// A Setting is a Key (arp_ignore, arp_announce, arp_filter, arp_notify, rp_filter,
// send_redirects, accept_redirects, forwarding) in a Scope: All
// (net.ipv4.conf.all), Default (net.ipv4.conf.default, which only reaches interfaces
// created later) or an interface name. Global keys take no scope: IPForward
// (net.ipv4.ip_forward), the IPVS keys VSSloppyTCP, VSSloppySCTP, VSConntrack,
// VSExpireNodestConn and VSExpireQuiescentTemplate (net.ipv4.vs.*, present only while
// the ip_vs module is loaded), and the ECMP hash policies FIBMultipathHashPolicy and
// FIB6MultipathHashPolicy.
// Client.Get and Client.Set read and write one setting; Set rejects values outside the
// documented range with ErrOutOfRange.
//
// # Effective values
//
// The kernel combines the all value with the interface's own: the maximum for
// arp_ignore, arp_announce, arp_notify and rp_filter, a logical OR for arp_filter and
// send_redirects, AND or OR for accept_redirects depending on whether the interface
// forwards, and the interface alone for forwarding. Client.Effective applies the same
// rules, so a caller can ask "will eth0 answer ARP for addresses on lo?" instead of
// reading two files and guessing.
//
// # Profiles and snapshots
//
// DRRealServer, TUNRealServer and Director return the classic LVS settings as a
// Profile; ScaleOutDirector (sloppy TCP and SCTP, no conntrack, expiring connections
// and templates of removed or drained real servers) and ECMPRouter (forwarding and L4
// multipath hashing) those of several active directors behind ECMP. Client.Apply records every value it is about to change, writes the profile,
// and returns a Snapshot whose Restore puts back exactly what was there, including the
// per-interface forwarding values that a write of ip_forward changes as a side effect.
// If a write fails half way, Apply restores what it already wrote before returning the
// error. Profile.SysctlD renders a profile for /etc/sysctl.d, and ParseSysctlD reads such
// a file back into a Profile.
//
// # Namespaces and testing
//
// Everything here is per network namespace. Config.NetNS names a namespace file; the
// Client then opens every file on a thread inside that namespace. Config.Root replaces
// /proc/sys, so tests run against a fake tree in a temporary directory.
//
// # Errors
//
// Errors start with "arpctl:" and wrap their cause. ErrUnknownInterface reports an
// interface with no conf directory, ErrNoIPVS an IPVS sysctl on a kernel where ip_vs
// is not loaded, ErrOutOfRange a bad value, and a missing privilege
// matches os.ErrPermission.
package arpctl
