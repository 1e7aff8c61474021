package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vrrp"
)

// Routes of virtual_routes (held by a MASTER instance, like its VIPs) and of
// static_routes (held while the director runs). The reconciler's run goroutine owns
// them: every reconcile computes the wanted routes from the instances' states and
// fixes the difference with the routes it holds; the drift check re-lists the
// kernel's routes of kroutesProtocol so that one deleted from outside comes back.

// kroutesProtocol is the rtm_protocol the director marks its routes with: 18, the
// value keepalived uses (RTPROT_KEEPALIVED), so that `ip route` shows them as
// keepalived's and a restart can tell them from an administrator's.
const kroutesProtocol = 18

// routeKey is what the kernel tells routes apart by (within a family): table,
// destination and metric.
type routeKey struct {
	table  uint32
	dst    netip.Prefix
	metric uint32
}

func keyOfRoute(r kaconf.Route) routeKey {
	t := r.Table
	if t == 0 {
		t = 254
	}
	return routeKey{t, r.Dst, r.Metric}
}

// routeBackend adds and deletes the director's routes in the kernel.
type routeBackend interface {
	// Add adds r marked with kroutesProtocol; a route with r's key that is already
	// there is not an error.
	Add(ctx context.Context, r kaconf.Route) error
	// Delete deletes the director's route r; one that is absent is not an error.
	Delete(ctx context.Context, r kaconf.Route) error
	// List returns the keys of every route marked with kroutesProtocol.
	List(ctx context.Context) ([]routeKey, error)
	Close() error
}

// heldRoute is a route the director added; inst is its instance, "" for a static
// route.
type heldRoute struct {
	r    kaconf.Route
	inst string
}

// routeConfig is what the configuration asks for, set by the daemon under
// reconciler.mu.
type routeConfig struct {
	static  []kaconf.Route
	virtual map[string][]kaconf.Route // instance -> virtual_routes
}

// setRoutes gives the reconciler the configuration's routes and their backend
// (nil: none). The daemon passes an empty config when it stops, so that the last
// reconcile removes them all.
func (r *reconciler) setRoutes(rb routeBackend, cfg routeConfig) {
	r.mu.Lock()
	if rb != nil {
		r.kroutes = rb
	}
	r.routeCfg = cfg
	r.mu.Unlock()
	r.changed()
}

// routesOf returns the routes of cfg by instance, and whether there are any.
func routesOf(cfg *kaconf.Config) (routeConfig, bool) {
	rc := routeConfig{static: cfg.StaticRoutes, virtual: map[string][]kaconf.Route{}}
	some := len(cfg.StaticRoutes) > 0
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if len(in.VirtualRoutes) > 0 {
			rc.virtual[in.Name] = in.VirtualRoutes
			some = true
		}
	}
	return rc, some
}

// applyRoutes hands cfg's routes to the reconciler. The backend is opened the
// first time a configuration has routes, and at start whatever the configuration
// says, so that the first pass removes the routes a crashed run left even when the
// new configuration has none (opening it then may fail: that is logged, not an
// error). opMu is held.
func (d *daemon) applyRoutes(cfg *kaconf.Config) error {
	rc, some := routesOf(cfg)
	var rb routeBackend
	if !d.rec.hasRouteBackend() && (some || !d.routesTried) {
		d.routesTried = true
		var err error
		switch {
		case d.deps.kroutes == nil && some:
			return errors.New("director: virtual_routes and static_routes are not supported on this system")
		case d.deps.kroutes == nil:
		default:
			rb, err = d.deps.kroutes()
		}
		if err != nil {
			if some {
				return fmt.Errorf("director: routes: %w", err)
			}
			d.log.Warn("routes: cannot look for routes an earlier run left", "err", err)
			rb = nil
		}
	}
	d.rec.setRoutes(rb, rc)
	return nil
}

func (r *reconciler) hasRouteBackend() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kroutes != nil
}

// closeRoutes closes the route backend after the reconciler has stopped.
func (r *reconciler) closeRoutes() {
	r.mu.Lock()
	rb := r.kroutes
	r.kroutes = nil
	r.mu.Unlock()
	if rb != nil {
		rb.Close()
	}
}

// reconcileRoutes converges the kernel on the wanted routes: the static ones and
// those of every MASTER instance. reread lists the kernel's routes first (the drift
// check), forgetting held routes that are gone so that they are added again. The
// first pass always lists them, to delete what an earlier run left.
func (r *reconciler) reconcileRoutes(ctx context.Context, view vrrpView, reread bool) error {
	r.mu.Lock()
	rb, cfg := r.kroutes, r.routeCfg
	r.mu.Unlock()
	if rb == nil {
		return nil
	}
	// The first pass lists the kernel's routes of kroutesProtocol and deletes
	// those no one wants, such as the routes of a run that crashed; a wanted one
	// is deleted and added again, since its attributes are not known.
	fresh := r.routesHave == nil
	if fresh {
		r.routesHave = map[routeKey]heldRoute{}
		reread = true
	}
	call := func(f func(ctx context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, r.vipTimeout)
		defer cancel()
		return f(cctx)
	}
	want := map[routeKey]heldRoute{}
	var order []routeKey
	add := func(rt kaconf.Route, inst string) {
		k := keyOfRoute(rt)
		if _, dup := want[k]; !dup {
			want[k] = heldRoute{rt, inst}
			order = append(order, k)
		}
	}
	for _, rt := range cfg.static {
		add(rt, "")
	}
	for _, iv := range view.insts {
		if iv.state == vrrp.StateMaster {
			for _, rt := range cfg.virtual[iv.name] {
				add(rt, iv.name)
			}
		}
	}

	var errs []error
	if reread {
		var kernel []routeKey
		if err := call(func(ctx context.Context) (err error) { kernel, err = rb.List(ctx); return err }); err != nil {
			if fresh {
				// Without the list, a crashed run's routes would never be
				// found: the next pass starts afresh.
				r.routesHave = nil
				return fmt.Errorf("director: listing routes: %w", err)
			}
			errs = append(errs, fmt.Errorf("director: listing routes: %w", err))
		} else {
			for _, k := range kernel {
				if _, ok := r.routesHave[k]; fresh && !ok {
					t := k.table
					if t == 254 {
						t = 0
					}
					r.routesHave[k] = heldRoute{r: kaconf.Route{Dst: k.dst, Table: t, Metric: k.metric}}
				}
			}
			for k, h := range r.routesHave {
				if slices.Contains(kernel, k) {
					continue
				}
				delete(r.routesHave, k)
				if _, ok := want[k]; ok {
					r.log.Warn("route missing from the kernel; adding it back", "route", k.dst.String(), "table", k.table, "instance", h.inst)
				}
			}
		}
	}
	// Remove what is held but no longer wanted, or wanted with other attributes.
	for _, k := range sortedRouteKeys(r.routesHave) {
		h := r.routesHave[k]
		if w, ok := want[k]; ok && routeEqual(w.r, h.r) {
			r.routesHave[k] = w // the instance may have changed
			continue
		}
		if err := call(func(ctx context.Context) error { return rb.Delete(ctx, h.r) }); err != nil {
			errs = append(errs, fmt.Errorf("director: deleting route %s (%s): %w", h.r.Dst, h.r.Pos, err))
			continue
		}
		r.log.Info("route deleted", "route", h.r.Dst.String(), "table", k.table, "instance", h.inst)
		delete(r.routesHave, k)
	}
	for _, k := range order {
		if _, ok := r.routesHave[k]; ok {
			continue
		}
		w := want[k]
		if err := call(func(ctx context.Context) error { return rb.Add(ctx, w.r) }); err != nil {
			errs = append(errs, fmt.Errorf("director: adding route %s (%s): %w", w.r.Dst, w.r.Pos, err))
			continue
		}
		r.log.Info("route added", "route", w.r.Dst.String(), "table", k.table, "instance", w.inst)
		r.routesHave[k] = w
	}
	return errors.Join(errs...)
}

// routeEqual compares two routes' attributes, not where they were read: every
// field of kaconf.Route but Pos (a route with next hops is not comparable with ==).
func routeEqual(a, b kaconf.Route) bool {
	return slices.Equal(a.Nexthops, b.Nexthops) && a.Type == b.Type && a.Dst == b.Dst && a.Src == b.Src &&
		a.Via == b.Via && a.Dev == b.Dev && a.Scope == b.Scope && a.Table == b.Table && a.Metric == b.Metric
}

func sortedRouteKeys(m map[routeKey]heldRoute) []routeKey {
	keys := make([]routeKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b routeKey) int {
		if c := a.dst.Addr().Compare(b.dst.Addr()); c != 0 {
			return c
		}
		if a.dst.Bits() != b.dst.Bits() {
			return a.dst.Bits() - b.dst.Bits()
		}
		if a.table != b.table {
			return int(int64(a.table) - int64(b.table))
		}
		return int(int64(a.metric) - int64(b.metric))
	})
	return keys
}
