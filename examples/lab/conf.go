package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The lab's addresses: one TEST-NET-1 segment.
var (
	vipAddr   = netip.MustParseAddr("192.0.2.100")
	vip2Addr  = netip.MustParseAddr("192.0.2.101")
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

// activeActive changes c into the active-active ("双主热备") cluster of the Nginx +
// keepalived article: a second instance VI_2 with VIP 192.0.2.101 and VRID 52, whose
// priorities mirror VI_1's so that dir2 is its MASTER. The sync daemon is off: it
// follows one instance, and each director is MASTER of one.
func activeActive(c *cluster) {
	c.VIP2, c.VRID2, c.SyncDaemon = vip2Addr, 52, false
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
	// With a second instance it applies to VI_1 only: with nopreempt on both, the
	// first director up would take both VIPs and keep them, so the start could not
	// put each VIP on its home director.
	Nopreempt bool
	// VIP2, when valid, adds a second vrrp_instance VI_2 (VRID VRID2) holding VIP2
	// and a second virtual_server for VIP2 over the same real servers. Its
	// priorities mirror VI_1's (see vi2Priority): the director that is BACKUP of
	// VI_1 is MASTER of VI_2 (active-active).
	VIP2  netip.Addr
	VRID2 int
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

// vips returns the cluster's virtual IP addresses: VIP, and VIP2 when set.
func (c cluster) vips() []netip.Addr {
	if c.VIP2.IsValid() {
		return []netip.Addr{c.VIP, c.VIP2}
	}
	return []netip.Addr{c.VIP}
}

// vi2Priority is a director's priority in VI_2 given its priority in VI_1: 100 and
// 99 swap.
func vi2Priority(priority int) int { return 199 - priority }

// skewTime is VRRP's Skew_Time for a backup of priority prio (RFC 9568 6.1,
// RFC 3768 6.1): ((256 - prio) x Master_Adver_Interval) / 256 for version 3 and
// (256 - prio) / 256 s for version 2. It is computed here from the configuration,
// independently of package vrrp, which the tests check against it.
func (c cluster) skewTime(prio int) (time.Duration, error) {
	if c.Version == 2 {
		return time.Duration(256-prio) * time.Second / 256, nil
	}
	mai, err := c.advertInterval()
	return time.Duration(256-prio) * mai / 256, err
}

// masterDownInterval is VRRP's Master_Down_Interval for a backup of priority prio:
// 3 x Master_Adver_Interval + Skew_Time.
func (c cluster) masterDownInterval(prio int) (time.Duration, error) {
	mai, err := c.advertInterval()
	if err != nil {
		return 0, err
	}
	skew, err := c.skewTime(prio)
	return 3*mai + skew, err
}

// advertInterval is advert_int as a duration: in centiseconds for version 3, which
// carries it so, and in whole seconds for version 2.
func (c cluster) advertInterval() (time.Duration, error) {
	sec, err := strconv.ParseFloat(c.AdvertInt, 64)
	if err != nil || sec <= 0 {
		return 0, fmt.Errorf("advert_int %q: want a positive number of seconds", c.AdvertInt)
	}
	if c.Version == 2 {
		return time.Duration(sec+0.5) * time.Second, nil
	}
	return time.Duration(sec*100+0.5) * 10 * time.Millisecond, nil
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

	writeInstance(&b, c, "VI_1", c.VRID, c.VIP, priority, c.Nopreempt)
	if c.VIP2.IsValid() {
		writeInstance(&b, c, "VI_2", c.VRID2, c.VIP2, vi2Priority(priority), false)
	}
	for _, vip := range c.vips() {
		writeVirtualServer(&b, c, vip)
	}
	return b.String()
}

// writeInstance writes a vrrp_instance block.
func writeInstance(b *strings.Builder, c cluster, name string, vrid int, vip netip.Addr, priority int, nopreempt bool) {
	// Both start as BACKUP, which keepalived requires for nopreempt; the higher
	// priority wins the election either way.
	fmt.Fprintf(b, "vrrp_instance %s {\n    state BACKUP\n    interface %s\n", name, c.Interface)
	fmt.Fprintf(b, "    virtual_router_id %d\n    version %d\n    priority %d\n    advert_int %s\n", vrid, c.Version, priority, c.AdvertInt)
	if nopreempt {
		b.WriteString("    nopreempt\n")
	}
	if c.Version == 2 {
		b.WriteString("    authentication {\n        auth_type PASS\n        auth_pass 123456\n    }\n")
	}
	fmt.Fprintf(b, "    virtual_ipaddress {\n        %s/32 dev %s\n    }\n}\n\n", vip, c.Interface)
}

// writeVirtualServer writes the virtual_server block of vip:80.
func writeVirtualServer(b *strings.Builder, c cluster, vip netip.Addr) {
	fmt.Fprintf(b, "virtual_server %s 80 {\n    delay_loop %d\n    lb_algo %s\n    lb_kind DR\n", vip, c.DelayLoop, c.Scheduler)
	if c.Persistence > 0 {
		fmt.Fprintf(b, "    persistence_timeout %d\n", c.Persistence)
	}
	b.WriteString("    protocol TCP\n")
	for _, rs := range c.RealServers {
		fmt.Fprintf(b, "    real_server %s 80 {\n        weight %d\n", rs.Addr, rs.Weight)
		if c.Inhibit {
			b.WriteString("        inhibit_on_failure\n")
		}
		fmt.Fprintf(b, "        %s {\n", c.Check)
		if c.Check == "HTTP_GET" {
			b.WriteString("            url {\n                path /healthz\n                status_code 200\n            }\n")
		}
		fmt.Fprintf(b, "            connect_port 80\n            connect_timeout %d\n            retry %d\n            delay_before_retry %d\n        }\n    }\n",
			c.ConnectTimeout, c.Retry, c.DelayBeforeRetry)
	}
	b.WriteString("}\n\n")
}
