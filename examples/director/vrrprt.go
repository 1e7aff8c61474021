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

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

// vrrpHooks are what the VRRP runtime tells the rest of the director, given at
// construction; the runtime holds no pointer to the daemon.
type vrrpHooks struct {
	// changed marks the director dirty: some instance's state may have changed.
	changed func()
	// notify queues a notify script on an instance's queue; it never blocks.
	notify func(queue string, argv []string)
	// dropQueue ends an instance's notify queue.
	dropQueue func(queue string)
	// mail queues an alert mail; it never blocks. mailOn reports whether mail is on.
	mail   func(subject, body string)
	mailOn func() bool
	// lowerPrio is called, with a Router locked, when a MASTER instance receives a
	// lower priority advert (garp_lower_prio_*, lowerprio.go); it never blocks.
	lowerPrio func(instance string)
	// events, when set, replaces each event the Routers emit by what it returns
	// before the runtime handles it (tests lose, repeat and reorder events with it).
	events func(vrrp.Event) []vrrp.Event
	// fifo, when set, writes a line to the VRRP notify FIFOs; it never blocks.
	fifo func(line string)
}

// vrrpRuntime owns the VRRP side: the Routers (one per sync group or lone
// instance), their shared sockets, the instances' transition bookkeeping, and the
// feeding of links and vrrp_scripts to trackers. Its effects on the system (VIPs,
// the sync daemon) are not its business: it reports changes through hooks.changed,
// and the reconciler reads the current states with view.
type vrrpRuntime struct {
	log     *slog.Logger
	clock   vrrp.Clock
	primary func(iface string, v6 bool) (netip.Addr, error)
	linkUp  func(iface string) bool
	socks   *sockets
	m       *metrics
	h       vrrpHooks

	// mu guards everything below. It is a leaf lock: no Router method (they send
	// adverts), socket, script or mail call is made while it is held.
	mu         sync.Mutex
	cfg        *kaconf.Config
	routers    map[string]*routerRun
	insts      map[string]*instRun
	groupState map[string]string // sync group -> state last notified
	groupMail  map[string]string // sync group -> state last mailed
}

// routerRun is one running vrrp.Router: a sync group, or one instance alone.
type routerRun struct {
	key    string
	fp     string
	r      *vrrp.Router
	names  []string
	tracks map[string][]tracker
	cancel context.CancelFunc
	done   chan struct{} // closed when the last event has been handled
	// ran is closed when Run has returned, and with it closed its transport (and
	// released its shared socket).
	ran chan struct{}
}

// instRun is the runtime's bookkeeping of one vrrp_instance, from its events.
type instRun struct {
	cfg    kaconf.Instance
	rr     *routerRun
	state  vrrp.State // as of the last event handled
	prio   uint8
	trans  uint64
	since  time.Time
	mailed string // state last mailed (keepalived's last_email_state)
	eff    instEffects
}

// instEffects is what an instance puts on the system as MASTER, computed once per
// configuration so that the state poll allocates nothing per instance.
type instEffects struct {
	vips         []vip.Address
	garp4, garp6 vip.Policy
	advert       time.Duration
	lower        lowerPrioGARP
	group        string // its sync group, "" for none
}

func effectsOf(cfg *kaconf.Config, in *kaconf.Instance) instEffects {
	e := instEffects{vips: vipAddresses(in), garp4: garpPolicy(cfg, in, false), garp6: garpPolicy(cfg, in, true),
		advert: in.AdvertInt, lower: lowerPrioOf(in)}
	if g := syncGroupOf(cfg, in.Name); g != nil {
		e.group = g.Name
	}
	return e
}

func newVRRPRuntime(log *slog.Logger, d deps, socks *sockets, m *metrics, h vrrpHooks) *vrrpRuntime {
	return &vrrpRuntime{log: log, clock: d.clock, primary: d.primary, linkUp: d.linkUp, socks: socks, m: m, h: h,
		routers: map[string]*routerRun{}, insts: map[string]*instRun{}, groupState: map[string]string{},
		groupMail: map[string]string{}}
}

// apply moves the running Routers to cfg: Routers whose configuration is unchanged
// but for priorities and addresses keep running (the new values are applied in
// place), the others are stopped and started anew. The daemon's opMu serialises
// calls.
func (v *vrrpRuntime) apply(ctx context.Context, cfg *kaconf.Config) error {
	type want struct {
		names []string
		cfgs  []vrrp.Config
		fp    string
	}
	wants := map[string]*want{}
	var order []string
	var errs []error
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		k := routerKey(cfg, in.Name)
		w := wants[k]
		if w == nil {
			w = &want{}
			wants[k] = w
			order = append(order, k)
		}
		primary := configuredPrimary(in)
		if !primary.IsValid() {
			p, err := v.primary(in.Interface, isIPv6(in))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: vrrp_instance %s: %w", in.Pos, in.Name, err))
				continue
			}
			primary = p
		}
		vc, err := vrrpConfig(cfg, in, primary)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: vrrp_instance %s: %w", in.Pos, in.Name, err))
			continue
		}
		w.names = append(w.names, in.Name)
		w.cfgs = append(w.cfgs, vc)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, w := range wants {
		w.fp = fingerprint(cfg, w.cfgs)
	}

	// Stop the Routers that are gone or changed.
	v.mu.Lock()
	var stopping []*routerRun
	for k, rr := range v.routers {
		if w := wants[k]; w == nil || w.fp != rr.fp {
			stopping = append(stopping, rr)
			delete(v.routers, k)
		}
	}
	v.mu.Unlock()
	for _, rr := range stopping {
		v.stopRouter(rr)
	}

	// Record the new configuration; list the in-place changes and the Routers to
	// build.
	type inPlace struct {
		r     *vrrp.Router
		name  string
		prio  *uint8
		addrs []netip.Addr
		set   bool
	}
	var changes []inPlace
	var build, dropped []string
	v.mu.Lock()
	v.cfg = cfg
	for name := range v.insts {
		if cfg.Instance(name) == nil {
			delete(v.insts, name)
			dropped = append(dropped, name)
		}
	}
	for _, k := range order {
		w := wants[k]
		rr := v.routers[k]
		if rr == nil {
			build = append(build, k)
			continue
		}
		for i, name := range w.names {
			in := v.insts[name]
			newIn := *cfg.Instance(name)
			ch := inPlace{r: rr.r, name: name}
			if in.cfg.Priority != newIn.Priority {
				p := w.cfgs[i].Priority
				ch.prio = &p
			}
			if !slices.Equal(vipAddresses(&in.cfg), vipAddresses(&newIn)) {
				ch.addrs, ch.set = w.cfgs[i].Addrs, true
			}
			in.cfg, in.eff = newIn, effectsOf(cfg, &newIn)
			if ch.prio != nil || ch.set {
				changes = append(changes, ch)
			}
		}
	}
	v.mu.Unlock()
	for _, name := range dropped {
		v.h.dropQueue(name)
	}
	for _, ch := range changes {
		if ch.prio != nil {
			if err := ch.r.SetPriority(ch.name, *ch.prio); err != nil {
				errs = append(errs, err)
			}
		}
		if ch.set {
			if err := ch.r.SetAddresses(ch.name, ch.addrs); err != nil {
				errs = append(errs, err)
			}
		}
	}

	// Build and start the new Routers (sockets are opened outside the lock).
	for _, k := range build {
		w := wants[k]
		rr, err := v.newRouter(cfg, k, w.names, w.cfgs, w.fp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		v.mu.Lock()
		v.routers[k] = rr
		for i, name := range w.names {
			in := cfg.Instance(name)
			ir := v.insts[name]
			if ir == nil {
				ir = &instRun{}
				v.insts[name] = ir
			}
			ir.cfg, ir.rr, ir.prio, ir.state, ir.eff = *in, rr, w.cfgs[i].Priority, vrrp.StateInit, effectsOf(cfg, in)
		}
		v.mu.Unlock()
		v.runRouter(ctx, rr)
	}
	v.h.changed()
	return errors.Join(errs...)
}

// fingerprint identifies what a running Router cannot change without a restart: all
// of its configuration except base priorities (SetPriority) and addresses
// (SetAddresses), and the owner bit.
func fingerprint(cfg *kaconf.Config, cfgs []vrrp.Config) string {
	s := ""
	for _, c := range cfgs {
		owner := c.Priority == 255
		c.Priority = 0
		c.Addrs = nil
		c.Trackers = stableTrackers(c.Trackers)
		s += fmt.Sprintf("%+v owner=%v|", c, owner)
		if in := cfg.Instance(c.Name); in != nil {
			s += fmt.Sprintf("%+v|", keyOf(in))
		}
	}
	return s
}

// newRouter builds the Router of a sync group or single instance, on endpoints of
// the shared sockets.
func (v *vrrpRuntime) newRouter(cfg *kaconf.Config, key string, names []string, cfgs []vrrp.Config, fp string) (*routerRun, error) {
	var ris []routerInst
	for i, name := range names {
		in := cfg.Instance(name)
		ris = append(ris, routerInst{key: keyOf(in), vrid: cfgs[i].VRID, peers: in.UnicastPeers, primary: cfgs[i].Primary})
	}
	tr, err := routerTransport(v.socks, ris)
	if err != nil {
		in := cfg.Instance(names[0])
		return nil, fmt.Errorf("%s: vrrp_instance %s: %w", in.Pos, names[0], err)
	}
	if g := syncGroupOf(cfg, names[0]); g != nil {
		for i := range cfgs {
			cfgs[i].SyncGroup = g.Name
		}
	}
	// OnStateChange marks the director dirty on every state change, also one whose
	// event the channel dropped: the reconciler then reads Snapshot, so no change is
	// missed and the reconciler need not poll at the advert interval.
	r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: cfgs, Transport: tr, Clock: v.clock, EventBuffer: 256,
		OnStateChange: v.h.changed, OnLowerPriorityAdvert: v.h.lowerPrio})
	if err != nil {
		tr.Close()
		return nil, fmt.Errorf("director: %s: %w", key, err)
	}
	rr := &routerRun{key: key, fp: fp, r: r, names: names, tracks: map[string][]tracker{}, done: make(chan struct{}), ran: make(chan struct{})}
	for _, name := range names {
		rr.tracks[name] = trackers(cfg, cfg.Instance(name))
	}
	return rr, nil
}

// runRouter feeds rr the interface states it starts with, then starts it and the
// goroutine that handles its events.
func (v *vrrpRuntime) runRouter(ctx context.Context, rr *routerRun) {
	ctx, cancel := context.WithCancel(ctx)
	rr.cancel = cancel
	v.mu.Lock()
	type linkFeed struct {
		name  string
		iface string
		i     int // tracker index, -1 for the instance's own interface
		inv   bool
	}
	var feeds []linkFeed
	for _, name := range rr.names {
		in := v.insts[name]
		if !in.cfg.DontTrackPrimary {
			feeds = append(feeds, linkFeed{name: name, iface: in.cfg.Interface, i: -1})
		}
		for i, t := range rr.tracks[name] {
			if t.iface != "" {
				feeds = append(feeds, linkFeed{name: name, iface: t.iface, i: i, inv: t.invert})
			}
		}
	}
	v.mu.Unlock()
	if v.linkUp != nil {
		for _, f := range feeds {
			up := v.linkUp(f.iface)
			if f.i < 0 {
				if !up {
					rr.r.SetInterfaceUp(f.name, false)
				}
				continue
			}
			rr.r.Track(f.name, f.i, up != f.inv)
		}
	}
	v.log.Info("starting VRRP", "router", rr.key, "instances", rr.names)
	events := rr.r.Events()
	go func() {
		for ev := range events {
			if v.h.events == nil {
				v.onEvent(rr, ev)
				continue
			}
			for _, e := range v.h.events(ev) {
				v.onEvent(rr, e)
			}
		}
		close(rr.done)
	}()
	go func() {
		defer close(rr.ran)
		if err := rr.r.Run(ctx); err != nil {
			v.log.Error("VRRP router stopped", "router", rr.key, "err", err)
		}
	}()
}

// stopRouter shuts rr down (a MASTER resigns with priority 0) and waits until its
// last events are handled and Run has returned (the events channel closes before
// Run closes its transport, and the shared socket must be released when stop or a
// reload returns). Its VIPs go at the next reconcile: an instance whose Router is
// not running is not MASTER.
func (v *vrrpRuntime) stopRouter(rr *routerRun) {
	if rr.cancel != nil {
		rr.cancel()
		<-rr.done
		<-rr.ran
	}
	v.mu.Lock()
	for _, name := range rr.names {
		if in := v.insts[name]; in != nil && in.rr == rr {
			in.rr = nil
			in.state = vrrp.StateInit
		}
	}
	v.mu.Unlock()
	v.h.changed()
}

// stop stops every Router at once and forgets the instances.
func (v *vrrpRuntime) stop() {
	v.mu.Lock()
	routers := make([]*routerRun, 0, len(v.routers))
	for _, rr := range v.routers {
		routers = append(routers, rr)
	}
	clear(v.routers)
	v.mu.Unlock()
	var wg sync.WaitGroup
	for _, rr := range routers {
		wg.Add(1)
		go func() { defer wg.Done(); v.stopRouter(rr) }()
	}
	wg.Wait()
	v.mu.Lock()
	for name := range v.insts {
		delete(v.insts, name)
	}
	v.mu.Unlock()
}

// onEvent handles one state change: the transition's bookkeeping, notify scripts
// and mails (keepalived runs those per transition). It decides nothing about VIPs
// or the sync daemon: it marks the director dirty, and the reconciler reads the
// Routers' current states.
func (v *vrrpRuntime) onEvent(rr *routerRun, ev vrrp.Event) {
	var argvs [][]string
	var mails [][2]string
	mailOn := v.h.mailOn()
	v.mu.Lock()
	in := v.insts[ev.Instance]
	if in == nil || in.rr != rr || v.cfg == nil {
		v.mu.Unlock()
		v.h.changed()
		return
	}
	in.state, in.prio, in.since = ev.To, ev.Priority, ev.Time
	in.trans++
	state := notifyState(ev.To)
	fifoLines := []string{fifoVRRPLine("INSTANCE", ev.Instance, state, ev.Priority)}
	argvs = append(argvs, notifyArgs(in.cfg.Notify, in.cfg.NotifyMaster, in.cfg.NotifyBackup, in.cfg.NotifyFault,
		in.cfg.NotifyStop, "INSTANCE", ev.Instance, state, ev.Priority)...)
	// smtp_alert: one mail per state entered (keepalived's vrrp_smtp_notifier),
	// none for FAULT with no_email_faults.
	mailable := !(v.cfg.Global.NoEmailFaults && state == "FAULT") && mailOn
	rid := routerID(&v.cfg.Global)
	if in.cfg.SMTPAlert && mailable && in.mailed != state {
		in.mailed = state
		s, b := vrrpMail(rid, ev.Instance, false, state)
		mails = append(mails, [2]string{s, b})
	}
	if g := syncGroupOf(v.cfg, ev.Instance); g != nil && v.groupState[g.Name] != state {
		v.groupState[g.Name] = state
		argvs = append(argvs, notifyArgs(g.Notify, g.NotifyMaster, g.NotifyBackup, g.NotifyFault, g.NotifyStop,
			"GROUP", g.Name, state, ev.Priority)...)
		fifoLines = append(fifoLines, fifoVRRPLine("GROUP", g.Name, state, 0)) // keepalived writes 0 for a group
		if g.SMTPAlert && mailable && v.groupMail[g.Name] != state {
			v.groupMail[g.Name] = state
			s, b := vrrpMail(rid, g.Name, true, state)
			mails = append(mails, [2]string{s, b})
		}
	}
	v.mu.Unlock()

	v.m.transitions(ev.Instance, ev.To)
	v.log.Info("VRRP state", "instance", ev.Instance, "from", ev.From.String(), "to", ev.To.String(),
		"reason", ev.Reason.String(), "priority", ev.Priority)
	v.h.changed()
	if v.h.fifo != nil {
		for _, l := range fifoLines {
			v.h.fifo(l)
		}
	}
	for _, a := range argvs {
		v.h.notify(ev.Instance, a)
	}
	for _, m := range mails {
		v.h.mail(m[0], m[1])
	}
}

// notifyState is the state word keepalived passes to notify scripts.
func notifyState(s vrrp.State) string {
	switch s {
	case vrrp.StateMaster:
		return "MASTER"
	case vrrp.StateBackup:
		return "BACKUP"
	case vrrp.StateFault:
		return "FAULT"
	}
	return "STOP"
}

// feed is one input for a Router: a link state or a tracker result.
type feed struct {
	r    *vrrp.Router
	name string
	i    int // tracker index, -1 for SetInterfaceUp
	ok   bool
}

func (f feed) apply() {
	if f.i < 0 {
		f.r.SetInterfaceUp(f.name, f.ok)
	} else {
		f.r.Track(f.name, f.i, f.ok)
	}
}

// linkChanged feeds an interface's state to the instances on it and to the
// track_interface trackers of it.
func (v *vrrpRuntime) linkChanged(iface string, up bool) {
	var feeds []feed
	v.mu.Lock()
	for name, in := range v.insts {
		if in.rr == nil {
			continue
		}
		if in.cfg.Interface == iface && !in.cfg.DontTrackPrimary {
			feeds = append(feeds, feed{in.rr.r, name, -1, up})
		}
		for i, t := range in.rr.tracks[name] {
			if t.iface == iface {
				feeds = append(feeds, feed{in.rr.r, name, i, up != t.invert})
			}
		}
	}
	v.mu.Unlock()
	for _, f := range feeds {
		f.apply()
	}
}

// feedScript gives one result of a vrrp_script to every tracker of it.
func (v *vrrpRuntime) feedScript(script string, ok bool) {
	v.m.scriptRuns(script, ok)
	var feeds []feed
	v.mu.Lock()
	for name, in := range v.insts {
		if in.rr == nil {
			continue
		}
		for i, t := range in.rr.tracks[name] {
			if t.script == script {
				feeds = append(feeds, feed{in.rr.r, name, i, ok != t.invert})
			}
		}
	}
	v.mu.Unlock()
	for _, f := range feeds {
		f.apply()
	}
}

// instView is one instance as the reconciler sees it: its current state, read from
// its Router, and what it holds as MASTER.
type instView struct {
	name  string
	state vrrp.State // StateInit when its Router is not running
	vips  []vip.Address
	// garp4 and garp6 are the announcement policies for its IPv4 and IPv6 VIPs.
	garp4, garp6 vip.Policy
	lower        lowerPrioGARP // garp_lower_prio_*
	group        string        // its sync group, "" for none
}

// vrrpView is every instance's current state, and the shortest advert interval.
type vrrpView struct {
	insts    []instView
	byName   map[string]vrrp.State
	interval time.Duration // shortest advert_int; 0 without instances
}

// view reads every Router's current state (Router.Snapshot), never the events: an
// event lost, repeated or reordered changes nothing here.
func (v *vrrpRuntime) view() vrrpView {
	type rinfo struct {
		r     *vrrp.Router
		names []string
	}
	var rs []rinfo
	v.mu.Lock()
	effs := make(map[string]instEffects, len(v.insts))
	for _, rr := range v.routers {
		rs = append(rs, rinfo{rr.r, rr.names})
	}
	for name, in := range v.insts {
		effs[name] = in.eff
	}
	v.mu.Unlock()
	out := vrrpView{byName: make(map[string]vrrp.State, len(effs))}
	for _, ri := range rs {
		for _, s := range ri.r.Snapshot() {
			out.byName[s.Name] = s.State
		}
	}
	names := make([]string, 0, len(effs))
	for name := range effs {
		names = append(names, name)
	}
	sort.Strings(names)
	out.insts = make([]instView, 0, len(names))
	for _, name := range names {
		e := effs[name]
		out.insts = append(out.insts, instView{name: name, state: out.byName[name], vips: e.vips, garp4: e.garp4, garp6: e.garp6, lower: e.lower, group: e.group})
		if d := e.advert; d > 0 && (out.interval == 0 || d < out.interval) {
			out.interval = d
		}
	}
	return out
}

// vrrpStatus is what the status dump needs from the runtime.
type vrrpStatus struct {
	routers []RouterStatus
	insts   []InstanceStatus
}

// status reads the instances and Routers for the status dump.
func (v *vrrpRuntime) status() vrrpStatus {
	type rinfo struct {
		key string
		r   *vrrp.Router
	}
	var rs []rinfo
	v.mu.Lock()
	cfg := v.cfg
	for k, rr := range v.routers {
		rs = append(rs, rinfo{k, rr.r})
	}
	insts := map[string]instRun{}
	tracks := map[string][]tracker{}
	for name, in := range v.insts {
		insts[name] = *in
		if in.rr != nil {
			tracks[name] = in.rr.tracks[name]
		}
	}
	v.mu.Unlock()
	sort.Slice(rs, func(i, j int) bool { return rs[i].key < rs[j].key })
	var out vrrpStatus
	snaps := map[string]vrrp.Status{}
	for _, ri := range rs {
		for _, s := range ri.r.Snapshot() {
			snaps[s.Name] = s
		}
		c := ri.r.Counters()
		st := RouterStatus{Name: ri.key, RxPackets: c.RxPackets, RxAdverts: c.RxAdverts, TxPackets: c.TxPackets, TxErrors: c.TxErrors}
		for i, n := range c.Drops {
			if n > 0 {
				if st.Drops == nil {
					st.Drops = map[string]uint64{}
				}
				st.Drops[vrrp.DropReason(i).String()] = n
			}
		}
		out.routers = append(out.routers, st)
	}
	if cfg == nil {
		return out
	}
	for _, ic := range cfg.Instances {
		in, ok := insts[ic.Name]
		if !ok {
			continue
		}
		is := InstanceStatus{Name: ic.Name, Interface: ic.Interface, VRID: ic.VRID, Version: ic.Version,
			State: in.state.String(), Priority: int(in.prio), BasePriority: ic.Priority,
			Transitions: in.trans, Since: in.since, VIPs: []string{}}
		if g := syncGroupOf(cfg, ic.Name); g != nil {
			is.SyncGroup = g.Name
		}
		if s, ok := snaps[ic.Name]; ok && in.rr != nil {
			is.State, is.Priority, is.BasePriority = s.State.String(), int(s.Priority), int(s.BasePriority)
			if s.MasterAddr.IsValid() {
				is.MasterAddr = s.MasterAddr.String()
			}
			for i, t := range tracks[ic.Name] {
				up := i < len(s.Trackers) && s.Trackers[i]
				is.Trackers = append(is.Trackers, TrackerStatus{Name: t.cfg.Name, Weight: t.cfg.Weight, Up: up})
			}
		}
		out.insts = append(out.insts, is)
	}
	return out
}
