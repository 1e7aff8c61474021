package main

import (
	"context"
	"sync"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vip"
)

// garp_lower_prio_repeat and garp_lower_prio_delay, as keepalived 2.2.7 has them
// (vrrp.c, the MASTER's receive path): a MASTER that receives an advert of lower
// priority stays MASTER, and sends garp_lower_prio_repeat gratuitous ARPs (or
// unsolicited neighbour advertisements) for its addresses at once and as many
// again garp_lower_prio_delay later, since the lower priority peer may have become
// MASTER in a split brain and taken the addresses in its neighbours' caches. A
// repeat of 0 sends nothing. The Router reports such an advert
// (vrrp.RouterConfig.OnLowerPriorityAdvert); the reconciler, which owns the
// announcements, starts the burst for the instance if it is still MASTER and
// holds its addresses. A new lower priority advert restarts the instance's burst.
// As keepalived does, the advert also starts the bursts of the other members of the
// instance's sync group that are MASTER and hold addresses, each with its own
// repeat and delay: the peer's members went BACKUP when it saw the group's MASTER,
// so their adverts will not come, but its neighbours' caches may point at it for
// every member's addresses.

// lowerPrioGARP is an instance's garp_lower_prio_repeat and garp_lower_prio_delay.
type lowerPrioGARP struct {
	repeat int
	delay  time.Duration
}

func lowerPrioOf(in *kaconf.Instance) lowerPrioGARP {
	return lowerPrioGARP{repeat: in.GARPLowerPrioRepeat, delay: in.GARPLowerPrioDelay}
}

// policy is the announcement for a lower priority advert, with the spacing
// (garp_interval) of the instance's master policy p.
func (g lowerPrioGARP) policy(p vip.Policy) vip.Policy {
	return vip.Policy{Count: g.repeat, Interval: p.Interval, RepeatDelay: g.delay, RepeatCount: g.repeat}
}

// lowerPrio is the reconciler's record of lower priority adverts.
type lowerPrio struct {
	// mu guards seen. It is a leaf lock, taken from a Router's callback with the
	// Router locked.
	mu   sync.Mutex
	seen map[string]bool // instances that received one since the last reconcile
	// running is each instance's burst in progress; owned by the run goroutine.
	running map[string]context.CancelFunc
}

// lowerPrioAdvert is the Routers' OnLowerPriorityAdvert: it records the instance
// and marks the director dirty. It never blocks.
func (r *reconciler) lowerPrioAdvert(instance string) {
	r.lower.mu.Lock()
	if r.lower.seen == nil {
		r.lower.seen = map[string]bool{}
	}
	r.lower.seen[instance] = true
	r.lower.mu.Unlock()
	r.changed()
}

// announceLowerPrio starts the bursts for the instances that received lower
// priority adverts, of those still MASTER (in garp) and holding addresses (in
// byInst), and stops the bursts of instances no longer holding any. Called by the
// run goroutine.
func (r *reconciler) announceLowerPrio(ctx context.Context, vb vipBackend, garp map[string]instView, byInst map[string][]vip.Address) {
	r.lower.mu.Lock()
	seen := r.lower.seen
	r.lower.seen = nil
	r.lower.mu.Unlock()
	// The advert of one member of a sync group stands for the whole group.
	groups := map[string]bool{}
	for inst := range seen {
		if g := garp[inst].group; g != "" {
			groups[g] = true
		}
	}
	for name, iv := range garp {
		if groups[iv.group] {
			seen[name] = true // seen is this call's own map
		}
	}
	for inst, cancel := range r.lower.running {
		if _, ok := byInst[inst]; !ok {
			cancel()
			delete(r.lower.running, inst)
		}
	}
	for inst := range seen {
		iv, ok := garp[inst]
		as := byInst[inst]
		if !ok || len(as) == 0 || iv.lower.repeat <= 0 {
			continue
		}
		if cancel := r.lower.running[inst]; cancel != nil {
			cancel()
		}
		r.log.Info("lower priority advert received as MASTER; refreshing the neighbours' caches",
			"instance", inst, "repeat", iv.lower.repeat, "delay", iv.lower.delay)
		lv := iv
		lv.garp4, lv.garp6 = iv.lower.policy(iv.garp4), iv.lower.policy(iv.garp6)
		if r.lower.running == nil {
			r.lower.running = map[string]context.CancelFunc{}
		}
		r.lower.running[inst] = r.announce(ctx, vb, lv, as).cancel
	}
}

// stopLowerPrio stops every burst in progress. Called by the run goroutine.
func (r *reconciler) stopLowerPrio() {
	for inst, cancel := range r.lower.running {
		cancel()
		delete(r.lower.running, inst)
	}
}
