package vrrp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// feed is a shared Transport for Mux tests: the test queues packets with send, and
// ReadFrom returns them in order without allocating.
type feed struct {
	in   chan fed
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	sent []netip.Addr // destinations written to
}

type fed struct {
	data []byte
	info vrrp.PacketInfo
}

func newFeed() *feed { return &feed{in: make(chan fed, 4096), done: make(chan struct{})} }

func (f *feed) ReadFrom(b []byte) (int, vrrp.PacketInfo, error) {
	select {
	case p := <-f.in:
		return copy(b, p.data), p.info, nil
	case <-f.done:
		return 0, vrrp.PacketInfo{}, fmt.Errorf("feed: %w", net.ErrClosed)
	}
}

func (f *feed) WriteTo(b []byte, src, dst netip.Addr) error {
	select {
	case <-f.done:
		return fmt.Errorf("feed: %w", net.ErrClosed)
	default:
	}
	f.mu.Lock()
	f.sent = append(f.sent, dst)
	f.mu.Unlock()
	return nil
}

func (f *feed) Close() error {
	f.once.Do(func() { close(f.done) })
	return nil
}

// advert encodes a v3 IPv4 advert for vrid with priority prio from src.
func advert(t testing.TB, vrid, prio uint8, src netip.Addr) []byte {
	t.Helper()
	a := vrrp.Advert{Version: 3, Type: vrrp.TypeAdvertisement, VRID: vrid, Priority: prio, Interval: 100, Addrs: []netip.Addr{vip}}
	b, err := a.Append(nil, src, vrrp.MulticastIPv4)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *feed) send(data []byte, src netip.Addr) {
	f.in <- fed{data: data, info: vrrp.PacketInfo{Src: src, Dst: vrrp.MulticastIPv4, TTL: 255}}
}

// waitRead waits until the Mux has read n packets in total.
func waitRead(t *testing.T, m *vrrp.Mux, n uint64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); m.Counters().Read < n; {
		if time.Now().After(deadline) {
			t.Fatalf("mux read %d packets, want %d", m.Counters().Read, n)
		}
		time.Sleep(time.Millisecond)
	}
}

type got struct {
	VRID uint8
	Src  netip.Addr
}

// readN reads n packets from ep (which must have them queued already).
func readN(t *testing.T, ep vrrp.Transport, n int) []got {
	t.Helper()
	var out []got
	buf := make([]byte, 1500)
	for range n {
		k, info, err := ep.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if k < vrrp.HeaderLen {
			t.Fatalf("read %d bytes", k)
		}
		out = append(out, got{buf[1], info.Src})
	}
	return out
}

func mustAttach(t *testing.T, m *vrrp.Mux, vrids []uint8, peers ...netip.Addr) vrrp.Transport {
	t.Helper()
	ep, err := m.Attach(vrids, peers)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestMuxDemuxBySourceAndVRID(t *testing.T) {
	p1, p2, p3 := netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12"), netip.MustParseAddr("192.0.2.13")
	f := newFeed()
	m := vrrp.NewMux(f)
	defer m.Close()
	uni1 := mustAttach(t, m, []uint8{10}, p1)
	uni2 := mustAttach(t, m, []uint8{10, 11}, p2)
	multi := mustAttach(t, m, []uint8{10, 12})
	packets := []struct {
		vrid uint8
		src  netip.Addr
	}{
		{10, p1}, {10, p2}, {10, p3}, // one per endpoint of VRID 10
		{11, p2}, {11, p1}, // VRID 11 is unicast only: p1 is not its peer
		{12, p1}, // multicast endpoint, any source
		{13, p1}, // nobody's VRID
	}
	for _, p := range packets {
		f.send(advert(t, p.vrid, 100, p.src), p.src)
	}
	f.in <- fed{data: []byte{0x31, 10, 0}, info: vrrp.PacketInfo{Src: p1}}                                // short
	f.in <- fed{data: []byte{0x41, 10, 100, 1, 0, 100, 0, 0, 1, 2, 3, 4}, info: vrrp.PacketInfo{Src: p1}} // version 4
	waitRead(t, m, uint64(len(packets)+2))
	want := map[string][]got{
		"unicast p1": {{10, p1}},
		"unicast p2": {{10, p2}, {11, p2}},
		"multicast":  {{10, p3}, {12, p1}},
	}
	gotAll := map[string][]got{
		"unicast p1": readN(t, uni1, 1),
		"unicast p2": readN(t, uni2, 2),
		"multicast":  readN(t, multi, 2),
	}
	if diff := cmp.Diff(want, gotAll, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	wantC := vrrp.MuxCounters{Read: 9, Delivered: 5, DropNoEndpoint: 1, DropSource: 1, DropShort: 1, DropVersion: 1}
	if diff := cmp.Diff(wantC, m.Counters()); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
}

func TestMuxAttachConflicts(t *testing.T) {
	p1, p2 := netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12")
	tests := []struct {
		name    string
		first   []uint8
		fpeers  []netip.Addr
		second  []uint8
		speers  []netip.Addr
		wantErr string // empty: Attach succeeds
	}{
		{"same VRID multicast", []uint8{1, 5}, nil, []uint8{5}, nil, "VRID 5"},
		{"same VRID and peer", []uint8{7}, []netip.Addr{p1, p2}, []uint8{7}, []netip.Addr{p2}, "VRID 7"},
		{"same VRID other peer", []uint8{7}, []netip.Addr{p1}, []uint8{7}, []netip.Addr{p2}, ""},
		{"same VRID multicast and unicast", []uint8{7}, nil, []uint8{7}, []netip.Addr{p1}, ""},
		{"distinct VRIDs", []uint8{1, 2}, nil, []uint8{3}, nil, ""},
		{"VRID 0", []uint8{1}, nil, []uint8{0}, nil, "VRID 0"},
		{"no VRIDs", []uint8{1}, nil, nil, nil, "at least one VRID"},
		{"VRID twice", []uint8{1}, nil, []uint8{2, 2}, nil, "VRID 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := vrrp.NewMux(newFeed())
			defer m.Close()
			mustAttach(t, m, tt.first, tt.fpeers...)
			_, err := m.Attach(tt.second, tt.speers)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Attach: %v", err)
				}
				return
			}
			if !errors.Is(err, vrrp.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Attach error %v, want ErrInvalidConfig naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestMuxEndpointCloseFreesVRIDs(t *testing.T) {
	src := netip.MustParseAddr("192.0.2.11")
	f := newFeed()
	m := vrrp.NewMux(f)
	defer m.Close()
	a := mustAttach(t, m, []uint8{1, 2})
	other := mustAttach(t, m, []uint8{3})
	if _, err := m.Attach([]uint8{2}, nil); err == nil {
		t.Fatal("VRID 2 attached twice")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.ReadFrom(make([]byte, 100)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadFrom on a closed endpoint: %v, want net.ErrClosed", err)
	}
	if err := a.WriteTo([]byte{1}, src, vrrp.MulticastIPv4); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteTo on a closed endpoint: %v, want net.ErrClosed", err)
	}
	f.send(advert(t, 1, 100, src), src) // nobody's now
	f.send(advert(t, 3, 100, src), src)
	waitRead(t, m, 2)
	if diff := cmp.Diff([]got{{3, src}}, readN(t, other, 1), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("the other endpoint after a Close (-want +got):\n%s", diff)
	}
	if c := m.Counters(); c.DropNoEndpoint != 1 || c.Delivered != 1 {
		t.Errorf("counters %+v, want the VRID 1 advert dropped for no endpoint", c)
	}
	b := mustAttach(t, m, []uint8{1, 2}) // free again
	f.send(advert(t, 2, 100, src), src)
	if diff := cmp.Diff([]got{{2, src}}, readN(t, b, 1), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("reattached endpoint (-want +got):\n%s", diff)
	}
	// The shared transport is still open: writes go through.
	if err := other.WriteTo([]byte{1}, src, vrrp.MulticastIPv4); err != nil {
		t.Errorf("WriteTo through the shared transport: %v", err)
	}
}

func TestMuxCloseEndsEveryEndpoint(t *testing.T) {
	f := newFeed()
	m := vrrp.NewMux(f)
	errs := make(chan error, 3)
	var eps []vrrp.Transport
	for v := range uint8(3) {
		ep := mustAttach(t, m, []uint8{v + 1})
		eps = append(eps, ep)
		go func() {
			_, _, err := ep.ReadFrom(make([]byte, 1500))
			errs <- err
		}()
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("ReadFrom after Mux.Close: %v, want net.ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("ReadFrom still blocked after Mux.Close")
		}
	}
	select {
	case <-f.done:
	default:
		t.Error("Mux.Close left the shared transport open")
	}
	if err := eps[0].WriteTo([]byte{1}, addrA, vrrp.MulticastIPv4); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteTo after Mux.Close: %v, want net.ErrClosed", err)
	}
	if _, err := m.Attach([]uint8{9}, nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Attach after Mux.Close: %v, want net.ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestMuxFullQueueDrops: an endpoint nobody reads fills up and drops, counted, while
// the Mux keeps delivering to the others.
func TestMuxFullQueueDrops(t *testing.T) {
	src := netip.MustParseAddr("192.0.2.11")
	f := newFeed()
	m := vrrp.NewMux(f)
	defer m.Close()
	mustAttach(t, m, []uint8{1}) // never read
	busy := mustAttach(t, m, []uint8{2})
	stuck := advert(t, 1, 100, src)
	const extra = 10
	// Far more than any queue holds, interleaved with packets for the busy endpoint,
	// which the test reads as they come.
	total, stuckSent := 0, 0
	buf := make([]byte, 1500)
	for i := range 100 + extra {
		f.send(stuck, src)
		stuckSent++
		f.send(advert(t, 2, uint8(i+1), src), src)
		total += 2
		n, _, err := busy.ReadFrom(buf)
		if err != nil || n < vrrp.HeaderLen || buf[2] != uint8(i+1) {
			t.Fatalf("busy endpoint, packet %d: %d bytes, priority %d, %v", i, n, buf[2], err)
		}
	}
	waitRead(t, m, uint64(total))
	c := m.Counters()
	if c.DropQueueFull == 0 || c.Delivered+c.DropQueueFull != uint64(total) {
		t.Errorf("counters %+v: want the stuck endpoint's overflow counted and everything else delivered", c)
	}
	if got := c.Delivered - uint64(100+extra); got+c.DropQueueFull != uint64(stuckSent) {
		t.Errorf("stuck endpoint: %d queued + %d dropped, want %d", got, c.DropQueueFull, stuckSent)
	}
}

// muxRouters runs one Router per group of instances, all over one Mux on tr.
func muxRouters(t *testing.T, tr vrrp.Transport, groups ...[]vrrp.Config) (*vrrp.Mux, []*running) {
	t.Helper()
	m := vrrp.NewMux(tr)
	t.Cleanup(func() { m.Close() })
	var rs []*running
	for _, cs := range groups {
		var vrids []uint8
		for _, c := range cs {
			vrids = append(vrids, c.VRID)
		}
		ep, err := m.Attach(vrids, nil)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, run(t, ep, 0, cs...))
	}
	return m, rs
}

// TestMuxRoutersElect runs three Routers per host, each host on one shared transport,
// and checks the election, that each Router sees only its own VRIDs, and a takeover.
func TestMuxRoutersElect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := vrrptest.NewNetwork()
		groups := func(name string, prio uint8, primary netip.Addr) [][]vrrp.Config {
			return [][]vrrp.Config{
				{inst(name+"1", 1, prio, primary, nil), inst(name+"2", 2, prio, primary, nil)},
				{inst(name+"3", 3, prio, primary, nil)},
				{inst(name+"4", 4, prio, primary, nil), inst(name+"5", 5, prio, primary, nil)},
			}
		}
		ga := groups("a", 200, addrA)
		ga[2] = append(ga[2], inst("a9", 9, 200, addrA, nil)) // a VRID host B does not run
		_, as := muxRouters(t, nw.Attach(addrA), ga...)
		mb, bs := muxRouters(t, nw.Attach(addrB), groups("b", 100, addrB)...)
		time.Sleep(2 * time.Second)
		want := []vrrp.State{vrrp.StateMaster, vrrp.StateMaster, vrrp.StateMaster, vrrp.StateMaster, vrrp.StateMaster, vrrp.StateMaster}
		if diff := cmp.Diff(want, states(as...)); diff != "" {
			t.Fatalf("host A (-want +got):\n%s", diff)
		}
		want = []vrrp.State{vrrp.StateBackup, vrrp.StateBackup, vrrp.StateBackup, vrrp.StateBackup, vrrp.StateBackup}
		if diff := cmp.Diff(want, states(bs...)); diff != "" {
			t.Fatalf("host B (-want +got):\n%s", diff)
		}
		for i, r := range bs {
			c := r.r.Counters()
			if c.RxPackets == 0 || c.RxAdverts != c.RxPackets || c.Drops[vrrp.DropVRID] != 0 {
				t.Errorf("host B router %d: %+v; want only its own adverts", i, c)
			}
		}
		if c := mb.Counters(); c.DropNoEndpoint == 0 || c.Delivered+c.DropNoEndpoint != c.Read || c.DropQueueFull != 0 {
			t.Errorf("host B mux %+v: want VRID 9 dropped there and everything else delivered", c)
		}
		for _, r := range as {
			r.stop(t) // resign
		}
		time.Sleep(time.Second)
		want = []vrrp.State{vrrp.StateMaster, vrrp.StateMaster, vrrp.StateMaster, vrrp.StateMaster, vrrp.StateMaster}
		if diff := cmp.Diff(want, states(bs...)); diff != "" {
			t.Fatalf("host B after A resigned (-want +got):\n%s", diff)
		}
	})
}

// recvPath feeds a Mux with adverts for several Routers of Backups (or one Router
// without a Mux) and waits until
// the Routers have accepted each batch.
type recvPath struct {
	f       *feed
	routers []*vrrp.Router
	pkts    []fed
	cancel  context.CancelFunc
	done    chan error
	sent    uint64
}

// With a nil Mux there is one Router, directly on the feed.
func newRecvPath(tb testing.TB, withMux bool, routers, perRouter int) *recvPath {
	peer := netip.MustParseAddr("192.0.2.200")
	p := &recvPath{f: newFeed(), done: make(chan error, routers)}
	var m *vrrp.Mux
	if withMux {
		m = vrrp.NewMux(p.f)
	} else {
		routers = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for i := range routers {
		var cs []vrrp.Config
		var vrids []uint8
		for j := range perRouter {
			v := uint8(1 + i*perRouter + j)
			vrids = append(vrids, v)
			cs = append(cs, inst(fmt.Sprintf("i%d", v), v, 100, addrB, func(c *vrrp.Config) { c.AdvertInterval = time.Second }))
			p.pkts = append(p.pkts, fed{data: advert(tb, v, 200, peer), info: vrrp.PacketInfo{Src: peer, Dst: vrrp.MulticastIPv4, TTL: 255}})
		}
		var ep vrrp.Transport = p.f
		if m != nil {
			var err error
			if ep, err = m.Attach(vrids, nil); err != nil {
				tb.Fatal(err)
			}
		}
		r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: cs, Transport: ep})
		if err != nil {
			tb.Fatal(err)
		}
		p.routers = append(p.routers, r)
		go func() { p.done <- r.Run(ctx) }()
		<-r.Started()
	}
	tb.Cleanup(func() {
		p.cancel()
		for range p.routers {
			<-p.done
		}
		if m != nil {
			m.Close()
		}
	})
	// Warm up: every instance has seen its Master and slots have their capacity.
	for range 4 {
		p.batch(tb)
	}
	return p
}

// batch sends one advert per instance and waits until the Routers accepted them all.
func (p *recvPath) batch(tb testing.TB) {
	for _, x := range p.pkts {
		p.f.in <- x
	}
	p.sent += uint64(len(p.pkts))
	for deadline := time.Now().Add(10 * time.Second); ; {
		var rx uint64
		for _, r := range p.routers {
			rx += r.Counters().RxAdverts
		}
		if rx >= p.sent {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("routers accepted %d of %d adverts", rx, p.sent)
		}
		runtime.Gosched()
	}
}

// TestMuxRouterReceiveAllocs checks that a packet's way from the shared transport
// through the Mux to a Router (demux, queue, Parse, Machine, re-arming the
// Master_Down_Timer on the real clock) allocates nothing.
func TestMuxRouterReceiveAllocs(t *testing.T) {
	for _, withMux := range []bool{true, false} {
		t.Run(fmt.Sprintf("mux=%v", withMux), func(t *testing.T) {
			p := newRecvPath(t, withMux, 3, 8)
			allocs := testing.AllocsPerRun(50, func() { p.batch(t) })
			if allocs != 0 {
				t.Errorf("%v allocations per batch of %d adverts, want 0", allocs, len(p.pkts))
			}
			for i, r := range p.routers {
				for _, s := range r.Snapshot() {
					if s.State != vrrp.StateBackup {
						t.Errorf("router %d: %s is %v, want BACKUP", i, s.Name, s.State)
					}
				}
			}
		})
	}
}

// BenchmarkMuxRouterReceive measures one advert's way through the Mux and one of three
// Routers; an op is one advert, sent in batches of 24 (one per instance).
func BenchmarkMuxRouterReceive(b *testing.B) { benchReceive(b, true) }

// BenchmarkRouterReceive is BenchmarkMuxRouterReceive with one Router on the
// transport and no Mux.
func BenchmarkRouterReceive(b *testing.B) { benchReceive(b, false) }

func benchReceive(b *testing.B, withMux bool) {
	p := newRecvPath(b, withMux, 3, 8)
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += len(p.pkts) {
		p.batch(b)
	}
}

// An endpoint with a packet handler gets its packets in the Mux's goroutine, in
// order and without a queue: a burst far beyond the ring's size loses nothing, and
// ReadFrom then only reports the end.
func TestMuxPacketHandler(t *testing.T) {
	src := netip.MustParseAddr("192.0.2.11")
	f := newFeed()
	m := vrrp.NewMux(f)
	ep := mustAttach(t, m, []uint8{7})
	ph, ok := ep.(vrrp.PacketHandler)
	if !ok {
		t.Fatal("a Mux endpoint is not a vrrp.PacketHandler")
	}
	var mu sync.Mutex
	var prios []uint8
	if !ph.SetPacketHandler(func(b []byte, info vrrp.PacketInfo) {
		if info.Src != src {
			t.Errorf("handler got source %v, want %v", info.Src, src)
		}
		mu.Lock()
		prios = append(prios, b[2])
		mu.Unlock()
	}) {
		t.Fatal("SetPacketHandler = false")
	}
	const n = 500 // the ring holds 32
	for i := range n {
		f.send(advert(t, 7, uint8(i%250+1), src), src)
	}
	// Delivered counts a handled packet after its handler returned.
	for deadline := time.Now().Add(10 * time.Second); m.Counters().Delivered < n; {
		if time.Now().After(deadline) {
			t.Fatalf("counters %+v: want %d delivered", m.Counters(), n)
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	if len(prios) != n {
		t.Errorf("handler got %d packets, want %d", len(prios), n)
	}
	for i, p := range prios {
		if p != uint8(i%250+1) {
			t.Fatalf("packet %d has priority %d, want %d: out of order", i, p, i%250+1)
		}
	}
	mu.Unlock()
	if c := m.Counters(); c.Delivered != n || c.DropQueueFull != 0 {
		t.Errorf("counters %+v: want all %d delivered, none dropped", c, n)
	}
	errc := make(chan error, 1)
	go func() {
		_, _, err := ep.ReadFrom(make([]byte, 1500))
		errc <- err
	}()
	m.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadFrom after Mux.Close = %v, want net.ErrClosed", err)
	}
}
