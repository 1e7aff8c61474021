package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lvskit/lvskit/arpctl"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vip"
)

// The scale-out mode (issue 16, docs/scale-out.md): several directors active at
// once behind a router's ECMP. Each one holds every virtual_server address on lo
// and tells its BGP daemon (BIRD learning a kernel table) that it can serve a VIP
// by keeping the VIP's /32 (/128) route in that table. There is no VRRP for these
// VIPs: the route is the whole announcement.

// ecmpOptions are the flags of the scale-out mode.
type ecmpOptions struct {
	// table is -ecmp-table, the routing table the VIP routes go to; 0 means the
	// mode is off.
	table uint32
	// drain is -ecmp-drain: how long SIGTERM waits after withdrawing every route
	// before stopping, so that the router moves the flows to the other directors.
	drain time.Duration
}

// defaultDrain is -ecmp-drain's default: BIRD's BFD detects a withdrawn peer in
// 0.5 s and a withdrawal by BGP reaches the router in well under a second; the rest
// is margin for a loaded router.
const defaultDrain = 5 * time.Second

// routeAnnouncer is what the mode needs of route.Client.
type routeAnnouncer interface {
	// Reconcile converges the table on exactly want.
	Reconcile(ctx context.Context, want []netip.Prefix) error
	Close() error
}

// scaleOutVIPs is what the mode needs of the LVS runtime (lvs.go).
type scaleOutVIPs interface {
	// scaleOutVIPs returns the addresses of the configured virtual servers, and
	// those of them that can be served: every virtual server of the address had
	// quorum and had its IPVS table applied without error by the last convergence.
	scaleOutVIPs() (all, serving []netip.Addr)
}

// checkECMP refuses what the mode cannot run: VRRP instances (the mode manages
// owned addresses on lo, which the VRRP reconcile would take for leftovers) and
// firewall-mark virtual servers (they have no address to announce).
func checkECMP(cfg *kaconf.Config, log *slog.Logger) error {
	var errs []error
	if len(cfg.Instances) > 0 {
		var names []string
		for _, in := range cfg.Instances {
			names = append(names, in.Name)
		}
		errs = append(errs, fmt.Errorf("director: -ecmp-table: the scale-out mode runs no VRRP; remove the vrrp_instance blocks (%s)",
			strings.Join(names, ", ")))
	}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		if vs.FWMark != 0 {
			errs = append(errs, fmt.Errorf("director: -ecmp-table: virtual_server fwmark %d (%s) has no address to announce",
				vs.FWMark, vs.Pos))
			continue
		}
		if err := groupECMPErr(cfg, vs); err != nil {
			errs = append(errs, err)
			continue
		}
		if s := ipvs.Scheduler(vs.Scheduler); s != ipvs.MaglevHashing && log != nil {
			log.Warn("scale-out: connections moved between directors survive only with lb_algo mh",
				"virtual_server", vs.Addr.String(), "lb_algo", vs.Scheduler)
		}
	}
	return errors.Join(errs...)
}

// scaleOutService is a virtual server's IPVS service in the scale-out mode: mh
// hashes the port as well as the address (mh-port, which kaconf does not read),
// without which every flow of one client lands on one real server.
func scaleOutService(s ipvs.Service) ipvs.Service {
	if s.Scheduler == ipvs.MaglevHashing {
		s.Flags |= ipvs.FlagMHPort
	}
	return s
}

// scaleOutDests puts a virtual server's destinations in the one order every
// director adds them in, so that ip_vs_mh builds the same table everywhere (see
// ipvs.CanonicalDestinations). ipvs.Diff creates a new service's destinations in
// the order given.
func scaleOutDests(ds []ipvs.Destination) []ipvs.Destination {
	return ipvs.CanonicalDestinations(ds)
}

// ecmpRuntime owns the mode's state: the VIPs on lo, the routes in the table and
// the scale-out sysctls. Its converge is called by the reconciler alone, after the
// IPVS convergence of the same pass; close is called once the reconciler has
// stopped.
type ecmpRuntime struct {
	log      *slog.Logger
	opt      ecmpOptions
	routes   routeAnnouncer
	vips     vipBackend
	scaleOut func() (restore func() error, err error)
	timeout  time.Duration // bounds each rtnetlink call
	// wait is the drain wait; tests replace it.
	wait func(time.Duration)

	// mu guards withdraw and announced. It is a leaf lock: no system call is made
	// while it is held.
	mu        sync.Mutex
	withdraw  bool           // draining or stopping: announce nothing
	announced []netip.Prefix // what the table holds, as last reconciled

	// Owned by the reconciler's goroutine (then by close).
	fresh   bool                  // the first pass removes leftovers
	restore func() error          // undoes the sysctls; nil until applied
	onLo    map[netip.Prefix]bool // VIPs the mode added to lo
	have    []netip.Prefix        // routes in the table, valid while known
	known   bool                  // the last route reconcile succeeded
}

// openECMP opens the mode's connections to the system (nil when the mode is off).
// Nothing is changed yet: the reconciler's first pass does that.
func openECMP(log *slog.Logger, d deps, opt ecmpOptions) (*ecmpRuntime, error) {
	if opt.table == 0 {
		return nil, nil
	}
	if d.routes == nil || d.scaleOut == nil {
		return nil, errors.New("director: -ecmp-table: no route table or sysctl access on this system")
	}
	rt, err := d.routes(opt.table)
	if err != nil {
		return nil, fmt.Errorf("director: -ecmp-table %d: %w", opt.table, err)
	}
	vb, err := d.vips()
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("director: -ecmp-table: %w", err)
	}
	return &ecmpRuntime{log: log, opt: opt, routes: rt, vips: vb, scaleOut: d.scaleOut, timeout: vipCallTimeout,
		wait: time.Sleep, fresh: true, onLo: map[netip.Prefix]bool{}}, nil
}

// loAddr is a VIP as the mode holds it on lo.
func loAddr(a netip.Addr) vip.Address {
	return vip.Address{Interface: "lo", Prefix: netip.PrefixFrom(a, a.BitLen())}
}

// setWithdraw has the next reconcile withdraw every route and announce none until
// the director stops.
func (e *ecmpRuntime) setWithdraw() {
	e.mu.Lock()
	e.withdraw = true
	e.mu.Unlock()
}

// routesAnnounced returns what the table holds as last reconciled.
func (e *ecmpRuntime) routesAnnounced() []netip.Prefix {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.announced)
}

func (e *ecmpRuntime) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	return f(ctx)
}

// converge brings lo, the sysctls and the route table to what the current states
// want: every configured VIP on lo, and a VIP's route in the table iff the VIP is
// on lo, the sysctls are applied, the LVS runtime reports it servable (its IPVS
// table converged, quorum held) and the director is not draining. l is the LVS
// runtime (nil before it exists); reread says the kernel may have changed behind
// the director's back (the drift check).
func (e *ecmpRuntime) converge(ctx context.Context, l lvsConverger, reread bool) error {
	var errs []error
	if e.fresh {
		e.fresh = false
		// A crash leaves routes that still pull traffic and addresses on lo.
		if err := e.call(ctx, func(ctx context.Context) error { return e.routes.Reconcile(ctx, nil) }); err != nil {
			errs = append(errs, fmt.Errorf("director: withdrawing leftover VIP routes: %w", err))
		}
		var removed []vip.Address
		err := e.call(ctx, func(ctx context.Context) (err error) { removed, err = e.vips.Cleanup(ctx); return err })
		if err != nil {
			e.log.Warn("removing stale VIPs", "err", err)
		}
		for _, a := range removed {
			e.log.Info("removed a stale VIP left by an earlier run", "addr", a.String())
		}
	}
	var all, serving []netip.Addr
	if src, ok := l.(scaleOutVIPs); ok {
		all, serving = src.scaleOutVIPs()
		// The LVS runtime has dialled IPVS, which loads ip_vs and so creates the
		// sysctls; before that the profile cannot be applied.
		if e.restore == nil {
			restore, err := e.scaleOut()
			if err != nil {
				errs = append(errs, scaleOutError(err))
			} else {
				e.restore = restore
				e.log.Info("scale-out sysctls applied (sloppy_tcp, sloppy_sctp, conntrack 0, expire_nodest_conn, expire_quiescent_template)")
			}
		}
	}
	e.mu.Lock()
	withdraw := e.withdraw
	e.mu.Unlock()

	// lo: add what is configured and missing (removals come last, after the routes).
	wantLo := map[netip.Prefix]bool{}
	for _, a := range all {
		wantLo[loAddr(a).Prefix] = true
	}
	if reread {
		var kernel []vip.Address
		if err := e.call(ctx, func(ctx context.Context) (err error) { kernel, err = e.vips.List(ctx); return err }); err != nil {
			errs = append(errs, fmt.Errorf("director: listing addresses: %w", err))
		} else {
			there := map[netip.Prefix]bool{}
			for _, a := range kernel {
				if a.Interface == "lo" {
					there[a.Prefix] = true
				}
			}
			for p := range e.onLo {
				if !there[p] {
					e.log.Warn("VIP missing from lo; adding it back", "addr", p.String())
					delete(e.onLo, p)
				}
			}
		}
	}
	for _, a := range all {
		la := loAddr(a)
		if e.onLo[la.Prefix] {
			continue
		}
		if err := e.call(ctx, func(ctx context.Context) error { return e.vips.Add(ctx, la) }); err != nil {
			errs = append(errs, fmt.Errorf("director: adding VIP %s: %w", la, err))
			continue
		}
		e.log.Info("VIP added", "addr", la.String())
		e.onLo[la.Prefix] = true
	}

	// The routes.
	var want []netip.Prefix
	if !withdraw && e.restore != nil {
		for _, a := range serving {
			if p := loAddr(a).Prefix; e.onLo[p] {
				want = append(want, p)
			}
		}
	}
	slices.SortFunc(want, comparePrefix)
	want = slices.Compact(want)
	if !e.known || reread || !slices.Equal(want, e.have) {
		err := e.call(ctx, func(ctx context.Context) error { return e.routes.Reconcile(ctx, want) })
		if err != nil {
			e.known = false
			errs = append(errs, fmt.Errorf("director: VIP routes in table %d: %w", e.opt.table, err))
		} else {
			e.logRoutes(want)
			e.have, e.known = want, true
			e.mu.Lock()
			e.announced = slices.Clone(want)
			e.mu.Unlock()
		}
	}

	// lo: remove what is no longer configured, now that its route is gone.
	for p := range e.onLo {
		if wantLo[p] || (e.known && slices.Contains(e.have, p)) {
			continue
		}
		la := vip.Address{Interface: "lo", Prefix: p}
		if err := e.call(ctx, func(ctx context.Context) error { return e.vips.Remove(ctx, la) }); err != nil {
			errs = append(errs, fmt.Errorf("director: removing VIP %s: %w", la, err))
			continue
		}
		e.log.Info("VIP removed", "addr", la.String())
		delete(e.onLo, p)
	}
	return errors.Join(errs...)
}

// logRoutes logs the routes that come and go when the table becomes want.
func (e *ecmpRuntime) logRoutes(want []netip.Prefix) {
	if !e.known {
		// The table's content before was unknown: say what it is now.
		e.log.Info("VIP routes", "table", e.opt.table, "announced", fmt.Sprint(want))
		return
	}
	for _, p := range want {
		if !slices.Contains(e.have, p) {
			e.log.Info("VIP route announced", "prefix", p.String(), "table", e.opt.table)
		}
	}
	for _, p := range e.have {
		if !slices.Contains(want, p) {
			e.log.Info("VIP route withdrawn", "prefix", p.String(), "table", e.opt.table)
		}
	}
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// scaleOutError explains a failure to apply arpctl.ScaleOutDirector.
func scaleOutError(err error) error {
	if errors.Is(err, arpctl.ErrNoIPVS) {
		return fmt.Errorf("director: -ecmp-table: the scale-out sysctls (sloppy_tcp and others) need the ip_vs module, which is not loaded: %w", err)
	}
	return fmt.Errorf("director: -ecmp-table: applying the scale-out sysctls: %w", err)
}

// close runs after the reconciler has stopped (and with it the IPVS services):
// it withdraws every route again (nothing may still pull traffic), removes the
// VIPs from lo, puts the sysctls back and closes the connections.
func (e *ecmpRuntime) close() {
	ctx := context.Background()
	var errs []error
	if err := e.call(ctx, func(ctx context.Context) error { return e.routes.Reconcile(ctx, nil) }); err != nil {
		errs = append(errs, fmt.Errorf("withdrawing VIP routes: %w", err))
	} else {
		e.mu.Lock()
		e.announced = nil
		e.mu.Unlock()
	}
	for p := range e.onLo {
		la := vip.Address{Interface: "lo", Prefix: p}
		if err := e.call(ctx, func(ctx context.Context) error { return e.vips.Remove(ctx, la) }); err != nil {
			errs = append(errs, fmt.Errorf("removing VIP %s: %w", la, err))
			continue
		}
		delete(e.onLo, p)
	}
	if e.restore != nil {
		if err := e.restore(); err != nil {
			errs = append(errs, fmt.Errorf("restoring the sysctls: %w", err))
		} else {
			e.restore = nil
		}
	}
	if err := errors.Join(errs...); err != nil {
		e.log.Error("stopping the scale-out mode", "err", err)
	}
	e.routes.Close()
	e.vips.Close()
}

// drain is the first part of a scale-out director's SIGTERM: every route is
// withdrawn, then the director keeps forwarding for the drain time while the
// router moves the flows away. The graceful stop (daemon.stop) comes after.
func (d *daemon) drain() {
	e := d.ecmp
	if e == nil {
		return
	}
	d.withdrawRoutes()
	d.log.Info("VIP routes withdrawn; draining before the stop", "routes", fmt.Sprint(e.routesAnnounced()), "drain", e.opt.drain)
	e.wait(e.opt.drain)
}

// withdrawRoutes withdraws every VIP route and announces none from now on; stop
// calls it first, so the routes go before the IPVS services (drain has already
// done it after a SIGTERM).
func (d *daemon) withdrawRoutes() {
	if d.ecmp == nil || d.rec == nil {
		return
	}
	d.ecmp.setWithdraw()
	if err := d.rec.sync(); err != nil {
		d.log.Error("withdrawing VIP routes", "err", err)
	}
}
