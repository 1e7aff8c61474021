// Package lvskit is the root of a set of independent Go packages that together replace the
// hand-glued Linux load-balancer recipe of ipvsadm rules, keepalived and real-server shell
// scripts. This package holds no code; it documents how the pieces fit.
//
// # The packages
//
//   - ipvs speaks the kernel's IPVS generic-netlink protocol directly: virtual services,
//     real servers (destinations), timeouts, the connection sync daemon, statistics, and
//     declarative reconciliation of a whole table. ipvs/ipvstest is an in-memory IPVS
//     that speaks the same protocol, for users' tests.
//   - vrrp is a VRRPv2/v3 engine: a pure state machine driven by a Router over a pluggable
//     Clock and Transport. vrrp/vrrptest simulates whole segments of routers with a fake
//     clock, loss, delay and partitions.
//   - health runs health-check probes (TCP, HTTP(S), TLS, DNS, UDP, ICMP, SMTP, commands)
//     and decides up and down with rise and fall counts.
//   - vip adds and removes virtual IP addresses, marks them as lvskit's own, watches them,
//     and announces them with gratuitous ARP and unsolicited neighbour advertisements.
//   - arpctl reads and writes the ARP and forwarding sysctls that directors and real
//     servers need (and the IPVS sysctls of scale-out), as profiles that can be undone.
//   - route announces and withdraws VIP routes in a routing table of its own, which a
//     routing daemon (BIRD, FRR) learns and announces by BGP: several active directors
//     behind a router's ECMP.
//   - vip/viptest, ipvs/ipvstest, health/healthtest and vrrp/vrrptest are the fakes for
//     users' tests; vrrptest.Clock is one fake clock for vrrp and health together.
//
// # How they compose
//
// None of the packages imports another. A director daemon wires them: VRRP state changes
// add or remove VIPs (vip) and switch the IPVS sync daemon (ipvs); health results add and
// remove real servers (ipvs) or lower a VRRP priority (vrrp trackers); arpctl prepares the
// sysctls. Such a daemon converges on state: after any change it computes what should be
// (VIPs, IPVS rows, routes) from the current states and fixes the difference, so a lost
// or repeated event leaves nothing behind. The programs under examples/ are such daemons
// (examples/hatest is the smallest, with its test) and are the reference for wiring.
package lvskit
