package main

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// fakeKRoutes is a kernel routing table of the director's routes, keyed as the
// kernel keys them.
type fakeKRoutes struct {
	mu      sync.Mutex
	routes  map[routeKey]kaconf.Route
	failAdd bool
	adds    int
	closed  bool
}

func newFakeKRoutes() *fakeKRoutes { return &fakeKRoutes{routes: map[routeKey]kaconf.Route{}} }

func (f *fakeKRoutes) Add(_ context.Context, r kaconf.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adds++
	if f.failAdd {
		return errors.New("fake: ENETUNREACH")
	}
	if _, ok := f.routes[keyOfRoute(r)]; !ok {
		f.routes[keyOfRoute(r)] = r
	}
	return nil
}

func (f *fakeKRoutes) Delete(_ context.Context, r kaconf.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.routes, keyOfRoute(r))
	return nil
}

func (f *fakeKRoutes) List(context.Context) ([]routeKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []routeKey
	for k := range f.routes {
		out = append(out, k)
	}
	return out, nil
}

func (f *fakeKRoutes) Close() error { f.closed = true; return nil }

// dsts lists the destinations in the table, sorted.
func (f *fakeKRoutes) dsts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.routes {
		out = append(out, k.dst.String())
	}
	slices.Sort(out)
	return out
}

func readRoutesConf(t *testing.T, src string) *kaconf.Config {
	t.Helper()
	cfg, _, err := kaconf.Read(fstest.MapFS{"k.conf": {Data: []byte(src)}}, "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const vroutesConf = `static_routes {
   10.9.0.0/16 via 192.0.2.254 dev eth0
}
vrrp_instance A {
   interface eth0
   virtual_router_id 1
   virtual_ipaddress {
      192.0.2.1
   }
   virtual_routes {
      198.51.100.0/24 via 192.0.2.254 dev eth0 metric 5
      blackhole 203.0.113.0/24 table 100
   }
}
vrrp_instance B {
   interface eth1
   virtual_router_id 2
   virtual_ipaddress {
      192.0.2.2
   }
   virtual_routes {
      10.20.0.0/16 dev eth1
   }
}
`

// TestVirtualRoutesFollowMaster: static routes are held whatever the states;
// virtual routes only while their instance is MASTER; a route deleted from outside
// comes back at the drift check (not before); stopping deletes every route.
func TestVirtualRoutesFollowMaster(t *testing.T) {
	cfg := readRoutesConf(t, vroutesConf)
	src := &staticView{}
	a, b := instView{name: "A"}, instView{name: "B"}
	src.set(map[string]vrrp.State{"A": vrrp.StateMaster, "B": vrrp.StateBackup}, a, b)
	r := newReconciler(slog.New(slog.DiscardHandler), src, &metrics{}, nil)
	fr := newFakeKRoutes()
	rc, some := routesOf(cfg)
	if !some {
		t.Fatal("routesOf found no routes")
	}
	r.setRoutes(fr, rc)
	ctx := context.Background()
	step := func(want ...string) {
		t.Helper()
		if _, err := r.reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if got := fr.dsts(); !slices.Equal(got, want) {
			t.Fatalf("routes %v, want %v", got, want)
		}
	}
	step("10.9.0.0/16", "198.51.100.0/24", "203.0.113.0/24")
	if got := fr.routes[routeKey{100, netip.MustParsePrefix("203.0.113.0/24"), 0}].Type; got != "blackhole" {
		t.Errorf("table 100 route type %q, want blackhole", got)
	}

	// A fails over to B.
	src.set(map[string]vrrp.State{"A": vrrp.StateBackup, "B": vrrp.StateMaster}, a, b)
	step("10.20.0.0/16", "10.9.0.0/16")

	// Someone deletes B's route: an ordinary pass trusts what it added, the drift
	// check (resync with the kernel re-read) puts it back.
	fr.Delete(ctx, cfg.Instances[1].VirtualRoutes[0])
	step("10.9.0.0/16")
	r.resync(true)
	step("10.20.0.0/16", "10.9.0.0/16")

	// No instance runs (FAULT or stopped): only the static route stays.
	src.set(map[string]vrrp.State{"A": vrrp.StateFault, "B": vrrp.StateInit}, a, b)
	step("10.9.0.0/16")

	// Stop: no routes wanted at all.
	r.setRoutes(nil, routeConfig{})
	step()
	r.closeRoutes()
	if !fr.closed {
		t.Error("closeRoutes did not close the backend")
	}
}

// TestVirtualRoutesChangedAndRetried: a reload that changes a route's next hop
// replaces it; a failed add is reported with the route's file:line and retried on
// the next pass.
func TestVirtualRoutesChangedAndRetried(t *testing.T) {
	cfg := readRoutesConf(t, vroutesConf)
	src := &staticView{}
	src.set(map[string]vrrp.State{"A": vrrp.StateMaster}, instView{name: "A"})
	r := newReconciler(slog.New(slog.DiscardHandler), src, &metrics{}, nil)
	fr := newFakeKRoutes()
	fr.failAdd = true
	rc, _ := routesOf(cfg)
	r.setRoutes(fr, rc)
	ctx := context.Background()
	_, err := r.reconcile(ctx)
	if err == nil || !strings.Contains(err.Error(), "adding route 10.9.0.0/16 (k.conf:2)") {
		t.Fatalf("failed add: error %v, want one naming the route and k.conf:2", err)
	}
	fr.failAdd = false
	if _, err := r.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(fr.dsts()); got != 3 {
		t.Fatalf("after the retry %d routes, want 3", got)
	}

	cfg2 := readRoutesConf(t, strings.Replace(vroutesConf, "10.9.0.0/16 via 192.0.2.254", "10.9.0.0/16 via 192.0.2.253", 1))
	rc2, _ := routesOf(cfg2)
	r.setRoutes(nil, rc2)
	if _, err := r.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fr.routes[routeKey{254, netip.MustParsePrefix("10.9.0.0/16"), 0}].Via; got != netip.MustParseAddr("192.0.2.253") {
		t.Errorf("after the reload the static route goes via %v, want 192.0.2.253", got)
	}
}

// TestRoutesNeedBackend: a configuration with routes on a system without the
// backend is refused rather than run without its routes.
func TestRoutesNeedBackend(t *testing.T) {
	cfg := readRoutesConf(t, vroutesConf)
	d := &daemon{rec: newReconciler(slog.New(slog.DiscardHandler), &staticView{}, &metrics{}, nil)}
	if err := d.applyRoutes(cfg); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("applyRoutes without kroutes: %v", err)
	}
}

// TestVirtualRoutesStaleRemoved: the first pass deletes the routes of the director's
// protocol that an earlier run left and no one wants, and puts a wanted one back
// with the configured attributes.
func TestVirtualRoutesStaleRemoved(t *testing.T) {
	cfg := readRoutesConf(t, vroutesConf)
	src := &staticView{}
	src.set(map[string]vrrp.State{"A": vrrp.StateBackup}, instView{name: "A"})
	r := newReconciler(slog.New(slog.DiscardHandler), src, &metrics{}, nil)
	fr := newFakeKRoutes()
	stale := kaconf.Route{Dst: netip.MustParsePrefix("10.99.0.0/16"), Dev: "eth0"}
	old := kaconf.Route{Dst: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("192.0.2.1"), Dev: "eth0"}
	fr.routes[keyOfRoute(stale)] = stale
	fr.routes[keyOfRoute(old)] = old
	rc, _ := routesOf(cfg)
	r.setRoutes(fr, rc)
	if _, err := r.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fr.dsts(); !slices.Equal(got, []string{"10.9.0.0/16"}) {
		t.Fatalf("routes %v, want only the static 10.9.0.0/16", got)
	}
	if got := fr.routes[keyOfRoute(old)].Via; got != netip.MustParseAddr("192.0.2.254") {
		t.Errorf("the static route goes via %v, want the configured 192.0.2.254", got)
	}
}

const daemonRoutesConf = `static_routes {
    10.9.0.0/16 via 192.0.2.254 dev eth0
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority PRIO
    virtual_ipaddress {
        192.0.2.100/24
    }
    virtual_routes {
        198.51.100.0/24 via 192.0.2.254 dev eth0
    }
}
`

// TestDaemonRoutes runs two daemons on a simulated network: both hold the static
// route from the start, only the MASTER holds the virtual route, and a graceful stop
// of the MASTER deletes both of its routes while the BACKUP takes the virtual one
// over.
func TestDaemonRoutes(t *testing.T) {
	n := vrrptest.NewNetwork()
	a, b := newHost(t, n, "192.0.2.1"), newHost(t, n, "192.0.2.2")
	ra, rb := newFakeKRoutes(), newFakeKRoutes()
	a.d.deps.kroutes = func() (routeBackend, error) { return ra, nil }
	b.d.deps.kroutes = func() (routeBackend, error) { return rb, nil }
	ctx := context.Background()
	if err := b.d.start(ctx, readConf(t, strings.ReplaceAll(daemonRoutesConf, "PRIO", "100"))); err != nil {
		t.Fatal(err)
	}
	defer b.d.stop()
	if err := a.d.start(ctx, readConf(t, strings.ReplaceAll(daemonRoutesConf, "PRIO", "150"))); err != nil {
		t.Fatal(err)
	}
	both := []string{"10.9.0.0/16", "198.51.100.0/24"}
	waitFor(t, "A holds the static and the virtual route", func() bool { return slices.Equal(ra.dsts(), both) })
	waitFor(t, "B is BACKUP", func() bool { return b.instance("VI_1").State == "BACKUP" })
	if got := rb.dsts(); !slices.Equal(got, []string{"10.9.0.0/16"}) {
		t.Errorf("BACKUP B holds %v, want the static route only", got)
	}
	a.d.stop()
	if got := ra.dsts(); len(got) != 0 {
		t.Errorf("A kept %v after stop", got)
	}
	if !ra.closed {
		t.Error("A's route backend was not closed at stop")
	}
	waitFor(t, "B takes the virtual route over", func() bool { return slices.Equal(rb.dsts(), both) })
}

// failingRouteList is a route backend whose List fails while fail is set.
type failingRouteList struct {
	*fakeKRoutes
	fail bool
}

func (f *failingRouteList) List(ctx context.Context) ([]routeKey, error) {
	if f.fail {
		return nil, context.DeadlineExceeded
	}
	return f.fakeKRoutes.List(ctx)
}

// TestRoutesFirstListRetried: when the first pass cannot list the kernel's
// routes, the next one lists them again, so a crashed run's route still goes.
func TestRoutesFirstListRetried(t *testing.T) {
	cfg := readRoutesConf(t, vroutesConf)
	src := &staticView{}
	src.set(map[string]vrrp.State{"A": vrrp.StateBackup}, instView{name: "A"})
	r := newReconciler(slog.New(slog.DiscardHandler), src, &metrics{}, nil)
	fr := &failingRouteList{fakeKRoutes: newFakeKRoutes(), fail: true}
	stale := kaconf.Route{Dst: netip.MustParsePrefix("10.99.0.0/16"), Dev: "eth0"}
	fr.routes[keyOfRoute(stale)] = stale
	rc, _ := routesOf(cfg)
	r.setRoutes(fr, rc)
	if _, err := r.reconcile(context.Background()); err == nil || !strings.Contains(err.Error(), "listing routes") {
		t.Fatalf("first pass: %v, want the listing error", err)
	}
	fr.fail = false
	if _, err := r.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fr.dsts(); !slices.Equal(got, []string{"10.9.0.0/16"}) {
		t.Errorf("routes %v, want the static one only (the stale one deleted)", got)
	}
}
