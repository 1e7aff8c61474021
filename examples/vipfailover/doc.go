// Command vipfailover keeps one or more virtual IP addresses on the node whose service
// is healthy: the Nginx + keepalived pattern (a vrrp_script such as nginx_check.sh
// that restarts nginx and gives the VIP up when nginx stays down) without IPVS and
// without keepalived, built from lvskit's vrrp, vip and health packages.
//
//	vipfailover -interface eth0 -vip 192.0.2.186/24 -vrid 51 -priority 100 \
//	    -check 'pidof nginx' -restart 'systemctl restart nginx' -fall 2 -weight 0
//
// Run it on every node with the same -vrid and -vip and a different -priority.
//
// # VRRP
//
// One VRRP instance (version 3 unless -version 2) runs on -interface, by multicast to
// 224.0.0.18 or ff02::12, or by unicast to each -peer. The node in MASTER adds the VIPs
// to the interface (marked as lvskit's own, see package vip) and announces them with
// gratuitous ARP or unsolicited neighbour advertisements, keepalived's default of 5 at
// once and 5 more after 5 s; in BACKUP or FAULT, and when the program stops, it removes
// them. On SIGINT or SIGTERM it resigns (priority 0), so the backup takes over at once.
// VIPs that a killed run left behind are removed at start.
//
// # The check and the restart
//
// Every -check-interval the -check command runs (without a shell: the argument is
// split like a shell would split it, quotes included, but nothing is expanded). Exit
// status 0 means the service is up. The first failed check of an outage runs the
// -restart command (if any) instead of counting; after that, -fall consecutive failed
// checks mark the service down. A down service puts the VRRP instance in FAULT when
// -weight is 0 (the default), or lowers its priority by the absolute value of -weight
// otherwise, so that a healthy peer of higher priority takes the VIPs. While down, the
// restart is tried again every -restart-backoff. -rise consecutive good checks mark
// the service up again and the node takes part in the election again (and takes the
// VIPs back if its priority is the highest, unless -nopreempt).
//
// # Logging
//
// Everything is logged with log/slog as text on standard error: state changes, VIPs
// added and removed, failed checks, restarts and their outcome.
package main
