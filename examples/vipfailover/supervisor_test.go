package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// fakeService is the service behind the check and restart commands.
type fakeService struct {
	healthy  atomic.Bool
	fixable  atomic.Bool // a restart makes it healthy
	restarts atomic.Int32
}

func (s *fakeService) check(context.Context) (health.Result, error) {
	if s.healthy.Load() {
		return health.Result{}, nil
	}
	return health.Result{}, errors.New("service down")
}

func (s *fakeService) restart(context.Context) (health.Result, error) {
	s.restarts.Add(1)
	if s.fixable.Load() {
		s.healthy.Store(true)
		return health.Result{}, nil
	}
	return health.Result{}, errors.New("restart did not help")
}

// TestSupervisorFailover runs two real Routers on an in-memory network in virtual time,
// A preferred and supervised with a fake service: the decision path from check result
// to VIP ownership, timed exactly.
func TestSupervisorFailover(t *testing.T) {
	for _, tc := range []struct {
		name   string
		weight int
	}{{"fault", 0}, {"weight", 60}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testSupervisorFailover(t, tc.weight) })
		})
	}
}

func testSupervisorFailover(t *testing.T, weight int) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	network := vrrptest.NewNetwork()
	router := func(name string, prio uint8, addr string) *vrrp.Router {
		primary := netip.MustParseAddr(addr)
		r, err := vrrp.NewRouter(&vrrp.RouterConfig{
			Transport: network.Attach(primary),
			Instances: []vrrp.Config{{
				Name: name, VRID: 51, Priority: prio, AdvertInterval: time.Second, Primary: primary,
				Addrs:    []netip.Addr{netip.MustParseAddr("192.0.2.100")},
				Trackers: []vrrp.TrackerConfig{{Name: "check", Weight: -weight}},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() { defer wg.Done(); r.Run(ctx) }()
		go func() {
			defer wg.Done()
			for range r.Events() {
			}
		}()
		return r
	}
	a := router(instance, 150, "192.0.2.1")
	b := router("b", 100, "192.0.2.2")
	state := func(r *vrrp.Router) vrrp.State { return r.Snapshot()[0].State }

	svc := &fakeService{}
	svc.healthy.Store(true)
	var (
		mu      sync.Mutex
		tracked []bool
	)
	trackedNow := func() []bool { mu.Lock(); defer mu.Unlock(); return append([]bool(nil), tracked...) }
	sup := &supervisor{
		check: health.CheckerFunc(svc.check), restart: health.CheckerFunc(svc.restart),
		interval: time.Second, timeout: time.Second, restartTimeout: time.Second,
		mon: newMonitor(monitorConfig{Fall: 2, Rise: 2, Restart: true, RestartBackoff: 10 * time.Second}),
		track: func(up bool) {
			mu.Lock()
			tracked = append(tracked, up)
			mu.Unlock()
			if err := a.Track(instance, 0, up); err != nil {
				t.Error(err)
			}
		},
		weight: weight,
		log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	wg.Add(1)
	go func() { defer wg.Done(); sup.run(ctx) }()

	// Checks run at whole seconds (0, 1, 2, ...); look between them.
	time.Sleep(5500 * time.Millisecond)
	if state(a) != vrrp.StateMaster || state(b) != vrrp.StateBackup {
		t.Fatalf("at start: A %v, B %v; want MASTER, BACKUP", state(a), state(b))
	}

	// The service dies at 5.5 s and the restart at 6 s brings it back: nothing moves.
	svc.fixable.Store(true)
	svc.healthy.Store(false)
	time.Sleep(10 * time.Second)
	if got := svc.restarts.Load(); got != 1 {
		t.Errorf("restarts after a fixable outage = %d, want 1", got)
	}
	if state(a) != vrrp.StateMaster || state(b) != vrrp.StateBackup || len(trackedNow()) != 0 {
		t.Fatalf("after a restart that worked: A %v, B %v, tracked %v; want MASTER, BACKUP, nothing", state(a), state(b), trackedNow())
	}

	// It dies for good at 15.5 s: restart at 16 s, failures at 17 s and 18 s, down at 18 s.
	svc.fixable.Store(false)
	svc.healthy.Store(false)
	died := time.Now()
	for state(b) != vrrp.StateMaster {
		time.Sleep(10 * time.Millisecond)
		if time.Since(died) > 30*time.Second {
			t.Fatalf("B never became MASTER; A %v", state(a))
		}
	}
	// Down at 18 s, 2.5 s after the death. A in FAULT resigns (priority 0) and B takes
	// over after Skew_Time; with a weight A advertises 90 at once and B, preempting, stops
	// listening to it: it takes over Master_Down_Interval after A's last advert of 150,
	// so at most that long after the down. (The loop looks every 10 ms.)
	took := time.Since(died)
	lo := 2500*time.Millisecond + vrrp.SkewTime(3, 100, time.Second)
	hi := lo + 10*time.Millisecond
	wantA := vrrp.StateFault
	if weight != 0 {
		lo = 2500 * time.Millisecond
		hi = lo + vrrp.MasterDownInterval(3, 100, time.Second) + 10*time.Millisecond
		wantA = vrrp.StateBackup
	}
	if took < lo || took >= hi {
		t.Errorf("B became MASTER %v after the service died, want [%v, %v)", took, lo, hi)
	}
	if state(a) != wantA {
		t.Errorf("A is %v after giving up, want %v", state(a), wantA)
	}

	// While down, the restart is retried every 10 s: at 26 s (10 s after 16 s).
	time.Sleep(time.Until(died.Add(11 * time.Second)))
	if got := svc.restarts.Load(); got != 3 {
		t.Errorf("restarts 11 s into the lasting outage = %d, want 3 (1 + 1 + one retry)", got)
	}

	// The service comes back: two good checks, A is up again and preempts.
	svc.healthy.Store(true)
	time.Sleep(10 * time.Second)
	if state(a) != vrrp.StateMaster || state(b) != vrrp.StateBackup {
		t.Errorf("after recovery: A %v, B %v; want MASTER, BACKUP", state(a), state(b))
	}
	if got := trackedNow(); len(got) != 2 || got[0] || !got[1] {
		t.Errorf("tracker fed %v, want [false true]", got)
	}
}
