package main

import (
	"fmt"
	"net/netip"
	"strings"
)

// The lab's addresses: one TEST-NET-1 segment.
var (
	vipAddr   = netip.MustParseAddr("192.0.2.100")
	hostAddrs = map[string]netip.Addr{
		"client": netip.MustParseAddr("192.0.2.10"),
		"dir1":   netip.MustParseAddr("192.0.2.11"),
		"dir2":   netip.MustParseAddr("192.0.2.12"),
		"rs1":    netip.MustParseAddr("192.0.2.21"),
		"rs2":    netip.MustParseAddr("192.0.2.22"),
	}
	hostOrder = []string{"client", "dir1", "dir2", "rs1", "rs2"}
)

// defaultCluster is the seeds' cluster with timers short enough for a demo: VRRP v3
// adverts every half second, TCP checks every second.
func defaultCluster() cluster {
	return cluster{
		VIP: vipAddr, Interface: "eth0", VRID: 51, Version: 3, AdvertInt: "0.5",
		SyncDaemon: true, Scheduler: "rr", Check: "TCP_CHECK",
		DelayLoop: 1, ConnectTimeout: 1, Retry: 1, DelayBeforeRetry: 1,
		RealServers: []realServer{{hostAddrs["rs1"], 1}, {hostAddrs["rs2"], 1}},
	}
}

// cluster describes the load-balanced service the directors run: what goes into
// their keepalived.conf.
type cluster struct {
	// VIP is the virtual IP address clients connect to, on port 80.
	VIP netip.Addr
	// Interface is the directors' interface on the shared segment.
	Interface string
	// VRID is the VRRP virtual router ID.
	VRID int
	// Version is the VRRP version (2 or 3); AdvertInt is advert_int as keepalived
	// writes it ("1", "0.5"; fractions need version 3).
	Version   int
	AdvertInt string
	// Nopreempt keeps a recovered higher-priority director from taking the VIP back.
	Nopreempt bool
	// SyncDaemon runs lvs_sync_daemon on Interface, following the instance.
	SyncDaemon bool

	// Scheduler is lb_algo: rr, wrr, ...
	Scheduler string
	// Persistence is persistence_timeout in seconds; 0 means none.
	Persistence int
	// Check is TCP_CHECK or HTTP_GET.
	Check string
	// DelayLoop, ConnectTimeout, Retry and DelayBeforeRetry are the checker's timing,
	// in seconds (Retry is a count).
	DelayLoop, ConnectTimeout, Retry, DelayBeforeRetry int
	// Inhibit sets inhibit_on_failure: a failed real server keeps its entry with
	// weight 0 instead of being removed.
	Inhibit bool
	// RealServers are the real servers, all on port 80.
	RealServers []realServer
}

// realServer is a real_server block.
type realServer struct {
	Addr   netip.Addr
	Weight int
}

// directorConf renders the keepalived.conf of one director: the seeds' LVS-DR
// configuration (000-lvs-dr-master.conf, 002-lvs-wrr-dr.conf) with the lab's
// addresses and quicker timers.
func directorConf(c cluster, routerID string, priority int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n", routerID)
	if c.SyncDaemon {
		fmt.Fprintf(&b, "    lvs_sync_daemon %s VI_1\n", c.Interface)
	}
	b.WriteString("}\n\n")

	// Both start as BACKUP, which keepalived requires for nopreempt; the higher
	// priority wins the election either way.
	fmt.Fprintf(&b, "vrrp_instance VI_1 {\n    state BACKUP\n    interface %s\n", c.Interface)
	fmt.Fprintf(&b, "    virtual_router_id %d\n    version %d\n    priority %d\n    advert_int %s\n", c.VRID, c.Version, priority, c.AdvertInt)
	if c.Nopreempt {
		b.WriteString("    nopreempt\n")
	}
	if c.Version == 2 {
		b.WriteString("    authentication {\n        auth_type PASS\n        auth_pass 123456\n    }\n")
	}
	fmt.Fprintf(&b, "    virtual_ipaddress {\n        %s/32 dev %s\n    }\n}\n\n", c.VIP, c.Interface)

	fmt.Fprintf(&b, "virtual_server %s 80 {\n    delay_loop %d\n    lb_algo %s\n    lb_kind DR\n", c.VIP, c.DelayLoop, c.Scheduler)
	if c.Persistence > 0 {
		fmt.Fprintf(&b, "    persistence_timeout %d\n", c.Persistence)
	}
	b.WriteString("    protocol TCP\n")
	for _, rs := range c.RealServers {
		fmt.Fprintf(&b, "    real_server %s 80 {\n        weight %d\n", rs.Addr, rs.Weight)
		if c.Inhibit {
			b.WriteString("        inhibit_on_failure\n")
		}
		fmt.Fprintf(&b, "        %s {\n", c.Check)
		if c.Check == "HTTP_GET" {
			b.WriteString("            url {\n                path /healthz\n                status_code 200\n            }\n")
		}
		fmt.Fprintf(&b, "            connect_port 80\n            connect_timeout %d\n            retry %d\n            delay_before_retry %d\n        }\n    }\n",
			c.ConnectTimeout, c.Retry, c.DelayBeforeRetry)
	}
	b.WriteString("}\n")
	return b.String()
}
