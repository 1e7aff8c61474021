// Package route announces and withdraws VIP routes in a kernel routing table through
// rtnetlink, so that a routing daemon (BIRD or FRR) advertises them by BGP. It is the
// interface between an active director of a scale-out cluster and its router: a
// director adds its VIPs' /32 (/128) routes while it is ready to serve them and
// removes them when it is not; no BGP code enters lvskit.
//
// # Routes
//
// Client.Announce adds a blackhole route for a prefix to Config.Table, marked with
// Config.Protocol (DefaultProtocol, 108, unless set). A blackhole needs no interface
// or next hop and is inert: the table is one that no ip rule looks up, and the VIP
// itself lives on lo, where the local table answers for it. BIRD's kernel protocol
// learns blackhole, unreachable and prohibit routes as well as unicast ones, from any
// protocol but unspec (0), kernel (2) and its own (12); a unicast route via lo would
// work too but ties the route to an interface BIRD must know.
//
// Announce is an exclusive create, not a replace: the kernel's replace takes over a
// route of any protocol for the prefix, and a route an administrator put there is not
// the Client's to overwrite. Announcing a route that is already the Client's is not
// an error; one of another protocol is ErrConflict, wrapping EEXIST. Client.Withdraw
// deletes only a route of the Client's protocol (the kernel matches rtm_protocol), and
// one that is absent is not an error.
//
// # Ownership and reconciling
//
// Client.List returns the prefixes of the Client's routes in its table, and
// Client.Reconcile converges the table on exactly a wanted set, announcing what is
// missing and withdrawing what is extra, so that a director computes what should be
// announced from its state and hands the whole answer over after every change.
// Client.Cleanup withdraws every route of the Client's, such as those a crashed daemon
// left behind. Routes of other protocols are never touched, so daemons that share a
// table use different Config.Protocol values.
//
// # BIRD
//
// A BIRD 2 configuration that learns the table and exports it by BGP, with its own
// BIRD table so that the learned routes are never written back to the kernel's main
// table. TestIntegrationBIRDLearns runs the kernel part against BIRD 2.0.12 (it learns
// an announced route within milliseconds and drops a withdrawn one as fast); the BGP
// and BFD part is a sketch until the lab scenario runs it:
//
//	protocol device {}
//	protocol bfd { interface "*" { interval 100 ms; multiplier 5; }; }
//	ipv4 table vips;
//	protocol kernel vips4 {
//		kernel table 100;
//		learn;
//		scan time 10;
//		ipv4 { table vips; import all; export none; };
//	}
//	protocol bgp uplink {
//		local as 65001; neighbor 198.51.100.1 as 65000;
//		bfd on;
//		ipv4 { table vips; import none; export where net ~ [ 203.0.113.0/24{32,32} ]; next hop self; };
//	}
//
// BIRD hears additions and removals at once through its netlink notifications; scan
// time only bounds how long a missed one lasts.
//
// # Contexts, namespaces and testing
//
// Every call takes a context: its deadline becomes the socket's deadline, cancelling
// it interrupts the call, and a call waiting for another to finish gives up when its
// context ends. Config.NetNS names a network namespace file whose tables the Client
// changes. Dial works on Linux only; elsewhere it returns an error naming the OS and
// architecture. NewClient takes any *netlink.Conn, such as one from nltest.Dial, so
// the package's own tests drive a fake kernel and check each request's fields.
//
// # Errors
//
// Errors start with "route:" and wrap the kernel's errno: errors.Is(err,
// os.ErrPermission) reports a missing CAP_NET_ADMIN. ErrReservedTable and
// ErrReservedProtocol report a Config that would make the Client touch routes it does
// not own, ErrInvalidPrefix a prefix it cannot announce, ErrConflict another
// protocol's route in the way.
package route
