// Package vip adds and removes virtual IP addresses through rtnetlink, marks them as
// lvskit's own, watches them, and announces them with gratuitous ARP and unsolicited
// neighbour advertisements.
//
// # Addresses
//
// An Address is an IPv4 or IPv6 prefix on a named interface, with an optional IPv4
// label (which must start with the interface name and fit in 15 bytes), a scope, and
// noprefixroute. Client.Add sends it the way keepalived does for VIPs: IPv6 addresses
// skip duplicate address detection (IFA_F_NODAD) so they work at once after a
// failover, and a /128 gets a preferred lifetime of 0 so that the kernel never uses a
// VIP as the source of its own connections. Add is idempotent: an address that is
// already there with the same prefix length is not an error, while the same address
// on the same interface with another prefix length is ErrConflict (on another
// interface it is added, as the kernel and keepalived allow). Client.Remove of
// an address that is already gone is not an error either.
//
// # Deadlines
//
// Add, Remove, List, Owned and Cleanup take a context first. Its deadline becomes
// the rtnetlink socket's deadline for the call (mdlayher/netlink Conn.SetDeadline),
// and cancelling it moves the deadline to the past, so a call the kernel never
// answers returns an error that wraps both ctx.Err() and os.ErrDeadlineExceeded
// instead of blocking its caller, and the Client's next call can proceed. A daemon
// should give each call a bounded context (the director uses 5 s).
//
// # Ownership
//
// Addresses that Add creates carry an IFA_PROTO mark (Config.Proto, DefaultProto
// unless set), which Linux 5.18 and later keep and report. Client.Owned lists them
// and Client.Cleanup removes them, so that a daemon restarted after a crash (kill -9
// leaves its VIPs behind) removes exactly what it added and never an address that
// someone else configured. Older kernels drop the mark; there, ownership rests on
// Config.StateFile, a file in which Add records each address before creating it and
// Remove and Cleanup strike it off. Without either, Owned finds nothing.
//
// # Watching
//
// Client.NewWatcher subscribes to the kernel's address and link notifications.
// Watcher.Next reports an owned address removed (by an administrator, or by the kernel
// when a link with IPv6 addresses goes down) or added, and a link going down or up, so
// that a daemon can put its VIPs back and announce them again. Overrun says the kernel
// dropped notifications and the caller should list addresses again.
//
// # Announcing
//
// Client.NewAnnouncer opens a packet socket on an interface (CAP_NET_RAW). Each round
// sends, per IPv4 address, a gratuitous ARP request and a gratuitous ARP reply (some
// devices honour only one kind; Linux updates an existing entry from either), both
// broadcast with sender IP = target IP; and per IPv6 address an unsolicited neighbour
// advertisement to ff02::1 with hop limit 255, the override flag and the target
// link-layer address option, sent from the interface's link-local address. The
// interface needs no IPv4 address of its own. A Policy says how many rounds to send
// and when: KeepalivedPolicy is keepalived's 5 at once and 5 more after 5 s;
// MetalLBInterval spaces rounds 1.1 s apart to clear Linux's 1 s ARP locktime; Refresh
// repeats for switches whose tables age out.
//
// # Namespaces
//
// Config.NetNS names a network namespace file. The rtnetlink sockets are created in it
// (through netlink.Config.NetNS), and packet sockets are opened on a locked thread
// switched into it; every method then works on that namespace whatever thread calls it.
//
// # Testing
//
// NewClient takes any *netlink.Conn, such as one from nltest.Dial, so the rtnetlink
// side can be driven by a fake kernel. Errors start with "vip:" and wrap the kernel's
// errno: errors.Is(err, os.ErrPermission) reports a missing CAP_NET_ADMIN.
package vip
