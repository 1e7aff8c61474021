package main

import (
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vip"
)

// static_ipaddress: addresses held from start to stop whatever the instances'
// states, as keepalived 2.2.7 holds them (vrrp_daemon.c: removed at the start of a
// run if there, added, put back when deleted from outside, removed at the stop).
// They go through the VIP machinery of reconcile.go as wanted addresses of no
// instance, so they are marked as lvskit's like VIPs (a crashed run's are removed
// by the first pass), the watcher and the drift check put them back, and no
// gratuitous ARP is sent for them (keepalived sends none).

// staticAddresses are cfg's static_ipaddress lines as addresses.
func staticAddresses(cfg *kaconf.Config) []vip.Address {
	var out []vip.Address
	for _, v := range cfg.StaticAddresses {
		out = append(out, vipAddress(v, v.Dev))
	}
	return out
}

// setStatic gives the reconciler the static addresses; nil at the stop removes
// them.
func (r *reconciler) setStatic(as []vip.Address) {
	r.mu.Lock()
	r.static = as
	r.mu.Unlock()
	r.changed()
}
