package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

// vipBackend adds, removes and announces virtual addresses: vip.Client on Linux, an
// in-memory fake in tests.
type vipBackend interface {
	Add(a vip.Address) error
	Remove(a vip.Address) error
	// Cleanup removes the addresses a previous run left behind.
	Cleanup() ([]vip.Address, error)
	// Announce sends gratuitous ARP / unsolicited NA for addrs on iface following p,
	// until p is done or ctx ends.
	Announce(ctx context.Context, iface string, p vip.Policy, addrs []netip.Addr) error
	Close() error
}

// deps are the daemon's connections to the system, replaced by fakes in tests.
type deps struct {
	// transport opens the VRRP transport of an instance with primary address primary.
	transport func(iface string, v6 bool, peers []netip.Addr, primary netip.Addr) (vrrp.Transport, error)
	// primary returns an interface's primary address for VRRP.
	primary func(iface string, v6 bool) (netip.Addr, error)
	vips    func() (vipBackend, error)
	ipvs    func() (*ipvs.Client, error)
	// linkUp reports whether an interface is up; watchLinks calls fn on every change
	// until ctx ends (nil: links are not watched).
	linkUp     func(iface string) bool
	watchLinks func(ctx context.Context, fn func(iface string, up bool))
	// probe runs a vrrp_script once and reports success.
	probe func(ctx context.Context, argv []string) bool
	// exec runs a notify script.
	exec func(ctx context.Context, argv []string) error
	// clock is the VRRP routers' clock; nil means the system clock.
	clock vrrp.Clock
	// dialSMTP connects to the mail server; nil means TCP with net.Dialer.
	dialSMTP func(ctx context.Context, addr string) (net.Conn, error)
}

// daemon runs one keepalived.conf.
type daemon struct {
	log      *slog.Logger
	deps     deps
	keepIPVS bool

	opMu   sync.Mutex // serialises start, reload and stop
	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup
	notWG  sync.WaitGroup // notify workers

	mu         sync.Mutex // guards everything below
	cfg        *kaconf.Config
	vips       vipBackend
	routers    map[string]*routerRun
	insts      map[string]*instRun
	groupState map[string]string
	scripts    *scriptSet
	lvs        *lvsManager
	m          metrics
	mail       *mailer
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
	done   chan struct{}
}

// instRun is the daemon's view of one vrrp_instance.
type instRun struct {
	cfg      kaconf.Instance
	rr       *routerRun
	v6       bool
	state    vrrp.State
	prio     uint8
	added    []vip.Address
	announce context.CancelFunc
	notify   chan []string
	trans    uint64
	since    time.Time
	mailed   string // state last mailed (keepalived's last_email_state)
}

func newDaemon(log *slog.Logger, d deps, keepIPVS bool) *daemon {
	return &daemon{log: log, deps: d, keepIPVS: keepIPVS, routers: map[string]*routerRun{},
		insts: map[string]*instRun{}, groupState: map[string]string{}, groupMail: map[string]string{},
		mail: newMailer(log, d.dialSMTP)}
}

// start brings cfg up: it removes stale VIPs, starts the VRRP routers and script
// runners, and programs IPVS.
func (d *daemon) start(ctx context.Context, cfg *kaconf.Config) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	d.ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.mail.start()
	if len(cfg.Instances) > 0 {
		vb, err := d.deps.vips()
		if err != nil {
			return fmt.Errorf("director: %w", err)
		}
		d.vips = vb
		removed, err := vb.Cleanup()
		if err != nil {
			d.log.Warn("removing stale VIPs", "err", err)
		}
		for _, a := range removed {
			d.log.Info("removed a stale VIP left by an earlier run", "addr", a.String())
		}
	}
	if d.deps.watchLinks != nil {
		d.bg.Add(1)
		go func() {
			defer d.bg.Done()
			d.deps.watchLinks(d.ctx, d.linkChanged)
		}()
	}
	return d.apply(cfg)
}

// reload applies a new configuration, changing only what differs.
func (d *daemon) reload(_ context.Context, cfg *kaconf.Config) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if d.vips == nil && len(cfg.Instances) > 0 {
		vb, err := d.deps.vips()
		if err != nil {
			return fmt.Errorf("director: %w", err)
		}
		d.mu.Lock()
		d.vips = vb
		d.mu.Unlock()
	}
	d.log.Info("reloading configuration")
	return d.apply(cfg)
}

// apply moves the running state to cfg. opMu is held.
func (d *daemon) apply(cfg *kaconf.Config) error {
	d.mail.configure(&cfg.Global)
	// Build the routers cfg wants, keyed as routerKey.
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
			p, err := d.deps.primary(in.Interface, isIPv6(in))
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

	// Stop the routers that are gone or changed.
	d.mu.Lock()
	var stopping []*routerRun
	for k, rr := range d.routers {
		if w := wants[k]; w == nil || w.fp != rr.fp {
			stopping = append(stopping, rr)
			delete(d.routers, k)
		}
	}
	d.mu.Unlock()
	for _, rr := range stopping {
		d.stopRouter(rr)
	}

	d.mu.Lock()
	old := d.cfg
	d.cfg = cfg
	// Instances no longer configured.
	for name, in := range d.insts {
		if cfg.Instance(name) == nil {
			d.dropInstance(name, in)
		}
	}
	var starting []*routerRun
	for _, k := range order {
		w := wants[k]
		if rr := d.routers[k]; rr != nil {
			// Unchanged apart from priorities and addresses: keep it running.
			for i, name := range w.names {
				in := d.insts[name]
				newIn := *cfg.Instance(name)
				if in.cfg.Priority != newIn.Priority {
					if err := rr.r.SetPriority(name, w.cfgs[i].Priority); err != nil {
						errs = append(errs, err)
					}
				}
				if !slices.Equal(vipAddresses(&in.cfg), vipAddresses(&newIn)) {
					if err := rr.r.SetAddresses(name, w.cfgs[i].Addrs); err != nil {
						errs = append(errs, err)
					}
					in.cfg = newIn
					if in.state == vrrp.StateMaster {
						d.syncVIPs(in)
					}
				}
				in.cfg = newIn
			}
			continue
		}
		rr, err := d.newRouter(cfg, k, w.names, w.cfgs, w.fp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.routers[k] = rr
		starting = append(starting, rr)
	}
	d.mu.Unlock()
	for _, rr := range starting {
		d.runRouter(rr)
	}
	d.restartScripts(cfg)
	if err := d.applyLVS(old, cfg); err != nil {
		errs = append(errs, err)
	}
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
		s += fmt.Sprintf("%+v owner=%v|", c, owner)
		if in := cfg.Instance(c.Name); in != nil {
			s += fmt.Sprintf("%+v|", keyOf(in))
		}
	}
	return s
}

// newRouter builds the Router for a sync group or single instance. d.mu is held.
func (d *daemon) newRouter(cfg *kaconf.Config, key string, names []string, cfgs []vrrp.Config, fp string) (*routerRun, error) {
	byKey := map[transportKey]vrrp.Transport{}
	bySrc := map[netip.Addr]vrrp.Transport{}
	var all []vrrp.Transport
	closeAll := func() {
		for _, t := range all {
			t.Close()
		}
	}
	for i, name := range names {
		in := cfg.Instance(name)
		tk := keyOf(in)
		t := byKey[tk]
		if t == nil {
			var err error
			t, err = d.deps.transport(in.Interface, tk.v6, in.UnicastPeers, cfgs[i].Primary)
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("%s: vrrp_instance %s: %w", in.Pos, name, err)
			}
			byKey[tk] = t
			all = append(all, t)
		}
		bySrc[cfgs[i].Primary] = t
	}
	var tr vrrp.Transport
	if len(all) == 1 {
		tr = all[0]
	} else {
		tr = newMux(all, bySrc)
	}
	if g := syncGroupOf(cfg, names[0]); g != nil {
		for i := range cfgs {
			cfgs[i].SyncGroup = g.Name
		}
	}
	r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: cfgs, Transport: tr, Clock: d.deps.clock, EventBuffer: 256})
	if err != nil {
		tr.Close()
		return nil, fmt.Errorf("director: %s: %w", key, err)
	}
	rr := &routerRun{key: key, fp: fp, r: r, names: names, tracks: map[string][]tracker{}, done: make(chan struct{})}
	for i, name := range names {
		in := cfg.Instance(name)
		rr.tracks[name] = trackers(cfg, in)
		ir := d.insts[name]
		if ir == nil {
			ir = &instRun{notify: make(chan []string, 64)}
			d.insts[name] = ir
			d.notWG.Add(1)
			go d.notifyWorker(ir.notify)
		}
		ir.cfg, ir.rr, ir.v6, ir.prio = *in, rr, in.VIPs != nil && isIPv6(in), cfgs[i].Priority
		ir.state = vrrp.StateInit
	}
	return rr, nil
}

// runRouter starts rr and the goroutine that handles its events.
func (d *daemon) runRouter(rr *routerRun) {
	ctx, cancel := context.WithCancel(d.ctx)
	rr.cancel = cancel
	// Interface states before the first advert.
	d.mu.Lock()
	for _, name := range rr.names {
		in := d.insts[name]
		if !in.cfg.DontTrackPrimary && d.deps.linkUp != nil && !d.deps.linkUp(in.cfg.Interface) {
			rr.r.SetInterfaceUp(name, false)
		}
		for i, t := range rr.tracks[name] {
			if t.iface != "" && d.deps.linkUp != nil {
				rr.r.Track(name, i, d.deps.linkUp(t.iface) != t.invert)
			}
		}
	}
	d.mu.Unlock()
	d.log.Info("starting VRRP", "router", rr.key, "instances", rr.names)
	events := rr.r.Events()
	go func() {
		for ev := range events {
			d.onEvent(rr, ev)
		}
		close(rr.done)
	}()
	go func() {
		if err := rr.r.Run(ctx); err != nil {
			d.log.Error("VRRP router stopped", "router", rr.key, "err", err)
		}
	}()
}

// stopRouter shuts rr down (a MASTER resigns with priority 0) and waits until its
// last events are handled and its VIPs removed.
func (d *daemon) stopRouter(rr *routerRun) {
	if rr.cancel != nil {
		rr.cancel()
		<-rr.done
	}
	d.mu.Lock()
	for _, name := range rr.names {
		if in := d.insts[name]; in != nil && in.rr == rr {
			d.removeVIPs(in)
			in.state = vrrp.StateInit
		}
	}
	d.mu.Unlock()
}

// dropInstance forgets an instance whose router has stopped. d.mu is held.
func (d *daemon) dropInstance(name string, in *instRun) {
	d.removeVIPs(in)
	close(in.notify)
	delete(d.insts, name)
}

// stop is the graceful stop: every MASTER resigns, VIPs go, and the IPVS services
// the daemon created go too unless -keep-ipvs.
func (d *daemon) stop() {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if d.cancel == nil {
		return
	}
	d.mu.Lock()
	routers := make([]*routerRun, 0, len(d.routers))
	for _, rr := range d.routers {
		routers = append(routers, rr)
	}
	d.routers = map[string]*routerRun{}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, rr := range routers {
		wg.Add(1)
		go func() { defer wg.Done(); d.stopRouter(rr) }()
	}
	wg.Wait()
	d.stopScripts()
	d.stopLVS()
	d.mu.Lock()
	for name, in := range d.insts {
		d.dropInstance(name, in)
	}
	d.mu.Unlock()
	d.notWG.Wait() // notify_stop and notify ... STOP run before the exit
	d.mail.close() // and the Stopping mails go out, within a bounded time
	d.cancel()
	d.bg.Wait()
	if d.vips != nil {
		d.vips.Close()
	}
}

// onEvent handles one state change: VIPs, notify scripts, the IPVS sync daemon.
func (d *daemon) onEvent(rr *routerRun, ev vrrp.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in := d.insts[ev.Instance]
	if in == nil || in.rr != rr {
		return
	}
	in.state, in.prio, in.since = ev.To, ev.Priority, ev.Time
	in.trans++
	d.m.transitions(ev.Instance, ev.To)
	d.log.Info("VRRP state", "instance", ev.Instance, "from", ev.From.String(), "to", ev.To.String(),
		"reason", ev.Reason.String(), "priority", ev.Priority)
	switch {
	case ev.To == vrrp.StateMaster:
		d.addVIPs(in)
	case ev.From == vrrp.StateMaster:
		d.removeVIPs(in)
	}
	state := notifyState(ev.To)
	d.runNotify(in.notify, in.cfg.Notify, in.cfg.NotifyMaster, in.cfg.NotifyBackup, in.cfg.NotifyFault, in.cfg.NotifyStop,
		"INSTANCE", ev.Instance, state, ev.Priority)
	// smtp_alert: one mail per state entered (keepalived's vrrp_smtp_notifier),
	// none for FAULT with no_email_faults. Queued, never waited for.
	mailable := !(d.cfg.Global.NoEmailFaults && state == "FAULT") && d.mail.enabled()
	if in.cfg.SMTPAlert && mailable && in.mailed != state {
		in.mailed = state
		d.mail.send(vrrpMail(routerID(&d.cfg.Global), ev.Instance, false, state))
	}
	if g := syncGroupOf(d.cfg, ev.Instance); g != nil && d.groupState[g.Name] != state {
		d.groupState[g.Name] = state
		d.runNotify(in.notify, g.Notify, g.NotifyMaster, g.NotifyBackup, g.NotifyFault, g.NotifyStop,
			"GROUP", g.Name, state, ev.Priority)
		if g.SMTPAlert && mailable && d.groupMail[g.Name] != state {
			d.groupMail[g.Name] = state
			d.mail.send(vrrpMail(routerID(&d.cfg.Global), g.Name, true, state))
		}
	}
	if d.lvs != nil {
		d.lvs.vrrpState(ev.Instance, ev.To)
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

// runNotify queues the state's notify_* script, then the generic notify script with
// keepalived's arguments: GROUP|INSTANCE name state priority.
func (d *daemon) runNotify(q chan []string, generic, master, backup, fault, stop *kaconf.Command, kind, name, state string, prio uint8) {
	var c *kaconf.Command
	switch state {
	case "MASTER":
		c = master
	case "BACKUP":
		c = backup
	case "FAULT":
		c = fault
	case "STOP":
		c = stop
	}
	queue := func(argv []string) {
		select {
		case q <- argv:
		default:
			d.log.Warn("notify queue full, script skipped", "name", name, "script", argv[0])
		}
	}
	if c != nil && len(c.Args) > 0 {
		queue(slices.Clone(c.Args))
	}
	if generic != nil && len(generic.Args) > 0 {
		queue(append(slices.Clone(generic.Args), kind, name, state, strconv.Itoa(int(prio))))
	}
}

// notifyWorker runs one instance's notify scripts in order, each bounded in time, so
// that a slow script never holds up VRRP.
func (d *daemon) notifyWorker(q chan []string) {
	defer d.notWG.Done()
	for argv := range q {
		ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
		if err := d.deps.exec(ctx, argv); err != nil {
			d.log.Warn("notify script failed", "script", argv, "err", err)
		}
		cancel()
	}
}

// addVIPs adds an instance's addresses and announces them. d.mu is held.
func (d *daemon) addVIPs(in *instRun) {
	d.syncVIPs(in)
}

// syncVIPs makes the added addresses equal the configured ones and announces them.
// d.mu is held.
func (d *daemon) syncVIPs(in *instRun) {
	if d.vips == nil {
		return
	}
	want := vipAddresses(&in.cfg)
	var kept []vip.Address
	for _, a := range in.added {
		if slices.Contains(want, a) {
			kept = append(kept, a)
			continue
		}
		if err := d.vips.Remove(a); err != nil {
			d.log.Error("removing VIP", "addr", a.String(), "err", err)
		}
	}
	in.added = kept
	for _, a := range want {
		if slices.Contains(in.added, a) {
			continue
		}
		if err := d.vips.Add(a); err != nil {
			d.m.vipError()
			d.log.Error("adding VIP", "instance", in.cfg.Name, "addr", a.String(), "err", err)
			continue
		}
		in.added = append(in.added, a)
	}
	if in.announce != nil {
		in.announce()
	}
	byIf := map[string][]netip.Addr{}
	var ifs []string
	for _, a := range in.added {
		if _, ok := byIf[a.Interface]; !ok {
			ifs = append(ifs, a.Interface)
		}
		byIf[a.Interface] = append(byIf[a.Interface], a.Prefix.Addr())
	}
	ctx, cancel := context.WithCancel(d.ctx)
	in.announce = cancel
	for _, ifn := range ifs {
		addrs := byIf[ifn]
		p := garpPolicy(d.cfg, &in.cfg, addrs[0].Is6())
		d.bg.Add(1)
		go func() {
			defer d.bg.Done()
			if err := d.vips.Announce(ctx, ifn, p, addrs); err != nil && ctx.Err() == nil {
				d.log.Warn("announcing VIPs", "interface", ifn, "err", err)
			}
		}()
	}
}

// removeVIPs removes the addresses an instance added. d.mu is held.
func (d *daemon) removeVIPs(in *instRun) {
	if in.announce != nil {
		in.announce()
		in.announce = nil
	}
	for _, a := range in.added {
		if err := d.vips.Remove(a); err != nil {
			d.log.Error("removing VIP", "addr", a.String(), "err", err)
		}
	}
	in.added = nil
}

// linkChanged feeds an interface's state to the instances on it and to
// track_interface trackers.
func (d *daemon) linkChanged(iface string, up bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, in := range d.insts {
		if in.rr == nil {
			continue
		}
		if in.cfg.Interface == iface && !in.cfg.DontTrackPrimary {
			in.rr.r.SetInterfaceUp(name, up)
		}
		for i, t := range in.rr.tracks[name] {
			if t.iface == iface {
				in.rr.r.Track(name, i, up != t.invert)
			}
		}
	}
}
