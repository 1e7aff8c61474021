// Command lab builds the seeds' LVS-DR cluster (a client, two keepalived directors
// sharing a VIP, two web real servers) in network namespaces on one bridge, and checks,
// step by step and with timestamps, what a person would check by hand.
//
//	sudo go run ./examples/lab [-scenario seeds|active-active] [-vrrp-version 3] [-advert-int 0.5] [-check TCP_CHECK|HTTP_GET]
//
// # Topology
//
// Five namespaces hang off a bridge on 192.0.2.0/24 (TEST-NET-1): client .10, dir1
// .11, dir2 .12, rs1 .21, rs2 .22; the VIP is 192.0.2.100:80. dir1 and dir2 run
// examples/director on a generated keepalived.conf like the seeds'
// (000-lvs-dr-master.conf, 002-lvs-wrr-dr.conf): one vrrp_instance with priorities
// 100 and 99, lvs_sync_daemon, and a virtual_server with lb_kind DR, lb_algo rr and a
// TCP_CHECK (or HTTP_GET of /healthz) per real server, with one-second timers. rs1 and
// rs2 run examples/realserver (the VIP on lo, arp_ignore and arp_announce set) and a
// web server, served by the lab process itself from a socket opened in the namespace,
// that answers with its name, the client address it saw and the address it answered
// on.
//
// # The story
//
//  1. Requests to the VIP alternate between rs1 and rs2; each real server saw the
//     client's own address arrive on the VIP; a packet socket on the client's link
//     shows the requests going to dir1's MAC and the replies coming from rs1's and
//     rs2's MACs with the VIP as their source (direct routing).
//  2. dir1 crashes (its director is SIGKILLed and its link cut, as when the machine
//     dies; a killed daemon alone leaves the VIP and the IPVS rules forwarding in the
//     kernel). dir2 takes the VIP after N ms; the client's neighbour entry for the VIP
//     moves to dir2's MAC; K requests of a 100 ms request loop failed.
//  3. rs1's web server stops accepting: rs1 leaves the pool after N s (the bound is
//     delay_loop x (retry + 1) + connect_timeout), and rejoins when it comes back.
//  4. dir1 returns and, with preemption, takes the VIP back.
//  5. dir1 stops gracefully (SIGTERM): it resigns with a priority-0 advert and dir2
//     takes over after its Skew_Time; a packet socket on the client's link, with the
//     kernel's receive timestamps, shows the time between the two adverts.
//
// # Active-active
//
// -scenario active-active runs the Nginx + keepalived article's "双主热备" instead:
// a second vrrp_instance VI_2 (VRID 52) holds a second VIP, 192.0.2.101, with the
// priorities swapped, so that dir1 is MASTER of 192.0.2.100 and dir2 of
// 192.0.2.101, each with its own virtual_server over rs1 and rs2 (which carry both
// VIPs on lo), and neither director idles. The lab checks that both VIPs serve at
// once, each through its home director (the client's neighbour entries and the
// destination MACs of its requests); that when dir1 crashes dir2 holds both VIPs and
// both keep serving (the VIP dir2 already held loses no request); and that when
// dir1 returns its VIP goes home. The sync daemon is off in this scenario: it
// follows one instance.
//
// Every step is checked; the lab exits with status 1 at the first that misbehaves,
// after printing the last lines of each program's log. Everything it created
// (processes, namespaces, temporary files) is removed at the end, on an error and on
// Ctrl-C.
//
// # Without IPVS
//
// When the running kernel has no IPVS (the generic-netlink family "IPVS" does not
// resolve) the lab says so, builds itself, the director, realserver and
// internal/cmd/vmtest statically, and runs itself (lab -in-guest) inside vmtest's qemu
// guest with Debian's kernel; it must then be started from lvskit's source tree.
//
// # Programs
//
// The director and realserver programs are taken from -director and -realserver,
// else $LVSKIT_DIRECTOR_BIN and $LVSKIT_REALSERVER_BIN, else PATH, else built from
// the source tree with go build.
package main
