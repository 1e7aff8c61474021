package hatest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp"
)

// DefaultResync is Config.Resync's default.
const DefaultResync = time.Second

// Backend is one real server: its IPVS destination and the check that says whether it
// is up.
type Backend struct {
	// Destination is added to the service while the check is up. Required: its
	// Address and Port also name the check.
	Destination ipvs.Destination
	// Check probes the real server. Required.
	Check health.Checker
}

// Name returns the backend's check name, the destination's address and port.
func (b Backend) Name() string {
	return netip.AddrPortFrom(b.Destination.Address, b.Destination.Port).String()
}

// Config configures a Director.
type Config struct {
	// Clock drives VRRP, the health checks and the resync; nil means vrrp.SystemClock().
	// Tests pass a vrrptest.Clock.
	Clock vrrp.Clock
	// Transport carries the VRRP adverts. Required.
	Transport vrrp.Transport
	// Instance is the VRRP instance whose Master serves the service. Required.
	Instance vrrp.Config
	// IPVS is this host's IPVS. Required.
	IPVS *ipvs.Client
	// Service is the virtual service the director owns. Required.
	Service ipvs.Service
	// Backends are the real servers.
	Backends []Backend
	// CheckInterval is every check's interval; zero means health.DefaultInterval.
	CheckInterval time.Duration
	// Resync is how often the table is reconciled even without an event; zero means
	// DefaultResync.
	Resync time.Duration
}

// Director runs one VRRP instance, one health check per backend, and reconciles the
// IPVS table from their states.
type Director struct {
	cfg    Config
	clock  vrrp.Clock
	router *vrrp.Router
	sched  *health.Scheduler

	armed chan struct{} // closed once Run has armed the resync timer

	mu      sync.Mutex // serializes reconciles; held across IPVS calls, taken by nothing else
	lastErr error
}

// New validates cfg and returns a Director that does nothing until Run.
func New(cfg *Config) (*Director, error) {
	if cfg == nil || cfg.Transport == nil || cfg.IPVS == nil {
		return nil, errors.New("hatest: config needs a Transport and an IPVS client")
	}
	d := &Director{cfg: *cfg, clock: cmp.Or[vrrp.Clock](cfg.Clock, vrrp.SystemClock()), armed: make(chan struct{})}
	r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: []vrrp.Config{cfg.Instance},
		Transport: cfg.Transport, Clock: d.clock})
	if err != nil {
		return nil, err
	}
	d.router = r
	d.sched = health.NewScheduler(&health.SchedulerConfig{Clock: d.clock,
		OnTransition: func(health.Transition) { d.Reconcile(context.Background()) }})
	for _, b := range cfg.Backends {
		if err := d.sched.Add(b.Name(), health.Check{Checker: b.Check, Interval: cfg.CheckInterval}); err != nil {
			return nil, fmt.Errorf("hatest: backend %s: %w", b.Name(), err)
		}
	}
	return d, nil
}

// Started returns a channel closed once Run has armed its resync timer and started
// VRRP and the health checks; a test with a fake Clock waits for it before advancing.
func (d *Director) Started() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		<-d.armed
		<-d.router.Started()
		<-d.sched.Started()
		close(ch)
	}()
	return ch
}

// State returns the VRRP state of the instance.
func (d *Director) State() vrrp.State { return d.router.Snapshot()[0].State }

// Err returns the error of the last reconcile, nil if it succeeded.
func (d *Director) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastErr
}

// Desired returns the table this director should have now: its service with the
// healthy backends while Master, nothing otherwise.
func (d *Director) Desired() []ipvs.VirtualServer {
	if d.State() != vrrp.StateMaster {
		return nil
	}
	up := map[string]bool{}
	for _, st := range d.sched.Statuses() {
		up[st.Name] = st.Up
	}
	vs := ipvs.VirtualServer{Service: d.cfg.Service}
	for _, b := range d.cfg.Backends {
		if up[b.Name()] {
			vs.Destinations = append(vs.Destinations, b.Destination)
		}
	}
	return []ipvs.VirtualServer{vs}
}

// owns reports whether s is the director's service: the same identity (protocol,
// address and port, or firewall mark), whatever its scheduler or flags.
func (d *Director) owns(s ipvs.Service) bool {
	o := d.cfg.Service
	if o.FWMark != 0 {
		return s.FWMark == o.FWMark
	}
	return s.FWMark == 0 && s.Protocol == o.Protocol && s.Address == o.Address.Unmap() && s.Port == o.Port
}

// Reconcile makes the IPVS table match Desired, touching only the director's service.
func (d *Director) Reconcile(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.cfg.IPVS.ReconcileOwned(ctx, d.Desired(), d.owns)
	d.lastErr = err
	return err
}

// Run runs VRRP, the health checks and the resync until ctx is done, then withdraws
// the service (a stopping director serves nothing) and returns nil.
func (d *Director) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(3)
	go func() { defer wg.Done(); d.router.Run(ctx) }()
	go func() { defer wg.Done(); d.sched.Run(ctx) }()
	go func() {
		defer wg.Done()
		for range d.router.Events() {
			d.Reconcile(ctx)
		}
	}()
	every := cmp.Or(d.cfg.Resync, DefaultResync)
	var resync func()
	var tmu sync.Mutex
	var timer vrrp.Stopper
	resync = func() {
		d.Reconcile(ctx)
		tmu.Lock()
		defer tmu.Unlock()
		if ctx.Err() == nil {
			timer = d.clock.AfterFunc(every, resync)
		}
	}
	tmu.Lock()
	timer = d.clock.AfterFunc(every, resync)
	tmu.Unlock()
	close(d.armed)
	<-ctx.Done()
	tmu.Lock()
	timer.Stop()
	tmu.Unlock()
	wg.Wait()
	d.mu.Lock()
	_, err := d.cfg.IPVS.ReconcileOwned(context.Background(), nil, d.owns)
	d.lastErr = err
	d.mu.Unlock()
	return nil
}

// Table returns the IPVS table as c lists it, services sorted by their String and
// destinations by address, so that tables compare equal whatever order the kernel
// keeps.
func Table(ctx context.Context, c *ipvs.Client) ([]ipvs.VirtualServer, error) {
	snap, err := c.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	t := ipvs.Table(snap)
	slices.SortFunc(t, func(a, b ipvs.VirtualServer) int { return cmp.Compare(a.Service.String(), b.Service.String()) })
	for _, vs := range t {
		slices.SortFunc(vs.Destinations, func(a, b ipvs.Destination) int { return a.Address.Compare(b.Address) })
	}
	return t, nil
}
