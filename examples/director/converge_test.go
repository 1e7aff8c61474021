package main

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// convConf is one instance with a VIP, an advert interval of ADVERT and a
// track_interface that the tests take down to move it out of MASTER.
const convConf = `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int ADVERT
    priority 150
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_interface {
        eth9
    }
    notify "/notify"
}
`

func convText(advert string) string { return strings.ReplaceAll(convConf, "ADVERT", advert) }

// startConv starts a lone host on convText(advert) and waits until it holds its VIP.
func startConv(t *testing.T, advert string) *host {
	t.Helper()
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, convText(advert))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.d.stop)
	waitFor(t, "MASTER with the VIP", func() bool {
		return h.instance("VI_1").State == "MASTER" && cmp.Equal([]string{"192.0.2.100/24 dev eth0"}, h.vips.list())
	})
	return h
}

func (h *host) countScripts(s string) int {
	n := 0
	for _, r := range h.scripts() {
		if r == s {
			n++
		}
	}
	return n
}

// within fails the test unless cond holds within d (polled every millisecond).
func within(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// TestLostEventsLeaveNothingBehind: with every VRRP event lost after the instance
// became MASTER, the VIP still goes when it leaves MASTER and comes back when it
// returns: the daemon reads the Routers' states, not their events.
func TestLostEventsLeaveNothingBehind(t *testing.T) {
	h := startConv(t, "0.1")
	var mu sync.Mutex
	var lost []vrrp.Event
	h.mu.Lock()
	h.events = func(ev vrrp.Event) []vrrp.Event {
		mu.Lock()
		lost = append(lost, ev)
		mu.Unlock()
		return nil
	}
	h.mu.Unlock()
	h.setLink(t, "eth9", false)
	waitFor(t, "FAULT", func() bool { return h.instance("VI_1").State == "FAULT" })
	// One advert interval for the state poll, with room for a loaded machine.
	within(t, time.Second, "the VIP removed without the MASTER->FAULT event", func() bool { return len(h.vips.list()) == 0 })
	h.setLink(t, "eth9", true)
	within(t, 2*time.Second, "the VIP back without the FAULT->MASTER event", func() bool { return len(h.vips.list()) == 1 })
	mu.Lock()
	n := len(lost)
	mu.Unlock()
	if n < 2 {
		t.Errorf("only %d events were lost: the test did not test lost events", n)
	}
	if got := h.countScripts("/notify INSTANCE VI_1 FAULT 150"); got != 0 {
		t.Errorf("notify FAULT ran %d times although its event was lost", got)
	}
}

// TestRepeatedEventsDoNotFlap: every event delivered three times adds the VIP once
// per MASTER period and removes it once per exit, never more.
func TestRepeatedEventsDoNotFlap(t *testing.T) {
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	h.events = func(ev vrrp.Event) []vrrp.Event { return []vrrp.Event{ev, ev, ev} }
	if err := h.d.start(context.Background(), readConf(t, convText("0.1"))); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	waitFor(t, "MASTER with the VIP", func() bool { return len(h.vips.list()) == 1 })
	waitFor(t, "the repeated MASTER events handled", func() bool { return h.countScripts("/notify INSTANCE VI_1 MASTER 150") == 3 })
	if err := h.d.rec.sync(); err != nil {
		t.Fatal(err)
	}
	if a, r := h.vips.adds.Load(), h.vips.removes.Load(); a != 1 || r != 0 {
		t.Errorf("after becoming MASTER: %d adds, %d removes; want 1, 0", a, r)
	}
	h.setLink(t, "eth9", false)
	waitFor(t, "the VIP removed", func() bool { return len(h.vips.list()) == 0 })
	waitFor(t, "the repeated FAULT events handled", func() bool { return h.countScripts("/notify INSTANCE VI_1 FAULT 150") == 3 })
	h.d.rec.sync()
	if a, r := h.vips.adds.Load(), h.vips.removes.Load(); a != 1 || r != 1 {
		t.Errorf("after FAULT: %d adds, %d removes; want 1, 1", a, r)
	}
}

// TestVIPDeletedFromOutside: a VIP an administrator deletes while MASTER is put
// back within one advert interval of the watcher's report, with a warning naming
// the address and the interface.
func TestVIPDeletedFromOutside(t *testing.T) {
	h := startConv(t, "1")
	a, _ := h.vips.find("192.0.2.100/24")
	adds := h.vips.adds.Load()
	if !h.vips.del("192.0.2.100/24") {
		t.Fatal("the fake lost the VIP")
	}
	a.Owned = true
	h.report(t, vip.Event{Kind: vip.AddressRemoved, Interface: "eth0", Address: a})
	took := within(t, time.Second, "the VIP back", func() bool { return len(h.vips.list()) == 1 })
	t.Logf("re-added %v after the report", took)
	if got := h.vips.adds.Load() - adds; got != 1 {
		t.Errorf("%d adds, want 1", got)
	}
	logs := h.logs.String()
	i := strings.Index(logs, "VIP removed from outside while MASTER")
	if i < 0 {
		t.Fatalf("no warning logged:\n%s", logs)
	}
	line := logs[strings.LastIndex(logs[:i], "\n")+1:]
	line = line[:strings.Index(line, "\n")]
	for _, want := range []string{"level=WARN", "addr=192.0.2.100/24", "interface=eth0", "instance=VI_1"} {
		if !strings.Contains(line, want) {
			t.Errorf("warning %q lacks %q", line, want)
		}
	}
	// The daemon's own removals, reported by the watcher, change nothing.
	h.setLink(t, "eth9", false)
	waitFor(t, "the VIP removed", func() bool { return len(h.vips.list()) == 0 })
	h.report(t, vip.Event{Kind: vip.AddressRemoved, Interface: "eth0", Address: a})
	h.d.rec.sync()
	if got := h.vips.list(); len(got) != 0 {
		t.Errorf("a report of the daemon's own removal brought back %v", got)
	}
}

// TestWatcherOverrun: after notifications were lost, the daemon lists the kernel's
// addresses and converges: a VIP deleted without a report comes back, and an owned
// address no MASTER wants goes.
func TestWatcherOverrun(t *testing.T) {
	h := startConv(t, "1")
	h.vips.del("192.0.2.100/24")
	left := vip.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.7/32")}
	h.vips.Add(context.Background(), left)
	h.d.rec.sync()
	if got := h.vips.list(); len(got) != 1 {
		t.Fatalf("without a report or a resync the daemon should not have noticed: %v", got)
	}
	lists := h.vips.lists.Load()
	h.report(t, vip.Event{Kind: vip.Overrun})
	want := []string{"192.0.2.100/24 dev eth0"}
	within(t, time.Second, "converged after the overrun", func() bool { return cmp.Equal(want, h.vips.list()) })
	if h.vips.lists.Load() == lists {
		t.Error("the overrun did not re-read the kernel's addresses")
	}
}

// TestHealthBurstOneReconcile: 1,000 health transitions arriving together are
// applied in a few reconciles, reading the kernel's table at most once, and the
// table ends as the last transitions say.
func TestHealthBurstOneReconcile(t *testing.T) {
	const servers, flips = 10, 100
	var rs strings.Builder
	var addrs []string
	for range servers {
		a, _ := listener(t)
		addrs = append(addrs, a)
		fmt.Fprintf(&rs, "    real_server %s {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 1\n            delay_loop 3600\n        }\n    }\n", hostPort(a))
	}
	conf := "virtual_server 192.0.2.10 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n" + rs.String() + "}\n"
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	waitFor(t, "every real server in the table", func() bool { return len(dests(t, h)) == servers })
	h.d.rec.sync()
	l := h.d.lvs
	reads, reqs := l.kernelReads(), h.ipvs.Requests()
	_, runs := h.d.rec.heldVIPs()

	// The scheduler's callbacks, as a burst: each server flips 100 times and ends up
	// for even indexes, down for odd ones.
	vc := &h.d.cfg.VirtualServers[0]
	var wg sync.WaitGroup
	for i := range servers {
		name := checkName(vc, &vc.RealServers[i], 0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range flips {
				up := j%2 == 1
				if j == flips-1 {
					up = i%2 == 0
				}
				l.onTransition(health.Transition{Name: name, Up: up})
			}
		}()
	}
	wg.Wait()
	if err := h.d.rec.sync(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, a := range addrs {
		if i%2 == 0 {
			want = append(want, "TCP 192.0.2.10:80 -> "+a+" w1")
		}
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, dests(t, h)); diff != "" {
		t.Errorf("table after the burst (-want +got):\n%s", diff)
	}
	_, runs2 := h.d.rec.heldVIPs()
	gotReads, gotReqs, gotRuns := l.kernelReads()-reads, h.ipvs.Requests()-reqs, runs2-runs
	t.Logf("%d transitions: %d reconciles, %d kernel table reads, %d IPVS requests", servers*flips, gotRuns, gotReads, gotReqs)
	if gotReads > 1 {
		t.Errorf("%d kernel table reads for one burst, want at most 1", gotReads)
	}
	// Each reconcile applies what changed since the previous one; a burst on two
	// cores can straddle a few, never one per transition.
	if gotRuns > 50 || gotReqs > 100 {
		t.Errorf("%d reconciles and %d IPVS requests for %d transitions: not coalesced", gotRuns, gotReqs, servers*flips)
	}
}

// TestHungRtnetlink: while the VIP backend hangs, the daemon answers /status at
// once and its VRRP router keeps advertising on time; when the backend recovers the
// VIP is added.
func TestHungRtnetlink(t *testing.T) {
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	h.vips.hang = make(chan struct{})
	if err := h.d.start(context.Background(), readConf(t, convText("0.1"))); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	srv, err := startHTTP("127.0.0.1:0", h.d, h.d.log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	waitFor(t, "MASTER", func() bool { return h.instance("VI_1").State == "MASTER" })
	cl := &http.Client{Timeout: time.Second}
	h.mu.Lock()
	ep := h.eps[0]
	h.mu.Unlock()
	sent := len(ep.Sent())
	start := time.Now()
	for time.Since(start) < time.Second {
		t0 := time.Now()
		resp, err := cl.Get("http://" + srv.ln.Addr().String() + "/status")
		if err != nil {
			t.Fatalf("/status while rtnetlink hangs: %v", err)
		}
		resp.Body.Close()
		if d := time.Since(t0); d > 500*time.Millisecond {
			t.Errorf("/status took %v while rtnetlink hangs", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	adverts := len(ep.Sent()) - sent
	// 0.1 s adverts over at least 1 s: at least 10, some slack for a loaded machine.
	if adverts < 8 {
		t.Errorf("%d adverts in 1 s while rtnetlink hangs, want about 10", adverts)
	}
	if got := h.vips.list(); len(got) != 0 {
		t.Fatalf("the hung backend added %v", got)
	}
	close(h.vips.hang)
	waitFor(t, "the VIP once rtnetlink answers", func() bool { return len(h.vips.list()) == 1 })
}

// TestOneSocketPerInterface: N instances over K interfaces (multicast and unicast,
// lone and in a sync group spanning interfaces) open exactly K VRRP sockets; a
// reload that drops an interface's last instance closes its socket, and a stop
// closes them all.
func TestOneSocketPerInterface(t *testing.T) {
	var b strings.Builder
	b.WriteString("vrrp_sync_group G {\n    group {\n        I1\n        I5\n    }\n}\n")
	ifs := []string{"eth0", "eth0", "eth0", "eth1", "eth1", "eth2"}
	for i, ifn := range ifs {
		fmt.Fprintf(&b, "vrrp_instance I%d {\n    interface %s\n    virtual_router_id %d\n    version 3\n    advert_int 0.1\n    priority 100\n", i, ifn, 10+i)
		if i == 2 {
			b.WriteString("    unicast_peer {\n        192.0.2.9\n    }\n")
		}
		fmt.Fprintf(&b, "    virtual_ipaddress {\n        203.0.113.%d/32\n    }\n}\n", i+1)
	}
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, b.String())); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			h.d.stop()
		}
	}()
	socks := func() []string {
		h.mu.Lock()
		defer h.mu.Unlock()
		s := slices.Clone(h.socks)
		slices.Sort(s)
		return s
	}
	if diff := cmp.Diff([]string{"eth0 v6=false", "eth1 v6=false", "eth2 v6=false"}, socks()); diff != "" {
		t.Errorf("sockets opened for 6 instances on 3 interfaces (-want +got):\n%s", diff)
	}
	waitFor(t, "every instance MASTER with its VIP", func() bool { return len(h.vips.list()) == len(ifs) })

	// Drop I5, eth2's only instance, and the sync group.
	text := b.String()
	text = text[:strings.Index(text, "vrrp_instance I5")]
	text = text[strings.Index(text, "vrrp_instance I0"):]
	if err := h.d.reload(context.Background(), readConf(t, text)); err != nil {
		t.Fatal(err)
	}
	if got := h.d.socks.count(); got != 2 {
		t.Errorf("%d sockets open after eth2's last instance went, want 2", got)
	}
	if n := len(socks()); n != 3 {
		// I1 left the group and restarted alone on eth0's socket, still open.
		t.Errorf("%d sockets opened in all, want still 3: %v", n, socks())
	}
	h.d.stop()
	stopped = true
	if got := h.d.socks.count(); got != 0 {
		t.Errorf("%d sockets open after stop", got)
	}
}

// TestStartFailsCleanly: a start that cannot reach rtnetlink returns the error, and
// the stop main runs after it returns at once.
func TestStartFailsCleanly(t *testing.T) {
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	h.d.deps.vips = func() (vipBackend, error) { return nil, fmt.Errorf("no rtnetlink here") }
	err := h.d.start(context.Background(), readConf(t, convText("1")))
	if err == nil || !strings.Contains(err.Error(), "no rtnetlink here") {
		t.Fatalf("start: %v", err)
	}
	done := make(chan struct{})
	go func() { h.d.stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stop after a failed start hung")
	}
}

// TestReorderedEventsConverge: with every pair of events delivered in the wrong
// order (and the last one of an odd count held back for good), the VIP still
// follows the instance's real state after each change.
func TestReorderedEventsConverge(t *testing.T) {
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	var held *vrrp.Event
	h.events = func(ev vrrp.Event) []vrrp.Event {
		if held == nil {
			held = &ev
			return nil
		}
		out := []vrrp.Event{ev, *held}
		held = nil
		return out
	}
	if err := h.d.start(context.Background(), readConf(t, convText("0.1"))); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	waitFor(t, "MASTER with the VIP", func() bool { return len(h.vips.list()) == 1 })
	for i := range 5 {
		h.setLink(t, "eth9", false)
		waitFor(t, fmt.Sprintf("round %d: FAULT", i), func() bool { return h.instance("VI_1").State == "FAULT" })
		within(t, time.Second, fmt.Sprintf("round %d: the VIP removed", i), func() bool { return len(h.vips.list()) == 0 })
		h.setLink(t, "eth9", true)
		waitFor(t, fmt.Sprintf("round %d: MASTER", i), func() bool { return h.instance("VI_1").State == "MASTER" })
		within(t, time.Second, fmt.Sprintf("round %d: the VIP back", i), func() bool { return len(h.vips.list()) == 1 })
	}
}
