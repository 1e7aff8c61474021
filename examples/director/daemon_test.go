package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// fakeVIPs is an in-memory vipBackend: a kernel's address table.
type fakeVIPs struct {
	mu        sync.Mutex
	addrs     []vip.Address
	stale     []vip.Address
	announced atomic.Int64
	// adds and removes count calls that changed the table; lists counts List calls.
	adds, removes, lists atomic.Int64
	// hang, when set, makes Add and Remove block until it is closed or ctx ends.
	hang chan struct{}
}

func (f *fakeVIPs) wait(ctx context.Context) error {
	f.mu.Lock()
	h := f.hang
	f.mu.Unlock()
	if h == nil {
		return nil
	}
	select {
	case <-h:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeVIPs) Add(ctx context.Context, a vip.Address) error {
	if err := f.wait(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.addrs, a) {
		f.addrs = append(f.addrs, a)
		f.adds.Add(1)
	}
	return nil
}

func (f *fakeVIPs) Remove(ctx context.Context, a vip.Address) error {
	if err := f.wait(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.addrs)
	f.addrs = slices.DeleteFunc(f.addrs, func(b vip.Address) bool { return b == a })
	if len(f.addrs) != n {
		f.removes.Add(1)
	}
	return nil
}

// List reports the table, every address owned (the stale ones included).
func (f *fakeVIPs) List(context.Context) ([]vip.Address, error) {
	f.lists.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []vip.Address
	for _, a := range append(slices.Clone(f.addrs), f.stale...) {
		a.Owned = true
		out = append(out, a)
	}
	return out, nil
}

// del deletes an address behind the director's back, as `ip addr del` would.
func (f *fakeVIPs) del(a string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.addrs)
	f.addrs = slices.DeleteFunc(f.addrs, func(b vip.Address) bool { return b.Prefix.String() == a })
	return len(f.addrs) != n
}

func (f *fakeVIPs) find(a string) (vip.Address, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.addrs {
		if b.Prefix.String() == a {
			return b, true
		}
	}
	return vip.Address{}, false
}

func (f *fakeVIPs) Cleanup(context.Context) ([]vip.Address, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stale
	f.stale = nil
	return s, nil
}

func (f *fakeVIPs) Announce(ctx context.Context, _ string, _ vip.Policy, addrs []netip.Addr) error {
	f.announced.Add(int64(len(addrs)))
	return nil
}

func (f *fakeVIPs) Close() error { return nil }

func (f *fakeVIPs) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, a := range f.addrs {
		out = append(out, a.String())
	}
	slices.Sort(out)
	return out
}

// host is one fake machine: a daemon with its fakes.
type host struct {
	d       *daemon
	vips    *fakeVIPs
	ipvs    *ipvstest.Server
	probeOK atomic.Bool
	mu      sync.Mutex
	ran     [][]string
	down    map[string]bool      // links that are down
	linkFn  func(vip.Event)      // the daemon's kernel watcher callback
	linkSet chan struct{}        // closed once linkFn is set
	eps     []*vrrptest.Endpoint // the VRRP transports handed out
	socks   []string             // the (interface, family) of each transport opened
	// events, when set, filters the Routers' events (see deps.events).
	events func(vrrp.Event) []vrrp.Event
	logs   *syncBuffer // everything the daemon logged
}

// crash cuts the host off the simulated network, as a killed host looks to its
// peers: its adverts stop without a resignation.
func (h *host) crash() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ep := range h.eps {
		ep.SetUp(false)
	}
}

// setLink takes a fake link down or up, as the rtnetlink watcher would report it.
func (h *host) setLink(t *testing.T, iface string, up bool) {
	t.Helper()
	h.mu.Lock()
	h.down[iface] = !up
	h.mu.Unlock()
	kind := vip.LinkDown
	if up {
		kind = vip.LinkUp
	}
	h.report(t, vip.Event{Kind: kind, Interface: iface})
}

// report hands the daemon one event as vip.Watcher would.
func (h *host) report(t *testing.T, ev vip.Event) {
	t.Helper()
	select {
	case <-h.linkSet:
	case <-time.After(20 * time.Second):
		t.Fatal("the daemon never watched the kernel")
	}
	h.mu.Lock()
	fn := h.linkFn
	h.mu.Unlock()
	fn(ev)
}

func newHost(t *testing.T, net *vrrptest.Network, primary string) *host {
	h := &host{vips: &fakeVIPs{}, ipvs: ipvstest.New(nil), down: map[string]bool{}, linkSet: make(chan struct{})}
	h.probeOK.Store(true)
	p := netip.MustParseAddr(primary)
	dp := deps{
		transport: func(iface string, v6 bool) (vrrp.Transport, error) {
			ep := net.Attach(p)
			h.mu.Lock()
			h.eps = append(h.eps, ep)
			h.socks = append(h.socks, fmt.Sprintf("%s v6=%v", iface, v6))
			h.mu.Unlock()
			return ep, nil
		},
		primary: func(string, bool) (netip.Addr, error) { return p, nil },
		vips:    func() (vipBackend, error) { return h.vips, nil },
		ipvs:    func() (*ipvs.Client, error) { return ipvs.NewClient(h.ipvs.Dial()) },
		probe:   func(context.Context, []string) bool { return h.probeOK.Load() },
		linkUp: func(iface string) bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return !h.down[iface]
		},
		watch: func(ctx context.Context, fn func(vip.Event)) error {
			h.mu.Lock()
			first := h.linkFn == nil
			h.linkFn = fn
			h.mu.Unlock()
			if first {
				close(h.linkSet)
			}
			<-ctx.Done()
			return ctx.Err()
		},
		events: func(ev vrrp.Event) []vrrp.Event {
			h.mu.Lock()
			f := h.events
			h.mu.Unlock()
			if f == nil {
				return []vrrp.Event{ev}
			}
			return f(ev)
		},
		exec: func(_ context.Context, argv []string) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.ran = append(h.ran, argv)
			return nil
		},
	}
	h.logs = &syncBuffer{}
	var w io.Writer = h.logs
	if testing.Verbose() {
		w = io.MultiWriter(h.logs, os.Stderr)
	}
	h.d = newDaemon(slog.New(slog.NewTextHandler(w, nil)).With("host", primary), dp, false)
	return h
}

func (h *host) scripts() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, a := range h.ran {
		out = append(out, strings.Join(a, " "))
	}
	return out
}

func (h *host) instance(name string) InstanceStatus {
	for _, in := range h.d.status().Instances {
		if in.Name == name {
			return in
		}
	}
	return InstanceStatus{}
}

// readConf parses a keepalived.conf text.
func readConf(t *testing.T, text string) *kaconf.Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := kaconf.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 20s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const vrrpConf = `
vrrp_script chk {
    script "/bin/true"
    interval 1
    weight -60
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    notify "/notify group"
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority PRIO
    virtual_ipaddress {
        192.0.2.100/24 label eth0:vip
    }
    track_script {
        chk
    }
    notify "/notify inst"
    notify_master "/master VI_1"
}
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 52
    version 3
    advert_int 0.1
    priority PRIO
    virtual_ipaddress {
        198.51.100.100/24
    }
}
`

func conf(prio string) string { return strings.ReplaceAll(vrrpConf, "PRIO", prio) }

// TestVRRPWiring runs two daemons on a simulated network: election with a sync group,
// VIPs and notify scripts, a track_script weight, a reload that changes only the
// priority (no restart, no flap), and a graceful stop.
func TestVRRPWiring(t *testing.T) {
	n := vrrptest.NewNetwork()
	a, b := newHost(t, n, "192.0.2.1"), newHost(t, n, "192.0.2.2")
	ctx := context.Background()
	a.vips.stale = []vip.Address{{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.250/32")}}
	if err := b.d.start(ctx, readConf(t, conf("100"))); err != nil {
		t.Fatal(err)
	}
	defer b.d.stop()
	if err := a.d.start(ctx, readConf(t, conf("150"))); err != nil {
		t.Fatal(err)
	}
	aStopped := false
	defer func() {
		if !aStopped {
			a.d.stop()
		}
	}()

	want := []string{"192.0.2.100/24 dev eth0 label eth0:vip", "198.51.100.100/24 dev eth1"}
	waitFor(t, "A holds both groups' VIPs", func() bool { return cmp.Equal(want, a.vips.list()) })
	waitFor(t, "B is BACKUP in both", func() bool {
		return b.instance("VI_1").State == "BACKUP" && b.instance("VI_2").State == "BACKUP"
	})
	if got := b.vips.list(); len(got) != 0 {
		t.Errorf("B holds %v", got)
	}
	// The announcement runs in its own goroutine after the VIPs are added.
	waitFor(t, "A announces its VIPs", func() bool { return a.vips.announced.Load() > 0 })
	waitFor(t, "A's notify scripts ran", func() bool {
		s := a.scripts()
		return slices.Contains(s, "/notify inst INSTANCE VI_1 MASTER 150") &&
			slices.Contains(s, "/notify group GROUP G MASTER 150") && slices.Contains(s, "/master VI_1")
	})

	// The tracked script fails: A drops to 90 and the whole group moves to B.
	a.probeOK.Store(false)
	waitFor(t, "B holds both VIPs", func() bool { return len(b.vips.list()) == 2 && len(a.vips.list()) == 0 })
	if in := a.instance("VI_1"); in.Priority != 90 || in.Trackers[0].Up {
		t.Errorf("A's VI_1 after the check failed: %+v", in)
	}
	a.probeOK.Store(true)
	// Until the script's next run A's VI_1 stays at 90, and the group can still
	// swing between A (whose VI_2 preempts at 150 and pulls VI_1 along) and B: wait
	// for the settled state, the script up and B BACKUP in both.
	waitFor(t, "A takes both back", func() bool {
		in := a.instance("VI_1")
		return in.Priority == 150 && in.State == "MASTER" && len(a.vips.list()) == 2 && len(b.vips.list()) == 0 &&
			b.instance("VI_1").State == "BACKUP" && b.instance("VI_2").State == "BACKUP"
	})

	// The swing can leave a transition or two in flight: take the state once no
	// transition came for half a second.
	var before InstanceStatus
	waitFor(t, "A's VI_1 settles", func() bool {
		before = a.instance("VI_1")
		time.Sleep(500 * time.Millisecond)
		return a.instance("VI_1").Transitions == before.Transitions
	})
	// Reload with a new priority only: the router keeps running, no state change.
	rr := a.d.vr.routers["group:G"]
	if err := a.d.reload(ctx, readConf(t, conf("160"))); err != nil {
		t.Fatal(err)
	}
	if a.d.vr.routers["group:G"] != rr {
		t.Error("a priority change restarted the router")
	}
	waitFor(t, "A's new priority", func() bool { return a.instance("VI_1").Priority == 160 })
	if after := a.instance("VI_1"); after.Transitions != before.Transitions || after.State != "MASTER" {
		t.Errorf("reload flapped: before %+v after %+v", before, after)
	}

	// Graceful stop: A resigns, B takes over at once, A's VIPs are gone, STOP notified.
	a.d.stop()
	aStopped = true
	if got := a.vips.list(); len(got) != 0 {
		t.Errorf("A kept %v after stop", got)
	}
	if !slices.Contains(a.scripts(), "/notify inst INSTANCE VI_1 STOP 160") {
		t.Errorf("no STOP notification: %q", a.scripts())
	}
	waitFor(t, "B takes over", func() bool { return len(b.vips.list()) == 2 })
	if in := b.instance("VI_1"); in.State != "MASTER" {
		t.Errorf("B: %+v", in)
	}
}

// TestStaleVIPCleanup: start removes what an earlier run left.
func TestStaleVIPCleanup(t *testing.T) {
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	h.vips.stale = []vip.Address{{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.250/32")}}
	if err := h.d.start(context.Background(), readConf(t, conf("100"))); err != nil {
		t.Fatal(err)
	}
	h.d.stop()
	if len(h.vips.stale) != 0 {
		t.Error("stale VIPs were not cleaned up")
	}
}

// listener accepts TCP connections on loopback until the test ends.
func listener(t *testing.T) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	var once sync.Once
	stop := func() { once.Do(func() { ln.Close() }) }
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func table(t *testing.T, h *host) []ipvs.VirtualServer {
	t.Helper()
	c, err := ipvs.NewClient(h.ipvs.Dial())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ipvs.Table(snap)
}

func dests(t *testing.T, h *host) []string {
	var out []string
	for _, v := range table(t, h) {
		for _, d := range v.Destinations {
			out = append(out, v.Service.String()+" -> "+netip.AddrPortFrom(d.Address, d.Port).String()+" w"+strconv.Itoa(int(d.Weight)))
		}
	}
	slices.Sort(out)
	return out
}

const lvsConf = `
virtual_server 192.0.2.10 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum QUORUM
    sorry_server 198.51.100.99 80
    real_server UP {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server DOWN {
        weight 1
        INHIBIT
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`

func lvsText(up, down, quorum, inhibit string) string {
	r := strings.NewReplacer("UP", strings.Replace(up, ":", " ", 1), "DOWN", strings.Replace(down, ":", " ", 1),
		"QUORUM", quorum, "INHIBIT", inhibit)
	return r.Replace(lvsConf)
}

// TestLVSWiring programs a fake IPVS from virtual_server blocks with real TCP checks
// on loopback: a dead real server is removed (or kept at weight 0 with
// inhibit_on_failure), a lost quorum installs the sorry server, a reload touches only
// what changed, and a stop removes the service.
func TestLVSWiring(t *testing.T) {
	up, _ := listener(t)
	down := closedPort(t)
	svc := "TCP 192.0.2.10:80 -> "
	upDest := strings.Replace(up, "127.0.0.1", "127.0.0.1", 1)
	tests := []struct {
		name    string
		quorum  string
		inhibit string
		want    []string
	}{
		{"removed", "1", "", []string{svc + upDest + " w1"}},
		{"inhibit_on_failure", "1", "inhibit_on_failure", []string{svc + down + " w0", svc + upDest + " w1"}},
		{"quorum lost", "2", "", []string{svc + "198.51.100.99:80 w1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slices.Sort(tt.want)
			h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
			if err := h.d.start(context.Background(), readConf(t, lvsText(up, down, tt.quorum, tt.inhibit))); err != nil {
				t.Fatal(err)
			}
			defer h.d.stop()
			waitFor(t, "the dead real server's check fails", func() bool {
				return cmp.Equal(tt.want, dests(t, h))
			})
			if diff := cmp.Diff(tt.want, dests(t, h)); diff != "" {
				t.Errorf("IPVS (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("reload and stop", func(t *testing.T) {
		h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
		ctx := context.Background()
		if err := h.d.start(ctx, readConf(t, lvsText(up, down, "1", ""))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "one destination", func() bool { return len(dests(t, h)) == 1 })
		st := h.d.status()
		ops := st.IPVSOps
		// A new weight for the live server: one update, nothing else.
		text := strings.Replace(lvsText(up, down, "1", ""), "weight 1", "weight 3", 1)
		if err := h.d.reload(ctx, readConf(t, text)); err != nil {
			t.Fatal(err)
		}
		st = h.d.status()
		if got := st.IPVSOps["update destination"] - ops["update destination"]; got != 1 {
			t.Errorf("updates after the reload = %d, want 1 (ops %v)", got, st.IPVSOps)
		}
		if st.IPVSOps["create destination"] != ops["create destination"] || st.IPVSOps["delete destination"] != ops["delete destination"] {
			t.Errorf("reload re-created destinations: before %v after %v", ops, st.IPVSOps)
		}
		if diff := cmp.Diff([]string{svc + up + " w3"}, dests(t, h)); diff != "" {
			t.Errorf("IPVS (-want +got):\n%s", diff)
		}
		// Someone else's service is left alone.
		c, _ := ipvs.NewClient(h.ipvs.Dial())
		other := ipvs.Service{Protocol: ipvs.UDP, Address: netip.MustParseAddr("192.0.2.20"), Port: 53}
		if err := c.CreateService(ctx, other); err != nil {
			t.Fatal(err)
		}
		c.Close()
		h.d.stop()
		tb := table(t, h)
		if len(tb) != 1 || tb[0].Service.String() != other.String() {
			t.Errorf("after stop: %v", tb)
		}
	})
}

// TestSyncDaemonFollowsVRRP: with lvs_sync_daemon the kernel's sync daemon runs as
// backup until the instance is MASTER, then as master, and stops with the director.
func TestSyncDaemonFollowsVRRP(t *testing.T) {
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	text := "global_defs {\n    lvs_sync_daemon eth0 VI_1 id 7\n}\n" + strings.Replace(conf("100"), "vrrp_sync_group", "vrrp_sync_group_unused", 1)
	text = text[:strings.Index(text, "vrrp_sync_group_unused")] + text[strings.Index(text, "vrrp_instance VI_1"):]
	daemons := func() []string {
		c, err := ipvs.NewClient(h.ipvs.Dial())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ds, err := c.Daemons(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.State.String()+" "+d.Interface+" "+strconv.Itoa(int(d.SyncID)))
		}
		return out
	}
	if err := h.d.start(context.Background(), readConf(t, text)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "VI_1 MASTER", func() bool { return h.instance("VI_1").State == "MASTER" })
	waitFor(t, "sync daemon master", func() bool { return cmp.Equal([]string{"master eth0 7"}, daemons()) })

	// The metrics and the status file say so too.
	var m bytes.Buffer
	h.d.writeMetrics(&m)
	for _, line := range []string{
		`director_vrrp_state{instance="VI_1",state="MASTER"} 1`,
		`director_vrrp_state{instance="VI_1",state="BACKUP"} 0`,
		`director_vrrp_transitions_total{instance="VI_1"} 2`,
		`director_vrrp_vips_held{instance="VI_1"} 1`,
		"# TYPE director_vrrp_adverts_sent_total counter",
		`director_ipvs_ops_total{op="create_service"} 0`,
	} {
		if !strings.Contains(m.String(), line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, m.String())
		}
	}
	sf := filepath.Join(t.TempDir(), "status.json")
	if err := writeStatusFile(sf, h.d.status()); err != nil {
		t.Fatal(err)
	}
	var st Status
	b, _ := os.ReadFile(sf)
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"master"}, st.SyncDaemons); diff != "" || st.Instances[0].State != "MASTER" {
		t.Errorf("status file: %s (-want +got sync daemons):\n%s", b, diff)
	}
	h.d.stop()
	if got := daemons(); len(got) != 0 {
		t.Errorf("sync daemons after stop: %v", got)
	}
}

// TestCheckFlag is -t: a valid file exits 0, an invalid one 1 with file:line.
func TestCheckFlag(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(good, []byte(conf("100")), 0o644)
	os.WriteFile(bad, []byte("vrrp_instance VI_1 {\n    interface eth0\n    frobnicate 3\n}\n"), 0o644)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-t", "-f", good}, &out, &errb); err != nil {
		t.Fatalf("valid file: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "configuration OK (2 vrrp_instance, 0 virtual_server)") {
		t.Errorf("stdout = %q", out.String())
	}
	errb.Reset()
	if err := run(context.Background(), []string{"-t", "-f", bad}, &out, &errb); err == nil {
		t.Fatal("invalid file accepted")
	}
	if !strings.Contains(errb.String(), bad+":3: frobnicate") {
		t.Errorf("stderr does not name file:line: %q", errb.String())
	}
}

// TestSeedFilesRun: every keepalived.conf in the reader's testdata (the seeds'
// files and a file using every supported keyword) passes the director's own checks,
// and each instance builds a valid VRRP configuration.
func TestSeedFilesRun(t *testing.T) {
	if inGuest() {
		t.Skip("the kernel-test guest holds only the package's own testdata, not kaconf's")
	}
	files, _ := filepath.Glob("kaconf/testdata/*.conf")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, _, err := kaconf.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(cfg); err != nil {
				t.Fatal(err)
			}
			for _, v := range cfg.VirtualServers {
				for _, r := range v.RealServers {
					for i := range r.Checks {
						if hc := healthCheck(&r.Checks[i], v.Alpha); hc.Checker == nil {
							t.Errorf("%s: no checker built", r.Checks[i].Pos)
						}
					}
				}
			}
		})
	}
}
