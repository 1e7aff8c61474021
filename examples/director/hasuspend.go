package main

import (
	"net/netip"

	"github.com/lvskit/lvskit/vrrp"
)

// ha_suspend, as keepalived 2.2.7 has it (check_api.c update_checker_activity,
// register_checkers_thread): the checkers of a virtual server with ha_suspend run
// only while this host holds the virtual server's address, and are suspended from
// the start until it does. A suspended checker keeps its real server's state; the
// IPVS table is not touched. keepalived counts the address on any interface, as
// rtnetlink reports it; the director counts the addresses its MASTER instances
// hold, which the reconciler knows, so an address configured outside VRRP does not
// resume the checks. As keepalived (check_data.c), ha_suspend on a virtual server
// with a fwmark, or a group with a fwmark, is ignored with a warning. Unlike
// keepalived 2.2.7, whose addr_matches never matches a virtual_server_group (its
// checks then never run), a group's checks run while any address of the group is
// held.

// haSuspendState is what the runtime last told the health scheduler. It is guarded
// by lvsRuntime.mu.
type haSuspendState struct {
	held      map[netip.Addr]bool // addresses held by MASTER instances, last reported
	suspended map[string]bool     // check name -> suspended in the scheduler
	ignored   map[string]bool     // virtual servers whose ha_suspend was warned about
}

// haAddrs returns the addresses whose holding resumes the virtual server's checks,
// and whether ha_suspend applies to it at all.
func (v *vsRun) haAddrs() ([]netip.Addr, bool) {
	if !v.cfg.HASuspend {
		return nil, false
	}
	var out []netip.Addr
	for _, s := range v.services() {
		if s.FWMark != 0 {
			return nil, false
		}
		out = append(out, s.Address)
	}
	return out, true
}

// haSuspendSync tells the LVS runtime which addresses the MASTER instances of view
// hold; the reconciler calls it after converging the VIPs.
func haSuspendSync(c lvsConverger, view vrrpView) {
	l, ok := c.(*lvsRuntime)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.anyHASuspendLocked() && len(l.ha.suspended) == 0 {
		return
	}
	held := map[netip.Addr]bool{}
	for _, iv := range view.insts {
		if iv.state != vrrp.StateMaster {
			continue
		}
		for _, a := range iv.vips {
			held[a.Prefix.Addr()] = true
		}
	}
	l.ha.held = held
	l.applyHASuspendLocked()
}

// anyHASuspendLocked reports whether a virtual server has ha_suspend. l.mu is held.
func (l *lvsRuntime) anyHASuspendLocked() bool {
	for _, v := range l.vss {
		if v.cfg.HASuspend {
			return true
		}
	}
	return false
}

// applyHASuspendLocked suspends or resumes each check as its virtual server's
// address is held or not, and forgets checks that are gone. It calls only the
// scheduler, which makes no system call. l.mu is held.
func (l *lvsRuntime) applyHASuspendLocked() {
	want := map[string]bool{}
	for _, v := range l.vss {
		addrs, on := v.haAddrs()
		if v.cfg.HASuspend && !on {
			if k := v.svc.String(); !l.ha.ignored[k] {
				if l.ha.ignored == nil {
					l.ha.ignored = map[string]bool{}
				}
				l.ha.ignored[k] = true
				l.log.Warn("ha_suspend ignored on a virtual server with a fwmark, as keepalived does; its checks always run",
					"virtual_server", k, "pos", v.cfg.Pos.String())
			}
		}
		suspend := false
		if on {
			suspend = true
			for _, a := range addrs {
				if l.ha.held[a] {
					suspend = false
					break
				}
			}
		}
		changed := false
		for _, r := range v.rss {
			for _, n := range r.names {
				want[n] = suspend
				if l.ha.suspended[n] == suspend {
					continue
				}
				if err := l.sched.Suspend(n, suspend); err != nil {
					l.log.Warn("ha_suspend", "check", n, "err", err)
					continue
				}
				changed = true
			}
		}
		if changed {
			if suspend {
				l.log.Info("suspending health checks: no local MASTER holds the virtual server's address (ha_suspend)", "virtual_server", v.svc.String())
			} else {
				l.log.Info("resuming health checks: a local MASTER holds the virtual server's address (ha_suspend)", "virtual_server", v.svc.String())
			}
		}
	}
	for n, s := range want {
		if !s {
			delete(want, n)
		}
	}
	l.ha.suspended = want
}
