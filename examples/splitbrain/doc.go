// Command splitbrain watches the VRRP adverts of a segment from a third vantage point
// (neither router) and reports when two routers claim MASTER for the same virtual
// router at once, or when a router that is not MASTER answers for a virtual address
// while the master still advertises: the split-brain alarm of the keepalived recipes,
// done from outside instead of by a script on one of the nodes that shares its fate.
//
//	splitbrain -interface eth0 [-vip 192.0.2.186 ...] [-alarm 'argv'] [-once] [-for 1m]
//
// # Split brain
//
// It opens lvskit's raw VRRP listener (IP protocol 112) on -interface, joined to
// 224.0.0.18 and ff02::12 (-family picks one), and decodes every advert with package
// vrrp's codec, dropping those whose checksum, TTL or format is wrong. Only a MASTER
// advertises, so every router sending adverts of non-zero priority for a VRID claims
// MASTER. A handover is not a split brain, though: the new and the old master overlap
// by an advert or two before the old one stops (preempted) or resigns (priority 0). Two
// routers count as masters together when each has sent -confirm adverts (3) while the
// other was advertising too; a router counts as advertising until it resigns or has
// been silent for -window (0 means three of its own advert intervals). The report
// names the VRID and the masters' addresses, and a second report says when the group
// has healed. Unicast VRRP (unicast_peer) is invisible from a third host.
//
// # A VIP on the wrong node
//
// With -vip ADDR (IPv4, repeatable), every -arp-interval it finds the group whose
// adverts list ADDR, asks by ARP for the link-layer address of each advertising master
// and then for ADDR itself, and collects every answer: an answer from an address that
// is not a master's means that some other node (a BACKUP, or a node whose daemon died
// without removing its addresses) holds the VIP while the master still advertises.
// A node that has just become MASTER may answer a moment before its first advert
// arrives, so a conflict is reported only when -vip-confirm consecutive checks (3) find
// it, and cleared at the first check that does not.
// This sends ARP requests on -interface.
//
// # Reports
//
// Every report is logged with log/slog on standard error. With -alarm, the command
// (split like a shell would, not run by one) runs for each report with
// SPLITBRAIN_EVENT (split-brain, healed, vip-conflict, vip-ok), SPLITBRAIN_VRID,
// SPLITBRAIN_MASTERS, and for VIP reports SPLITBRAIN_VIP and SPLITBRAIN_HOLDERS in
// its environment. With -once the program exits with status 3 at the first problem
// found (split brain or VIP conflict); -for stops watching after a while, with status 0
// when nothing was found. Errors exit with status 1 and bad usage with 2.
package main
