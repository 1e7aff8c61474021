package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/arpctl"
	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// fakeRoutes is an in-memory route table: what route.Client.Reconcile converges.
type fakeRoutes struct {
	mu     sync.Mutex
	table  []netip.Prefix
	calls  []routeCall // every Reconcile, in order
	fail   error       // when set, Reconcile fails and changes nothing
	closed bool
	// seen, when set, is called with each Reconcile's want before it takes effect
	// (tests look at the IPVS table at that moment).
	seen func(want []netip.Prefix) string
}

// routeCall is one Reconcile: what it wanted and what seen reported then.
type routeCall struct {
	want []netip.Prefix
	note string
}

func (f *fakeRoutes) Reconcile(_ context.Context, want []netip.Prefix) error {
	f.mu.Lock()
	seen := f.seen
	f.mu.Unlock()
	note := ""
	if seen != nil {
		note = seen(want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, routeCall{slices.Clone(want), note})
	if f.fail != nil {
		return f.fail
	}
	f.table = slices.Clone(want)
	return nil
}

func (f *fakeRoutes) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

func (f *fakeRoutes) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []string{}
	for _, p := range f.table {
		out = append(out, p.String())
	}
	return out
}

// del removes a route behind the director's back, as `ip route del` would.
func (f *fakeRoutes) del(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.table = slices.DeleteFunc(f.table, func(q netip.Prefix) bool { return q.String() == p })
}

// changes is the sequence of distinct table contents Reconcile asked for, each as
// a string ("" for none), with consecutive repeats folded.
func (f *fakeRoutes) changes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		s := fmt.Sprint(c.want)
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

// fakeSysctls stands for arpctl.ScaleOutDirector on a host with ip_vs loaded.
type fakeSysctls struct {
	mu       sync.Mutex
	err      error
	applied  int
	restored int
}

func (f *fakeSysctls) apply() (func() error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.applied++
	return func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.restored++
		return nil
	}, nil
}

func (f *fakeSysctls) state() (applied, restored int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied, f.restored
}

// scaleOutHost is a host running the scale-out mode against fakes.
type scaleOutHost struct {
	*host
	routes  *fakeRoutes
	sysctls *fakeSysctls
}

// scaleOutConf is one mh virtual server with three real servers (listeners on
// loopback, checked once an hour: the tests drive health by hand) and quorum 2.
func scaleOutConf(t *testing.T) (string, []string) {
	var rs []string
	var b strings.Builder
	b.WriteString("virtual_server 203.0.113.10 80 {\n    lb_algo mh\n    lb_kind NAT\n    protocol TCP\n    quorum 2\n")
	for range 3 {
		a, _ := listener(t)
		rs = append(rs, a)
		fmt.Fprintf(&b, "    real_server %s {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 1\n            delay_loop 3600\n        }\n    }\n", hostPort(a))
	}
	b.WriteString("}\n")
	return b.String(), rs
}

func newScaleOutHost(t *testing.T, ipvsCfg *ipvstest.Config) *scaleOutHost {
	h := &scaleOutHost{host: newHost(t, vrrptest.NewNetwork(), "192.0.2.1"), routes: &fakeRoutes{}, sysctls: &fakeSysctls{}}
	h.ipvs = ipvstest.New(ipvsCfg)
	h.d.deps.ipvs = func() (*ipvs.Client, error) { return ipvs.NewClient(h.ipvs.Dial()) }
	h.d.deps.routes = func(table uint32) (routeAnnouncer, error) {
		if table != 100 {
			return nil, fmt.Errorf("table %d, want 100", table)
		}
		return h.routes, nil
	}
	h.d.deps.scaleOut = h.sysctls.apply
	h.d.ecmpOpt = ecmpOptions{table: 100, drain: time.Second}
	return h
}

// start runs conf and waits until the director has announced its VIP.
func (h *scaleOutHost) start(t *testing.T, conf string) {
	t.Helper()
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.d.stop)
	within(t, 5*time.Second, "the VIP route announced", func() bool { return cmp.Equal([]string{"203.0.113.10/32"}, h.routes.list()) })
}

// setHealth delivers a health transition for real server i, as the scheduler would.
func (h *scaleOutHost) setHealth(i int, up bool) {
	vc := &h.d.cfg.VirtualServers[0]
	h.d.lvs.onTransition(health.Transition{Name: checkName(vc, &vc.RealServers[i], 0), Up: up})
}

// ipvsNote summarises the IPVS table for fakeRoutes.seen: services and
// destinations, with weights.
func (h *scaleOutHost) ipvsNote() string {
	c, err := ipvs.NewClient(h.ipvs.Dial())
	if err != nil {
		return "error: " + err.Error()
	}
	defer c.Close()
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		return "error: " + err.Error()
	}
	var parts []string
	for _, v := range ipvs.Table(snap) {
		parts = append(parts, fmt.Sprintf("%s:%d", v.Service, len(v.Destinations)))
	}
	return strings.Join(parts, " ")
}

// TestScaleOutAnnounceAfterConvergence: the route goes into the table only once
// the IPVS table holds the service with every real server, after leftovers were
// withdrawn and the sysctls applied; the VIP is on lo, the service is mh with
// mh-port, and nothing VRRP runs.
func TestScaleOutAnnounceAfterConvergence(t *testing.T) {
	h := newScaleOutHost(t, nil)
	conf, _ := scaleOutConf(t)
	h.routes.seen = func(want []netip.Prefix) string {
		applied, _ := h.sysctls.state()
		return fmt.Sprintf("sysctls=%d ipvs=%s", applied, h.ipvsNote())
	}
	h.start(t, conf)
	h.routes.mu.Lock()
	calls := slices.Clone(h.routes.calls)
	h.routes.mu.Unlock()
	if len(calls) < 2 || len(calls[0].want) != 0 {
		t.Fatalf("the first Reconcile must withdraw what a crash left: %+v", calls)
	}
	for _, c := range calls {
		if len(c.want) > 0 && c.note != "sysctls=1 ipvs=TCP 203.0.113.10:80:3" {
			t.Errorf("announced %v while %s; want the sysctls applied and the service with its 3 real servers", c.want, c.note)
		}
	}
	if diff := cmp.Diff([]string{"203.0.113.10/32 dev lo"}, h.vips.list()); diff != "" {
		t.Errorf("VIPs (-want +got):\n%s", diff)
	}
	tb := table(t, h.host)
	if len(tb) != 1 || tb[0].Service.Scheduler != ipvs.MaglevHashing || tb[0].Service.Flags&ipvs.FlagMHPort == 0 {
		t.Errorf("service %+v, want mh with mh-port", tb)
	}
	h.mu.Lock()
	socks := h.socks
	h.mu.Unlock()
	if len(socks) != 0 {
		t.Errorf("VRRP sockets opened: %v", socks)
	}
	// Destinations are wanted (so created) in canonical order: here by port.
	h.d.lvs.mu.Lock()
	want := h.d.lvs.desired()
	h.d.lvs.mu.Unlock()
	if ds := want[0].Destinations; !slices.IsSortedFunc(ds, func(a, b ipvs.Destination) int { return int(a.Port) - int(b.Port) }) {
		t.Errorf("destinations not in canonical order: %+v", ds)
	}
}

// TestScaleOutNoIPVS: with IPVS refusing every change the route is never
// announced, and start reports the failure.
func TestScaleOutNoIPVS(t *testing.T) {
	h := newScaleOutHost(t, &ipvstest.Config{DenyPermission: true})
	conf, _ := scaleOutConf(t)
	err := h.d.start(context.Background(), readConf(t, conf))
	t.Cleanup(h.d.stop)
	if err == nil {
		t.Fatal("start succeeded with IPVS refusing every change")
	}
	h.d.rec.sync()
	if got := h.routes.list(); len(got) != 0 {
		t.Errorf("announced %v without a converged IPVS table", got)
	}
	for _, c := range h.routes.calls {
		if len(c.want) != 0 {
			t.Errorf("Reconcile(%v) without a converged IPVS table", c.want)
		}
	}
}

// TestScaleOutSysctlsMissing: a kernel without the IPVS sysctls fails the start
// with an error that says so, and nothing is announced.
func TestScaleOutSysctlsMissing(t *testing.T) {
	h := newScaleOutHost(t, nil)
	h.sysctls.err = fmt.Errorf("arpctl: net.ipv4.vs.sloppy_tcp: %w", arpctl.ErrNoIPVS)
	conf, _ := scaleOutConf(t)
	err := h.d.start(context.Background(), readConf(t, conf))
	t.Cleanup(h.d.stop)
	if err == nil || !errors.Is(err, arpctl.ErrNoIPVS) || !strings.Contains(err.Error(), "need the ip_vs module") {
		t.Fatalf("start: %v; want an error naming the missing ip_vs", err)
	}
	if got := h.routes.list(); len(got) != 0 {
		t.Errorf("announced %v without the sysctls", got)
	}
}

// TestScaleOutFailedConvergence: when an IPVS convergence fails (the service was
// deleted behind the director's back, so updating a real server fails with ESRCH)
// the route is withdrawn in that pass, and announced again once the next pass has
// rebuilt the service. A failed real server stays in the table at weight 0.
func TestScaleOutFailedConvergence(t *testing.T) {
	h := newScaleOutHost(t, nil)
	conf, rs := scaleOutConf(t)
	h.start(t, conf)
	c, err := ipvs.NewClient(h.ipvs.Dial())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	svc := table(t, h.host)[0].Service
	if err := c.Apply(context.Background(), []ipvs.Op{{Kind: ipvs.OpDeleteService, Service: svc}}); err != nil {
		t.Fatal(err)
	}
	before := len(h.routes.changes())
	h.setHealth(2, false)
	within(t, 5*time.Second, "the route withdrawn and back", func() bool { return len(h.routes.changes()) >= before+2 })
	got := h.routes.changes()[before-1:]
	if diff := cmp.Diff([]string{"[203.0.113.10/32]", "[]", "[203.0.113.10/32]"}, got); diff != "" {
		t.Errorf("route table through the failure (-want +got):\n%s", diff)
	}
	if !strings.Contains(h.logs.String(), "VIP route withdrawn") {
		t.Error("the withdrawal was not logged")
	}
	want := []string{"TCP 203.0.113.10:80 -> " + rs[0] + " w1", "TCP 203.0.113.10:80 -> " + rs[1] + " w1", "TCP 203.0.113.10:80 -> " + rs[2] + " w0"}
	slices.Sort(want)
	if diff := cmp.Diff(want, dests(t, h.host)); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

// TestScaleOutQuorum: losing quorum withdraws the route while the failed real
// servers stay at weight 0 (every director's Maglev table skips them alike);
// regaining it announces the route again. Repeated transitions change nothing more.
func TestScaleOutQuorum(t *testing.T) {
	h := newScaleOutHost(t, nil)
	conf, _ := scaleOutConf(t)
	h.start(t, conf)
	h.setHealth(0, false)
	h.d.rec.sync()
	if got := h.routes.list(); len(got) != 1 {
		t.Fatalf("withdrawn with quorum still held (alive weight 2, quorum 2): %v", got)
	}
	before := len(h.routes.changes())
	for range 3 { // repeated events
		h.setHealth(1, false)
	}
	h.d.rec.sync()
	if got := h.routes.list(); len(got) != 0 {
		t.Fatalf("route %v still announced without quorum", got)
	}
	tb := table(t, h.host)
	var weights []int32
	for _, d := range tb[0].Destinations {
		weights = append(weights, d.Weight)
	}
	slices.Sort(weights)
	if diff := cmp.Diff([]int32{0, 0, 1}, weights); diff != "" {
		t.Errorf("weights without quorum (-want +got):\n%s", diff)
	}
	h.setHealth(0, true)
	h.setHealth(0, true)
	h.d.rec.sync()
	if diff := cmp.Diff([]string{"203.0.113.10/32"}, h.routes.list()); diff != "" {
		t.Errorf("after quorum came back (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"[]", "[203.0.113.10/32]"}, h.routes.changes()[before:]); diff != "" {
		t.Errorf("route changes for a repeated loss and a repeated return (-want +got):\n%s", diff)
	}
}

// TestScaleOutSorryServer: losing quorum with a sorry_server keeps every real
// server in the table at weight 0 beside the sorry server, never deleted (a
// deleted one would come back at the head of the kernel's list and change this
// director's Maglev table alone).
func TestScaleOutSorryServer(t *testing.T) {
	h := newScaleOutHost(t, nil)
	conf, _ := scaleOutConf(t)
	conf = strings.Replace(conf, "    quorum 2\n", "    quorum 2\n    sorry_server 198.51.100.99 80\n", 1)
	h.start(t, conf)
	h.setHealth(0, false)
	h.setHealth(1, false)
	h.d.rec.sync()
	var got []string
	for _, d := range table(t, h.host)[0].Destinations {
		got = append(got, fmt.Sprintf("%s w%d", netip.AddrPortFrom(d.Address, d.Port), d.Weight))
	}
	slices.Sort(got)
	if len(got) != 4 || got[3] != "198.51.100.99:80 w1" || strings.Count(strings.Join(got, " "), " w0") != 3 {
		t.Errorf("table without quorum: %v; want the three real servers at weight 0 and the sorry server", got)
	}
	if r := h.routes.list(); len(r) != 0 {
		t.Errorf("announced %v without quorum", r)
	}
}

// TestScaleOutDriftAndLostChanges: a route deleted behind the director's back, or
// an announcement whose reconcile failed, is put back by a later pass: the table is
// converged from state, never from the event that changed it.
func TestScaleOutDriftAndLostChanges(t *testing.T) {
	h := newScaleOutHost(t, nil)
	conf, _ := scaleOutConf(t)
	h.start(t, conf)
	h.routes.del("203.0.113.10/32")
	h.d.rec.resync(true) // what the drift check does every 10 s
	h.d.rec.sync()
	if diff := cmp.Diff([]string{"203.0.113.10/32"}, h.routes.list()); diff != "" {
		t.Errorf("after a deletion from outside and a drift check (-want +got):\n%s", diff)
	}
	// The kernel refuses the withdrawal on quorum loss: the next passes retry it.
	h.routes.mu.Lock()
	h.routes.fail = errors.New("route: the kernel said no")
	h.routes.mu.Unlock()
	h.setHealth(0, false)
	h.setHealth(1, false)
	if err := h.d.rec.sync(); err == nil || !strings.Contains(err.Error(), "the kernel said no") {
		t.Errorf("reconcile: %v, want the route error", err)
	}
	h.routes.mu.Lock()
	h.routes.fail = nil
	h.routes.mu.Unlock()
	within(t, 5*time.Second, "the withdrawal retried", func() bool { return len(h.routes.list()) == 0 })
}

// TestScaleOutDrainOrder: SIGTERM's path withdraws the route first, waits the drain
// time with the IPVS service still forwarding, and only then stops: the service
// goes, the VIP leaves lo, the sysctls are put back. stop alone (no drain) also
// withdraws before it deletes the service.
func TestScaleOutDrainOrder(t *testing.T) {
	for _, drain := range []bool{true, false} {
		t.Run(fmt.Sprintf("drain=%v", drain), func(t *testing.T) {
			h := newScaleOutHost(t, nil)
			conf, _ := scaleOutConf(t)
			h.routes.seen = func(want []netip.Prefix) string { return h.ipvsNote() }
			h.start(t, conf)
			var atWait []string
			var waited time.Duration
			h.d.ecmp.wait = func(d time.Duration) {
				waited = d
				atWait = []string{fmt.Sprint(h.routes.list()), h.ipvsNote(), fmt.Sprint(h.vips.list())}
			}
			if drain {
				h.d.drain()
				want := []string{"[]", "TCP 203.0.113.10:80:3", "[203.0.113.10/32 dev lo]"}
				if diff := cmp.Diff(want, atWait); diff != "" {
					t.Errorf("during the drain wait: routes, IPVS, VIPs (-want +got):\n%s", diff)
				}
				if waited != time.Second {
					t.Errorf("waited %v, want -ecmp-drain's 1s", waited)
				}
			}
			h.d.stop()
			h.routes.mu.Lock()
			calls := slices.Clone(h.routes.calls)
			closed := h.routes.closed
			h.routes.mu.Unlock()
			withdrawn := false
			for _, c := range calls {
				if len(c.want) == 0 && c.note == "TCP 203.0.113.10:80:3" {
					withdrawn = true
				}
			}
			if !withdrawn {
				t.Errorf("no withdrawal while the service was still in the table: %+v", calls)
			}
			if got := h.routes.list(); len(got) != 0 || !closed {
				t.Errorf("after stop: routes %v, closed %v", got, closed)
			}
			if got := h.ipvsNote(); got != "" {
				t.Errorf("IPVS after stop: %s", got)
			}
			if got := h.vips.list(); len(got) != 0 {
				t.Errorf("VIPs after stop: %v", got)
			}
			if a, r := h.sysctls.state(); a != 1 || r != 1 {
				t.Errorf("sysctls applied %d times, restored %d; want 1, 1", a, r)
			}
		})
	}
}

// TestScaleOutReload: a reload that adds a virtual server puts its VIP on lo and
// announces it once converged; one that removes it withdraws the route, then
// takes the VIP off lo.
func TestScaleOutReload(t *testing.T) {
	h := newScaleOutHost(t, nil)
	conf, _ := scaleOutConf(t)
	h.start(t, conf)
	a, _ := listener(t)
	second := "virtual_server 203.0.113.11 443 {\n    lb_algo mh\n    lb_kind NAT\n    protocol TCP\n    real_server " + hostPort(a) +
		" {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 1\n            delay_loop 3600\n        }\n    }\n}\n"
	if err := h.d.reload(context.Background(), readConf(t, conf+second)); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "both routes", func() bool { return len(h.routes.list()) == 2 })
	if diff := cmp.Diff([]string{"203.0.113.10/32 dev lo", "203.0.113.11/32 dev lo"}, h.vips.list()); diff != "" {
		t.Errorf("VIPs (-want +got):\n%s", diff)
	}
	if err := h.d.reload(context.Background(), readConf(t, second)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"203.0.113.11/32"}, h.routes.list()); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"203.0.113.11/32 dev lo"}, h.vips.list()); diff != "" {
		t.Errorf("VIPs (-want +got):\n%s", diff)
	}
}

// TestCheckECMP: the mode refuses VRRP instances and fwmark virtual servers, and
// warns about schedulers other than mh.
func TestCheckECMP(t *testing.T) {
	conf, _ := scaleOutConf(t)
	if err := checkECMP(readConf(t, conf), nil); err != nil {
		t.Errorf("an mh virtual server: %v", err)
	}
	bad := convText("1") + "virtual_server fwmark 7 {\n    lb_algo rr\n    lb_kind DR\n    real_server 198.51.100.1 80 {\n        weight 1\n    }\n}\n"
	err := checkECMP(readConf(t, bad), nil)
	for _, want := range []string{"remove the vrrp_instance blocks (VI_1)", "virtual_server fwmark 7"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	h := newScaleOutHost(t, nil)
	if err := h.d.start(context.Background(), readConf(t, bad)); err == nil {
		t.Error("start accepted VRRP instances in the scale-out mode")
	}
	h.d.stop()
}

// TestECMPFlags: -ecmp-table and -ecmp-drain parse, and bad values are refused.
func TestECMPFlags(t *testing.T) {
	o, err := parseFlags([]string{"-ecmp-table", "100", "-ecmp-drain", "2s"}, io.Discard)
	if err != nil || o.ecmp != (ecmpOptions{table: 100, drain: 2 * time.Second}) {
		t.Errorf("parsed %+v, %v", o.ecmp, err)
	}
	o, err = parseFlags(nil, io.Discard)
	if err != nil || o.ecmp != (ecmpOptions{drain: defaultDrain}) {
		t.Errorf("defaults %+v, %v; want the mode off", o.ecmp, err)
	}
	for _, args := range [][]string{{"-ecmp-table", "4294967296"}, {"-ecmp-drain", "-1s"}, {"-ecmp-table", "x"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestScaleOutDestinationOrder: the desired table lists each service's
// destinations in canonical order whatever the file's order, so every director
// creates them in the same order.
func TestScaleOutDestinationOrder(t *testing.T) {
	ds := []ipvs.Destination{
		{Address: netip.MustParseAddr("198.51.100.9"), Port: 80},
		{Address: netip.MustParseAddr("198.51.100.2"), Port: 80},
		{Address: netip.MustParseAddr("198.51.100.10"), Port: 80},
	}
	var got []string
	for _, d := range scaleOutDests(ds) {
		got = append(got, d.Address.String())
	}
	if diff := cmp.Diff([]string{"198.51.100.2", "198.51.100.9", "198.51.100.10"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if s := scaleOutService(ipvs.Service{Scheduler: ipvs.RoundRobin}); s.Flags != 0 {
		t.Errorf("rr got flags %v", s.Flags)
	}
}
