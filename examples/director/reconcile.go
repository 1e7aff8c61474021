package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

// Reconcile timing. Every state change of a Router kicks the reconciler
// (vrrp.RouterConfig.OnStateChange, which no full event channel can drop), so the
// state poll is only a backstop and runs once a second: at 1,000 instances a poll
// per advert interval cost more than the adverts themselves. The drift check
// re-reads the kernel's addresses and IPVS table.
const (
	// driftPeriod is how often the kernel's VIPs and IPVS table are re-read to find
	// changes made behind the director's back that no notification reported.
	driftPeriod = 10 * time.Second
	// statePoll is how often the Routers' states are re-read with no kick.
	statePoll = time.Second
	// errorRetry is the least time between reconciles while the last one failed,
	// unless something changes.
	errorRetry = time.Second
	// vipCallTimeout bounds each rtnetlink call (add, remove, list).
	vipCallTimeout = 5 * time.Second
	// lvsCallTimeout bounds one IPVS convergence (snapshot, apply, sync daemons).
	lvsCallTimeout = 30 * time.Second
)

// lvsConverger is what the reconciler needs from the LVS runtime.
type lvsConverger interface {
	// converge brings the kernel's IPVS table and sync daemons to what the runtime
	// wants, given the instances' current states; reread says the runtime's own view
	// of the kernel may be stale (the drift check).
	converge(ctx context.Context, states map[string]vrrp.State, reread bool) error
}

// reconciler is the one goroutine that changes the system: it adds and removes
// VIPs, announces them, and has the LVS runtime apply IPVS changes. Anything may
// mark it dirty (kick); it then computes what should be from the current states
// and fixes only the difference with what is. Many kicks in a burst are one
// reconcile.
type reconciler struct {
	log  *slog.Logger
	vrrp interface{ view() vrrpView }
	m    *metrics
	// vipTimeout and lvsTimeout bound kernel calls; tests shorten them.
	vipTimeout, lvsTimeout time.Duration
	drift                  time.Duration

	kick  chan struct{} // capacity 1: set means dirty
	syncs chan chan error
	done  chan struct{} // closed when run returns
	bg    sync.WaitGroup

	// mu guards the inbox (gone, resync flags, lvs) and what is published for the
	// status (held, runs). It is a leaf lock: no system call is made under it.
	mu         sync.Mutex
	vips       vipBackend // nil while the configuration has no instances
	lvs        lvsConverger
	gone       []vip.Address
	resyncVIPs bool
	rereadLVS  bool
	held       map[string][]string // instance -> VIPs held, for the status
	runs       uint64              // reconciles run
	kroutes    routeBackend        // virtual_routes and static_routes (vroutes.go), nil without
	routeCfg   routeConfig
	krules     ruleBackend // virtual_rules and static_rules (vrules.go), nil without
	ruleCfg    ruleConfig
	// static are static_ipaddress's addresses, held while the director runs.
	static []vip.Address
	// use_vmac's macvlans (vmac.go): the backend (nil without), the wanted ones, a
	// request to check them all, and the names held as of the last reconcile.
	vmacB      vmacBackend
	vmacWant   []vmacSpec
	vmacResync bool
	vmacKnown  []string

	// reopen, set before run starts, reopens the VRRP sockets on an interface (a
	// macvlan created again after it was deleted from outside).
	reopen func(iface string) error

	// ecmp, set before run starts, is the scale-out mode (ecmp.go), nil when off.
	ecmp *ecmpRuntime

	// Owned by the run goroutine alone.
	have  map[addrKey]heldVIP
	ann   map[string]*announcing
	lower lowerPrio // garp_lower_prio_* bursts (lowerprio.go)
	fresh bool      // the first pass removes what an earlier run left
	// routesHave are the routes the director added (vroutes.go).
	routesHave map[routeKey]heldRoute
	// rulesHave are the rules the director added (vrules.go).
	rulesHave map[ruleKey]heldRule
	// vmacHave are the macvlans the director holds, parents their parents' sysctls
	// as they were before (vmac.go).
	vmacHave  map[string]heldVMAC
	parents   map[string]*savedParent
	vmacSwept bool      // the macvlans an earlier run left have been removed
	rpf       *rpFilter // rp_filter values changed for IPv4 macvlans, nil when none
}

// addrKey identifies an address on an interface.
type addrKey struct {
	iface  string
	prefix netip.Prefix
}

func keyOfVIP(a vip.Address) addrKey { return addrKey{a.Interface, a.Prefix} }

// heldVIP is an address the director added and believes is in the kernel.
type heldVIP struct {
	a    vip.Address
	inst string
}

// announcing is an instance's running announcement of the VIPs it holds.
type announcing struct {
	addrs  []vip.Address
	cancel context.CancelFunc
}

func newReconciler(log *slog.Logger, src interface{ view() vrrpView }, m *metrics, vips vipBackend) *reconciler {
	return &reconciler{log: log, vrrp: src, m: m, vips: vips, vipTimeout: vipCallTimeout, lvsTimeout: lvsCallTimeout,
		drift: driftPeriod, kick: make(chan struct{}, 1), syncs: make(chan chan error), done: make(chan struct{}),
		held: map[string][]string{}, have: map[addrKey]heldVIP{}, ann: map[string]*announcing{}, fresh: true}
}

// changed marks the director dirty; it never blocks.
func (r *reconciler) changed() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// setVIPs gives the reconciler the VIP backend (for a reload that adds the first
// instances).
func (r *reconciler) setVIPs(vb vipBackend) {
	r.mu.Lock()
	r.vips = vb
	r.mu.Unlock()
	r.changed()
}

// backend returns the VIP backend, nil when there is none.
func (r *reconciler) backend() vipBackend {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.vips
}

// setLVS gives the reconciler the LVS runtime to converge (nil: none).
func (r *reconciler) setLVS(l lvsConverger) {
	r.mu.Lock()
	r.lvs = l
	r.mu.Unlock()
	r.changed()
}

// kernelRemoved takes the watcher's report that an owned address disappeared.
func (r *reconciler) kernelRemoved(a vip.Address) {
	r.mu.Lock()
	r.gone = append(r.gone, a)
	r.mu.Unlock()
	r.changed()
}

// resync has the next reconcile re-read the kernel's addresses (after a watcher
// overrun, or when the watcher restarts) and, with lvs, its IPVS table.
func (r *reconciler) resync(lvs bool) {
	r.mu.Lock()
	r.resyncVIPs = true
	r.vmacResync = true
	r.rereadLVS = r.rereadLVS || lvs
	r.mu.Unlock()
	r.changed()
}

// sync runs a reconcile now and returns its error; after run has returned it
// returns nil at once.
func (r *reconciler) sync() error {
	ch := make(chan error, 1)
	select {
	case r.syncs <- ch:
	case <-r.done:
		return nil
	}
	return <-ch
}

// heldVIPs is the published list of VIPs each instance holds.
func (r *reconciler) heldVIPs() (map[string][]string, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]string, len(r.held))
	for k, v := range r.held {
		out[k] = v
	}
	return out, r.runs
}

// run reconciles until ctx ends: on every kick, every advert interval (the state
// poll), and every drift period with the kernel re-read.
func (r *reconciler) run(ctx context.Context) {
	defer close(r.done)
	defer r.bg.Wait()
	defer r.stopAnnouncing()
	poll := time.NewTimer(0)
	defer poll.Stop()
	drift := time.NewTicker(r.drift)
	defer drift.Stop()
	for {
		var reply chan error
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case reply = <-r.syncs:
		case <-poll.C:
		case <-drift.C:
			r.resync(true)
		}
		// Coalesce: whatever else marked the director dirty meanwhile is covered.
		select {
		case <-r.kick:
		default:
		}
		period, err := r.reconcile(ctx)
		if reply != nil {
			reply <- err
		}
		if err != nil {
			r.log.Error("reconcile", "err", err)
			period = max(period, errorRetry)
		}
		poll.Reset(period)
	}
}

// reconcile computes what should be from the current states and fixes the
// difference. It returns the state poll period.
func (r *reconciler) reconcile(ctx context.Context) (time.Duration, error) {
	view := r.vrrp.view()
	period := statePoll
	var errs []error
	// The macvlans first: VIPs (and routes through them) go on them. Those no longer
	// wanted go after the VIPs, routes and rules.
	errs = append(errs, r.ensureVMACs(ctx, false))
	if vb := r.backend(); vb != nil {
		errs = append(errs, r.reconcileVIPs(ctx, vb, view))
	}
	r.mu.Lock()
	l, reread := r.lvs, r.rereadLVS
	r.rereadLVS = false
	r.runs++
	r.mu.Unlock()
	errs = append(errs, r.reconcileRoutes(ctx, view, reread))
	errs = append(errs, r.reconcileRules(ctx, view, reread))
	errs = append(errs, r.dropVMACs(ctx))
	if l != nil {
		haSuspendSync(l, view)
		cctx, cancel := context.WithTimeout(ctx, r.lvsTimeout)
		errs = append(errs, l.converge(cctx, view.byName, reread))
		cancel()
	}
	if r.ecmp != nil {
		// After the IPVS convergence, whose outcome decides the routes.
		errs = append(errs, r.ecmp.converge(ctx, l, reread))
	}
	return period, errors.Join(errs...)
}

// wantVIP is an address some MASTER instance must hold.
type wantVIP struct {
	a    vip.Address
	inst string
}

func (r *reconciler) reconcileVIPs(ctx context.Context, vb vipBackend, view vrrpView) error {
	var errs []error
	call := func(f func(ctx context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, r.vipTimeout)
		defer cancel()
		return f(cctx)
	}
	if r.fresh {
		r.fresh = false
		var removed []vip.Address
		err := call(func(ctx context.Context) (err error) { removed, err = vb.Cleanup(ctx); return err })
		if err != nil {
			r.log.Warn("removing stale VIPs", "err", err)
		}
		for _, a := range removed {
			r.log.Info("removed a stale VIP left by an earlier run", "addr", a.String())
		}
	}

	// What should be: static_ipaddress's addresses (staticaddr.go), and the
	// addresses of the instances that are MASTER now.
	want := map[addrKey]wantVIP{}
	var order []addrKey
	garp := map[string]instView{}
	r.mu.Lock()
	static := r.static
	r.mu.Unlock()
	for _, a := range static {
		k := keyOfVIP(a)
		if _, dup := want[k]; !dup {
			want[k] = wantVIP{a: a}
			order = append(order, k)
		}
	}
	for _, iv := range view.insts {
		if iv.state != vrrp.StateMaster {
			continue
		}
		garp[iv.name] = iv
		for _, a := range iv.vips {
			k := keyOfVIP(a)
			if _, dup := want[k]; !dup {
				want[k] = wantVIP{a, iv.name}
				order = append(order, k)
			}
		}
	}

	// What is: what the director added, less what the watcher saw go, or what the
	// kernel lists when it must be re-read.
	r.mu.Lock()
	gone, resync := r.gone, r.resyncVIPs
	r.gone, r.resyncVIPs = nil, false
	r.mu.Unlock()
	for _, a := range gone {
		k := keyOfVIP(a)
		if _, ok := r.have[k]; !ok {
			continue // one the director removed itself
		}
		delete(r.have, k)
		if w, ok := want[k]; ok {
			r.log.Warn(missingMsg(w.inst, "removed from outside"), "addr", a.Prefix.String(),
				"interface", a.Interface, "instance", w.inst)
		}
	}
	if resync {
		var kernel []vip.Address
		err := call(func(ctx context.Context) (err error) { kernel, err = vb.List(ctx); return err })
		if err != nil {
			errs = append(errs, fmt.Errorf("director: listing addresses: %w", err))
			r.mu.Lock()
			r.resyncVIPs = true
			r.mu.Unlock()
		} else {
			there := map[addrKey]vip.Address{}
			for _, a := range kernel {
				there[keyOfVIP(a)] = a
			}
			for k := range r.have {
				if _, ok := there[k]; ok {
					continue
				}
				delete(r.have, k)
				if w, ok := want[k]; ok {
					r.log.Warn(missingMsg(w.inst, "missing from the kernel"), "addr", k.prefix.String(),
						"interface", k.iface, "instance", w.inst)
				}
			}
			for k, a := range there {
				if _, ok := r.have[k]; ok || !a.Owned {
					continue
				}
				if w, ok := want[k]; ok {
					r.have[k] = heldVIP(w) // there already: adopt it
					continue
				}
				// Owned by lvskit but wanted by no MASTER: left behind.
				a.Owned = false
				r.have[k] = heldVIP{a: a}
			}
		}
	}

	// Remove what is held but not wanted (or wanted with other properties).
	changed := map[string]bool{}
	keys := make([]addrKey, 0, len(r.have))
	for k := range r.have {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].prefix.String()+keys[i].iface < keys[j].prefix.String()+keys[j].iface
	})
	for _, k := range keys {
		h := r.have[k]
		if w, ok := want[k]; ok && w.a == h.a {
			if w.inst != h.inst {
				r.have[k] = heldVIP{h.a, w.inst}
				changed[h.inst], changed[w.inst] = true, true
			}
			continue
		}
		if err := call(func(ctx context.Context) error { return vb.Remove(ctx, h.a) }); err != nil {
			errs = append(errs, fmt.Errorf("director: removing VIP %s: %w", h.a, err))
			continue
		}
		r.log.Info("VIP removed", "addr", h.a.String(), "instance", h.inst)
		delete(r.have, k)
		changed[h.inst] = true
	}
	// Add what is wanted and not held.
	added := map[string]bool{}
	for _, k := range order {
		if _, ok := r.have[k]; ok {
			continue
		}
		w := want[k]
		if err := call(func(ctx context.Context) error { return vb.Add(ctx, w.a) }); err != nil {
			r.m.vipError()
			errs = append(errs, fmt.Errorf("director: adding VIP %s of %s: %w", w.a, w.inst, err))
			continue
		}
		r.log.Info("VIP added", "addr", w.a.String(), "instance", w.inst)
		r.have[k] = heldVIP(w)
		added[w.inst] = true
	}

	// Announce: an instance whose held set grew announces it anew.
	byInst := map[string][]vip.Address{}
	for _, h := range r.have {
		if h.inst != "" {
			byInst[h.inst] = append(byInst[h.inst], h.a)
		}
	}
	for inst, as := range byInst {
		slices.SortFunc(as, func(a, b vip.Address) int { return compareAddr(a, b) })
		an := r.ann[inst]
		if an != nil && !added[inst] && slices.Equal(an.addrs, as) {
			continue
		}
		if an != nil {
			an.cancel()
		}
		r.ann[inst] = r.announce(ctx, vb, garp[inst], as)
	}
	for inst, an := range r.ann {
		if _, ok := byInst[inst]; !ok {
			an.cancel()
			delete(r.ann, inst)
		}
	}
	r.announceLowerPrio(ctx, vb, garp, byInst)

	held := map[string][]string{}
	for inst, as := range byInst {
		for _, a := range as {
			held[inst] = append(held[inst], a.String())
		}
	}
	r.mu.Lock()
	r.held = held
	r.mu.Unlock()
	return errors.Join(errs...)
}

// missingMsg is the warning for a wanted address that went: a VIP of a MASTER
// instance, or a static address (inst "").
func missingMsg(inst, how string) string {
	if inst == "" {
		return "static address " + how + "; adding it back"
	}
	return "VIP " + how + " while MASTER; adding it back"
}

func compareAddr(a, b vip.Address) int {
	if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
		return c
	}
	switch {
	case a.Interface < b.Interface:
		return -1
	case a.Interface > b.Interface:
		return 1
	}
	return 0
}

// announce starts gratuitous ARP / unsolicited NA for as, one goroutine per
// interface, following the instance's policy, until cancelled.
func (r *reconciler) announce(ctx context.Context, vb vipBackend, iv instView, as []vip.Address) *announcing {
	ctx, cancel := context.WithCancel(ctx)
	byIf := map[string][]netip.Addr{}
	var ifs []string
	for _, a := range as {
		if _, ok := byIf[a.Interface]; !ok {
			ifs = append(ifs, a.Interface)
		}
		byIf[a.Interface] = append(byIf[a.Interface], a.Prefix.Addr())
	}
	for _, ifn := range ifs {
		addrs := byIf[ifn]
		p := iv.garp4
		if addrs[0].Is6() {
			p = iv.garp6
		}
		r.bg.Add(1)
		go func() {
			defer r.bg.Done()
			if err := vb.Announce(ctx, ifn, p, addrs); err != nil && ctx.Err() == nil {
				r.log.Warn("announcing VIPs", "interface", ifn, "err", err)
			}
		}()
	}
	return &announcing{addrs: as, cancel: cancel}
}

func (r *reconciler) stopAnnouncing() {
	r.stopLowerPrio()
	for inst, an := range r.ann {
		an.cancel()
		delete(r.ann, inst)
	}
}
