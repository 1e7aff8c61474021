package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// activeActiveStory is the -scenario active-active lab: the Nginx + keepalived
// article's "双主热备", two VIPs, each director MASTER of one.
func activeActiveStory(ctx context.Context, l *lab, n *narrator) error {
	c := l.c
	vip1, vip2 := c.VIP, c.VIP2
	n.say("topology: client %s, dir1 %s, dir2 %s, rs1 %s, rs2 %s on one bridge; VIPs %s:80 (VI_1, VRID %d) and %s:80 (VI_2, VRID %d), LVS-DR, %s",
		l.hosts["client"].addr, l.hosts["dir1"].addr, l.hosts["dir2"].addr, l.hosts["rs1"].addr, l.hosts["rs2"].addr, vip1, c.VRID, vip2, c.VRID2, c.Scheduler)
	n.say("rs1 and rs2: realserver put both VIPs on lo; web servers listen on :80")
	if _, err := l.startDirector(l.hosts["dir1"], 100); err != nil {
		return err
	}
	if _, err := l.startDirector(l.hosts["dir2"], 99); err != nil {
		return err
	}
	n.say("directors started: VI_1 dir1 priority 100, dir2 99; VI_2 dir2 priority 100, dir1 99 (VRRP v%d, advert_int %s)", c.Version, c.AdvertInt)
	home := map[netip.Addr]string{vip1: "dir1", vip2: "dir2"}
	if err := settle(ctx, l, home); err != nil {
		return err
	}
	n.say("dir1 holds %s and dir2 holds %s, each with rs1 and rs2 in its IPVS table", vip1, vip2)

	// 1. Both VIPs serve at once, each through its home director.
	capts := map[netip.Addr]*capture{}
	for _, vip := range c.vips() {
		capt, err := startCapture(l.hosts["client"].ns, vip)
		if err != nil {
			return err
		}
		capts[vip] = capt
	}
	var seq []string
	for range 4 {
		for _, vip := range c.vips() {
			r, err := l.getVIP(ctx, vip, 5*time.Second)
			if err != nil {
				for _, capt := range capts {
					capt.stop()
				}
				return err
			}
			seq = append(seq, fmt.Sprintf("%s:%s", vip, r.server))
		}
	}
	n.say("8 requests, alternating between the VIPs: %s", strings.Join(seq, " "))
	for _, vip := range c.vips() {
		to, from, _ := capts[vip].stop()
		mac, err := l.neighbourOf(vip)
		if err != nil {
			return err
		}
		n.say("%s: requests went to %s; replies came from %s; client's neighbour entry -> %s", vip, macNames(l, to), macNames(l, from), l.hostByMAC(mac))
		if got := macSet(l, to); !slices.Equal(got, []string{home[vip]}) || l.hostByMAC(mac) != home[vip] {
			return fmt.Errorf("%s: requests went to %v, neighbour entry %s; want %s", vip, got, l.hostByMAC(mac), home[vip])
		}
		if got := macSet(l, from); !slices.Equal(got, []string{"rs1", "rs2"}) {
			return fmt.Errorf("%s: replies came from %v; want rs1 and rs2", vip, got)
		}
	}
	n.say("OK: active-active -- each director forwards its own VIP; neither idles")

	// 2. dir1 dies; dir2 holds both.
	stops := map[netip.Addr]func() []probeResult{}
	for _, vip := range c.vips() {
		stops[vip] = l.probeVIP(ctx, vip, 100*time.Millisecond, time.Second)
	}
	results := func() map[netip.Addr][]probeResult {
		res := map[netip.Addr][]probeResult{}
		for vip, stop := range stops {
			res[vip] = stop()
		}
		return res
	}
	time.Sleep(500 * time.Millisecond)
	t0 := time.Now()
	n.say("dir1 crashes: director SIGKILLed, its link cut (the client requests each VIP every 100 ms, 1 s timeout)")
	if err := l.crash("dir1"); err != nil {
		results()
		return err
	}
	err := l.waitOwnerOf(ctx, vip1, "dir2", 30*time.Second)
	took := time.Since(t0)
	if err != nil {
		results()
		return fmt.Errorf("dir2 did not take %s: %w", vip1, err)
	}
	n.say("dir2 took %s after %d ms", vip1, took.Milliseconds())
	err = waitServedVIP(ctx, l, vip1, 2, 30*time.Second)
	// Time for the probe loops to see the service back too: a request sent before
	// the takeover may wait out its 1 s timeout before the next one starts.
	time.Sleep(1200 * time.Millisecond)
	res := results()
	if err != nil {
		return fmt.Errorf("%s did not serve through dir2: %w", vip1, err)
	}
	for _, vip := range c.vips() {
		o := outage(res[vip], t0)
		mac, err := l.neighbourOf(vip)
		if err != nil {
			return err
		}
		failed := o.Failed
		back, berr := o.recovery("the crash")
		n.say("%s: %d of %d requests failed, %s (served by %v); neighbour entry -> %s", vip, failed, o.Total, back, o.Served, l.hostByMAC(mac))
		if berr != nil {
			return fmt.Errorf("%s: %w", vip, berr)
		}
		if l.hostByMAC(mac) != "dir2" {
			return fmt.Errorf("the client's neighbour entry for %s is %s; want dir2's MAC", vip, mac)
		}
		if vip == vip2 && failed > 0 {
			return fmt.Errorf("%s, on the director that did not fail, lost %d requests", vip, failed)
		}
	}
	n.say("OK: failover -- dir2 holds both VIPs and both serve")

	// 3. dir1 returns; VI_1 goes home.
	if err := l.revive("dir1"); err != nil {
		return err
	}
	stop := l.probeVIP(ctx, vip1, 100*time.Millisecond, time.Second)
	t0 = time.Now()
	if _, err := l.startDirector(l.hosts["dir1"], 100); err != nil {
		stop()
		return err
	}
	n.say("dir1 is back (link up, director started)")
	err = settle(ctx, l, home)
	took = time.Since(t0)
	time.Sleep(500 * time.Millisecond)
	o := outage(stop(), t0)
	failed, total := o.Failed, o.Total
	if err != nil {
		return err
	}
	n.say("OK: preemption -- %s went home to dir1 after %d ms (%d of %d requests failed); %s stayed on dir2", vip1, took.Milliseconds(), failed, total, vip2)
	return nil
}

// settle waits until each VIP is held by its home director alone, with both real
// servers in that director's IPVS table, and serves.
func settle(ctx context.Context, l *lab, home map[netip.Addr]string) error {
	for _, vip := range l.c.vips() {
		if err := l.waitOwnerOf(ctx, vip, home[vip], 30*time.Second); err != nil {
			return fmt.Errorf("%s did not hold %s alone: %w", home[vip], vip, err)
		}
		if err := poll(ctx, 30*time.Second, func() (bool, error) {
			p, err := l.poolOf(ctx, home[vip], vip)
			return len(p) == len(l.c.RealServers), err
		}); err != nil {
			return fmt.Errorf("%s's IPVS service for %s never had every real server: %w", home[vip], vip, err)
		}
		if err := waitServedVIP(ctx, l, vip, 2, 30*time.Second); err != nil {
			return fmt.Errorf("%s does not serve: %w", vip, err)
		}
	}
	return nil
}
