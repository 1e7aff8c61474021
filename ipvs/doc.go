// Package ipvs manages the Linux kernel's IP Virtual Server (IPVS, the LVS load balancer)
// over its generic-netlink interface, in pure Go: no cgo, no ipvsadm, no modprobe.
//
// # Connecting
//
// Dial opens a socket and resolves the "IPVS" generic-netlink family; resolving it makes
// the kernel load ip_vs when it can. A kernel without IPVS gives an error matching
// ErrUnavailable. IPVS state is per network namespace: Config.NetNS picks one. Every
// command needs CAP_NET_ADMIN, reads included; without it errors match os.ErrPermission.
// A Client is safe for concurrent use; each call takes a context, and calls without a
// deadline are bounded by Config.Timeout. NewClient wraps an existing netlink connection,
// such as one from ipvstest.
//
// # Services and destinations
//
// A Service is a virtual service, identified by Family and FWMark or by Protocol, Address
// and Port, with a Scheduler (a constant per kernel scheduler), Flags, a persistence
// Timeout and Netmask (or, for an IPv4 mask that is no prefix, IPv4Mask) and an optional
// persistence engine. A Destination is one of its
// real servers with a ForwardMethod (DirectRoute, Tunnel, Masquerade, Local), a weight,
// connection thresholds and, for tunnels, IPIP, GUE or GRE encapsulation. Both types hold
// configuration only, with the kernel's defaults resolved and its private HASHED flag
// removed, so a value read back equals the value written. Their Equal methods compare
// with defaults resolved (an empty Scheduler equals "wlc"), and go-cmp uses them:
// cmp.Diff(want, got) works on services, destinations and whole tables without options,
// although netip.Addr alone would make go-cmp panic. Counters and statistics come
// beside them in ServiceStatus and DestinationStatus; Stats are 64-bit when the kernel
// provides them (Linux 4.1 and later) and fall back to the 32-bit legacy counters.
//
// # Wire format
//
// Ports travel big-endian in 16-bit attributes; an IPv4 persistence netmask is a mask in
// network byte order while an IPv6 one is a prefix length; flags travel with a mask so
// that the kernel changes only the flags named. NEW and SET requests always carry the
// scheduler, flags, timeout and netmask (defaulting to a full-length mask: a zero mask
// would merge all clients). Destination dumps of a missing service are empty, and so is
// an empty table: neither is an error.
//
// # Tables, snapshots and reconciliation
//
// Snapshot reads every service and then the destinations of each; a socket runs one dump
// at a time, so a dialled Client spreads the destination dumps of a large table over
// Config.SnapshotConns sockets (4 by default). Its dumps (and those of Services and
// Destinations) bypass the general message path: they run on separate blocking sockets
// that the Go runtime's poller does not watch, with each request encoded into a reused
// buffer and each reply datagram read into a reused buffer and decoded in place; the
// call's deadline and context still bound every wait. Apply performs many
// operations with pipelined requests: a window of requests per system call, an
// acknowledgement only for the last, and each failure reported by an *ApplyError against
// the operation that caused it. Diff computes the minimal operations from the current
// table to a desired one, and Reconcile snapshots, diffs and applies; reconciling twice
// with the same desired table does nothing the second time.
//
// # Errors
//
// Failures are *Error values naming the service or destination. errors.Is matches
// ErrServiceNotFound (the kernel's ESRCH), ErrDestinationNotFound (ENOENT on a
// destination), ErrExists (EEXIST) and ErrUnavailable, and the kernel's errno itself
// (errors.Is(err, unix.ERANGE) for a negative weight).
//
// # Sync daemon, timeouts, counters
//
// StartDaemon and StopDaemon run the kernel's connection-synchronisation threads (master
// and backup) that let established connections survive a director failover; Daemons lists
// them. Timeouts and SetTimeouts read and change the TCP, TCP FIN and UDP connection
// timeouts. Zero and ZeroService reset counters, Flush removes every service, Info
// reports the IPVS version and connection-table size.
//
// The kernel stops a sync daemon synchronously, waiting for its threads. On Debian's
// 6.1 kernel under emulation, stopping a backup daemon within milliseconds of starting
// it sometimes made DEL_DAEMON hang until the call's deadline (about one run in
// fifteen of the kernel test); half a second between the two never did in 25 runs.
// Code that flips the daemon's state on every VRRP transition should not flap it.
//
// # Testing
//
// Package ipvstest is an in-memory IPVS that speaks the same protocol and enforces the
// kernel's rules, so code built on Client can be tested without root or IPVS.
package ipvs
