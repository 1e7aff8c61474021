package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

// vipBackend adds, removes, lists and announces virtual addresses: vip.Client on
// Linux, an in-memory fake in tests. Every call ends when ctx does.
type vipBackend interface {
	Add(ctx context.Context, a vip.Address) error
	Remove(ctx context.Context, a vip.Address) error
	// List returns every address on every interface, with Owned set on lvskit's.
	List(ctx context.Context) ([]vip.Address, error)
	// Cleanup removes the addresses a previous run left behind.
	Cleanup(ctx context.Context) ([]vip.Address, error)
	// Announce sends gratuitous ARP / unsolicited NA for addrs on iface following p,
	// until p is done or ctx ends.
	Announce(ctx context.Context, iface string, p vip.Policy, addrs []netip.Addr) error
	Close() error
}

// deps are the daemon's connections to the system, replaced by fakes in tests.
type deps struct {
	// transport opens the one VRRP socket of an interface and family, which every
	// Router on it shares through a vrrp.Mux. It must join the VRRP multicast group.
	transport func(iface string, v6 bool) (vrrp.Transport, error)
	// primary returns an interface's primary address for VRRP.
	primary func(iface string, v6 bool) (netip.Addr, error)
	vips    func() (vipBackend, error)
	ipvs    func() (*ipvs.Client, error)
	// linkUp reports whether an interface is up; watch reports link and owned
	// address changes (vip.Watcher's events) to fn until ctx ends, and returns why
	// it stopped (nil: nothing is watched).
	linkUp func(iface string) bool
	watch  func(ctx context.Context, fn func(vip.Event)) error
	// probe runs a vrrp_script once and reports success.
	probe func(ctx context.Context, argv []string) bool
	// exec runs a notify script.
	exec func(ctx context.Context, argv []string) error
	// clock is the VRRP routers' clock; nil means the system clock.
	clock vrrp.Clock
	// dialSMTP connects to the mail server; nil means TCP with net.Dialer.
	dialSMTP func(ctx context.Context, addr string) (net.Conn, error)
	// events, when set, stands between the Routers and the daemon: each event is
	// replaced by what it returns (tests lose, repeat and reorder events with it).
	events func(vrrp.Event) []vrrp.Event
	// routes opens the scale-out mode's route table (ecmp.go); scaleOut applies
	// arpctl.ScaleOutDirector and returns what puts the old values back.
	routes   func(table uint32) (routeAnnouncer, error)
	scaleOut func() (restore func() error, err error)
	// kroutes opens the backend of virtual_routes and static_routes (vroutes.go);
	// nil refuses a configuration that has them.
	kroutes func() (routeBackend, error)
	// krules opens the backend of virtual_rules and static_rules (vrules.go);
	// nil refuses a configuration that has them.
	krules func() (ruleBackend, error)
	// vmacs opens the backend of use_vmac's macvlans (vmac.go); nil refuses a
	// configuration that has them.
	vmacs func() (vmacBackend, error)
}

// daemon runs one keepalived.conf. It only wires the owners together; each owns
// its concern and its lock:
//
//   - vrrpRuntime (vrrprt.go): Routers, shared sockets, instance bookkeeping,
//     notify and mail on transitions.
//   - lvsRuntime (lvs.go): virtual servers, health, IPVS table and sync daemon.
//   - reconciler (reconcile.go): the one goroutine that changes the system (VIPs,
//     announcements, IPVS) from the current states.
//   - scriptRunner (scripts.go), mailer (mail.go), metrics and status (status.go).
//
// Lock order: opMu is taken first and held across start, reload and stop (it may be
// held across system calls: it only serialises those three). Every other lock
// (daemon.mu, vrrpRuntime.mu, lvsRuntime.mu, reconciler.mu, sockets.mu,
// scriptRunner.mu, mailer.mu, metrics.mu) is a leaf: none is taken while another is
// held, and none is held across rtnetlink, generic netlink, a socket, a script,
// SMTP or file I/O. The one nesting: lvsRuntime.mu is held while calling the
// health.Scheduler's in-memory methods (Add, Update, Remove, Status), whose own lock
// is inner to it; the scheduler calls OnTransition without holding its lock.
type daemon struct {
	log      *slog.Logger
	deps     deps
	keepIPVS bool
	m        metrics
	mail     *mailer
	ecmpOpt  ecmpOptions // the scale-out mode's flags, set before start

	opMu    sync.Mutex // serialises start, reload and stop
	ctx     context.Context
	cancel  context.CancelFunc
	bg      sync.WaitGroup
	vr      *vrrpRuntime
	rec     *reconciler
	scripts *scriptRunner
	fifos   *notifyFIFOs // notify_fifo, vrrp_notify_fifo, lvs_notify_fifo (fifo.go)
	socks   *sockets
	ecmp    *ecmpRuntime // nil unless the scale-out mode runs
	// routesTried and rulesTried say the route and rule backends were opened (or
	// tried) once since start, to clear what a crashed run left (vroutes.go,
	// vrules.go). Guarded by opMu.
	routesTried, rulesTried bool

	mu  sync.Mutex // guards cfg and lvs (pointers only)
	cfg *kaconf.Config
	lvs *lvsRuntime
}

func newDaemon(log *slog.Logger, d deps, keepIPVS bool) *daemon {
	return &daemon{log: log, deps: d, keepIPVS: keepIPVS, mail: newMailer(log, d.dialSMTP)}
}

// start brings cfg up: it starts the reconciler (whose first pass removes stale
// VIPs), the VRRP routers and script runners, and the LVS runtime.
func (d *daemon) start(ctx context.Context, cfg *kaconf.Config) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if d.ecmpOpt.table != 0 {
		if err := checkECMP(cfg, d.log); err != nil {
			return err
		}
	}
	e, err := openECMP(d.log, d.deps, d.ecmpOpt)
	if err != nil {
		return err // nothing started
	}
	var vb vipBackend
	if len(cfg.Instances) > 0 || len(cfg.StaticAddresses) > 0 {
		if vb, err = d.deps.vips(); err != nil {
			if e != nil {
				e.close()
			}
			return fmt.Errorf("director: %w", err) // nothing started: stop has nothing to do
		}
	}
	d.ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.mail.start()
	d.routesTried, d.rulesTried = false, false
	d.scripts = newScriptRunner(d.ctx, d.log, d.deps.exec, d.deps.probe)
	d.fifos = newNotifyFIFOs(d.log)
	d.fifos.start = d.scripts.runFIFOScript
	d.socks = newSockets(d.deps.transport)
	// The reconciler and the VRRP runtime refer to each other through functions
	// only: the runtime marks the director dirty, the reconciler reads its view.
	var rec *reconciler
	d.vr = newVRRPRuntime(d.log, d.deps, d.socks, &d.m, vrrpHooks{
		changed:   func() { rec.changed() },
		lowerPrio: func(name string) { rec.lowerPrioAdvert(name) },
		notify:    d.scripts.notify,
		dropQueue: d.scripts.dropQueue,
		mail:      d.mail.send,
		mailOn:    d.mail.enabled,
		fifo:      d.fifos.vrrp,
		events:    d.deps.events,
	})
	rec = newReconciler(d.log, d.vr, &d.m, vb)
	rec.ecmp, d.ecmp = e, e
	rec.reopen = d.socks.reopen
	d.rec = rec
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		rec.run(d.ctx)
	}()
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		d.vr.pollTrackFiles(d.ctx)
	}()
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		d.vr.pollTrackProcesses(d.ctx)
	}()
	if d.deps.watch != nil {
		d.bg.Add(1)
		go func() {
			defer d.bg.Done()
			d.watch(d.ctx)
		}()
	}
	return d.apply(cfg)
}

// watch feeds the kernel's reports to their owners until ctx ends, restarting the
// watcher (and resyncing) when it fails.
func (d *daemon) watch(ctx context.Context) {
	for {
		err := d.deps.watch(ctx, d.onKernelEvent)
		if ctx.Err() != nil {
			return
		}
		d.log.Warn("watching links and addresses; restarting the watcher", "err", err)
		d.rec.resync(false)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// onKernelEvent routes one vip.Watcher event.
func (d *daemon) onKernelEvent(ev vip.Event) {
	switch ev.Kind {
	case vip.LinkDown, vip.LinkUp:
		d.vr.linkChanged(ev.Interface, ev.Kind == vip.LinkUp)
		if ev.Kind == vip.LinkDown {
			d.rec.resyncVMAC() // a macvlan deleted from outside comes back at once
		}
		d.rec.changed()
	case vip.AddressRemoved:
		d.rec.kernelRemoved(ev.Address)
	case vip.Overrun:
		d.log.Warn("rtnetlink notifications were lost; re-reading the kernel's addresses")
		d.rec.resync(false)
	}
}

// reload applies a new configuration, changing only what differs.
func (d *daemon) reload(_ context.Context, cfg *kaconf.Config) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if d.ecmp != nil {
		if err := checkECMP(cfg, d.log); err != nil {
			return err
		}
	}
	if d.rec.backend() == nil && (len(cfg.Instances) > 0 || len(cfg.StaticAddresses) > 0) {
		vb, err := d.deps.vips()
		if err != nil {
			return fmt.Errorf("director: %w", err)
		}
		d.rec.setVIPs(vb)
	}
	d.log.Info("reloading configuration")
	err := d.apply(cfg)
	if cfg.Global.FIFOWriteVRRPStatesOnReload {
		d.vr.writeFIFOStates()
	}
	return err
}

// apply moves the running state to cfg and waits for one reconcile. opMu is held.
func (d *daemon) apply(cfg *kaconf.Config) error {
	d.mail.configure(&cfg.Global)
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	var errs []error
	d.fifos.configure(d.ctx, &cfg.Global) // before the instances start: their first lines go out
	errs = append(errs, d.applyRoutes(cfg))
	errs = append(errs, d.applyRules(cfg))
	d.rec.setStatic(staticAddresses(cfg))
	// The macvlans exist before the Routers open their sockets on them, and those
	// dropped go once the Routers on them have stopped.
	vmacs, err := d.applyVMACs(cfg)
	errs = append(errs, err)
	errs = append(errs, d.vr.apply(d.ctx, cfg))
	if err == nil {
		d.rec.setVMACs(nil, vmacs)
	}
	d.vr.feedTrackFiles()
	d.scripts.restartLoops(cfg, d.vr.feedScript)
	d.fifos.startScripts() // after restartLoops: they run under cfg's script policy
	errs = append(errs, d.applyLVS(cfg))
	errs = append(errs, d.rec.sync())
	return errors.Join(errs...)
}

// applyLVS brings the LVS runtime to cfg: it dials IPVS only when cfg has virtual
// servers or a sync daemon (a VRRP-only file needs no IPVS in the kernel).
func (d *daemon) applyLVS(cfg *kaconf.Config) error {
	d.mu.Lock()
	l := d.lvs
	d.mu.Unlock()
	if l == nil {
		if len(cfg.VirtualServers) == 0 && cfg.Global.LVSSyncDaemon == nil {
			return nil
		}
		c, err := d.deps.ipvs()
		if err != nil {
			return fmt.Errorf("director: IPVS: %w", err)
		}
		l = newLVSRuntime(d.ctx, d.log, c, &d.m, lvsHooks{
			changed:  d.rec.changed,
			runAsync: d.scripts.runAsync,
			runSync:  d.scripts.runSync,
			mail:     d.mail.send,
			fifo:     d.fifos.lvs,
			decide:   d.scripts.decide,
		}, d.keepIPVS, cfg.Global.LVSFlush, d.ecmp != nil)
		d.mu.Lock()
		d.lvs = l
		d.mu.Unlock()
		d.rec.setLVS(l)
	}
	// lvs_timeouts, at start and on every reload as keepalived sets them; a failure
	// is reported with the rest and does not stop the virtual servers.
	tctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
	terr := applyLVSTimeouts(tctx, l.client, cfg.Global.LVSTimeouts)
	cancel()
	return errors.Join(terr, l.configure(cfg))
}

// stop is the graceful stop: every MASTER resigns, VIPs go, and the IPVS services
// the daemon created go too unless -keep-ipvs.
func (d *daemon) stop() {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if d.cancel == nil {
		return
	}
	d.withdrawRoutes() // scale-out: the routes go before anything else
	d.vr.stop()
	d.scripts.stopLoops()
	d.mu.Lock()
	l := d.lvs
	d.mu.Unlock()
	if l != nil {
		l.shutdown()
	}
	// No instance runs and the LVS runtime wants nothing: this reconcile removes
	// the VIPs, the services and the sync daemons (and, with no routes, rules or
	// static addresses wanted, the static and virtual routes and rules and the
	// static addresses, as keepalived removes them at its stop).
	d.rec.setRoutes(nil, routeConfig{})
	d.rec.setRules(nil, ruleConfig{})
	d.rec.setStatic(nil)
	d.rec.setVMACs(nil, nil) // and the macvlans, after the VIPs on them
	if err := d.rec.sync(); err != nil {
		d.log.Error("stopping", "err", err)
	}
	d.scripts.close() // notify_stop and notify ... STOP run before the exit
	d.fifos.close()   // after the STOP lines; ends the FIFO scripts
	d.mail.close()    // and the Stopping mails go out, within a bounded time
	d.cancel()
	d.bg.Wait()
	if d.ecmp != nil {
		d.ecmp.close()
	}
	if l != nil {
		l.client.Close()
	}
	if vb := d.rec.backend(); vb != nil {
		vb.Close()
	}
	d.rec.closeRoutes()
	d.rec.closeRules()
	d.rec.closeVMACs()
}
