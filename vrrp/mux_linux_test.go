package vrrp_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/vrrp"
)

// vethPair returns two namespaces joined by a veth pair, eth0 on both sides, with the
// addresses a and b (IPv4 /24 or IPv6 /64 without DAD).
func vethPair(t testing.TB, a, b netip.Addr) (*testenv.NetNS, *testenv.NetNS) {
	t.Helper()
	nsA, nsB := testenv.NewNetNS(t), testenv.NewNetNS(t)
	testenv.Veth(t, nsA, "eth0", nsB, "eth0")
	for _, x := range []struct {
		ns   *testenv.NetNS
		addr netip.Addr
	}{{nsA, a}, {nsB, b}} {
		if x.addr.Is6() {
			x.ns.MustExec(t, "ip", "addr", "add", x.addr.String()+"/64", "dev", "eth0", "nodad")
		} else {
			x.ns.MustExec(t, "ip", "addr", "add", x.addr.String()+"/24", "dev", "eth0")
		}
	}
	return nsA, nsB
}

func listenIn(t testing.TB, ns *testenv.NetNS, tc vrrp.TransportConfig) *vrrp.IPTransport {
	t.Helper()
	var tr *vrrp.IPTransport
	if err := ns.Do(func() (err error) {
		tr, err = vrrp.ListenIP(&tc)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestIntegrationMuxHundredInstances runs 100 instances (VRIDs 1..100) in four
// Routers per side, each side on ONE raw socket shared through a Mux, masters on one
// side of a veth pair and backups on the other; then the masters resign.
func TestIntegrationMuxHundredInstances(t *testing.T) {
	testenv.RequireRoot(t)
	addrA, addrB := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	nsA, nsB := vethPair(t, addrA, addrB)
	const routers, per = 4, 25
	side := func(ns *testenv.NetNS, name string, prio uint8, primary netip.Addr) (*vrrp.Mux, []*vrrp.Router, func()) {
		m := vrrp.NewMux(listenIn(t, ns, vrrp.TransportConfig{Interface: "eth0"}))
		t.Cleanup(func() { m.Close() })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, routers)
		var rs []*vrrp.Router
		for i := range routers {
			var cs []vrrp.Config
			var vrids []uint8
			for j := range per {
				v := uint8(1 + i*per + j)
				c := vrrp.Config{Name: fmt.Sprintf("%s%d", name, v), VRID: v, Priority: prio, AdvertInterval: 100 * time.Millisecond, Primary: primary,
					Addrs: []netip.Addr{netip.AddrFrom4([4]byte{203, 0, 113, v})}}
				if i == routers-1 {
					c.SyncGroup = "g" // one Router runs a sync group
				}
				cs = append(cs, c)
				vrids = append(vrids, v)
			}
			ep, err := m.Attach(vrids, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: cs, Transport: ep, EventBuffer: 1024})
			if err != nil {
				t.Fatal(err)
			}
			go func() { done <- r.Run(ctx) }()
			rs = append(rs, r)
		}
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			for range routers {
				if err := <-done; err != nil {
					t.Errorf("%s: Run: %v", name, err)
				}
			}
		}
		t.Cleanup(stop)
		return m, rs, stop
	}
	_, masters, stopMasters := side(nsA, "a", 200, addrA)
	mb, backups, _ := side(nsB, "b", 100, addrB)

	count := func(rs []*vrrp.Router, s vrrp.State) int {
		n := 0
		for _, r := range rs {
			for _, st := range r.Snapshot() {
				if st.State == s {
					n++
				}
			}
		}
		return n
	}
	waitCount := func(rs []*vrrp.Router, s vrrp.State, want int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for count(rs, s) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d instances %v, want %d", count(rs, s), s, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCount(masters, vrrp.StateMaster, routers*per)
	waitCount(backups, vrrp.StateBackup, routers*per)
	before := mb.Counters()
	time.Sleep(time.Second) // ten advert intervals of steady state
	if m, b := count(masters, vrrp.StateMaster), count(backups, vrrp.StateBackup); m != routers*per || b != routers*per {
		t.Fatalf("steady state: %d masters, %d backups, want %d each", m, b, routers*per)
	}
	c := mb.Counters()
	if c.Read-before.Read < routers*per*5 {
		t.Errorf("backup mux read %d packets in 1 s, want at least %d", c.Read-before.Read, routers*per*5)
	}
	// One socket, one read per packet: every packet the backups' Routers saw was read
	// once by the Mux and handed to exactly one of them.
	var rx uint64
	for i, r := range backups {
		rc := r.Counters()
		rx += rc.RxPackets
		if rc.Drops[vrrp.DropVRID] != 0 || rc.RxAdverts != rc.RxPackets {
			t.Errorf("backup router %d: %+v, want only its own valid adverts", i, rc)
		}
	}
	c = mb.Counters()
	if c.DropNoEndpoint != 0 || c.DropQueueFull != 0 || c.DropSource != 0 {
		t.Errorf("backup mux %+v, want no drops", c)
	}
	if rx > c.Delivered || c.Delivered-rx > routers*muxSlack {
		t.Errorf("routers read %d packets, the mux delivered %d", rx, c.Delivered)
	}

	stopMasters() // every master resigns with priority 0
	waitCount(backups, vrrp.StateMaster, routers*per)
}

// muxSlack is how many delivered packets a Router may not have read yet.
const muxSlack = 32

// TestIntegrationIPTransportAllocs sends adverts between two namespaces with the kernel
// transport and checks the packet info and that neither WriteTo nor ReadFrom allocates.
func TestIntegrationIPTransportAllocs(t *testing.T) {
	testenv.RequireRoot(t)
	tests := []struct {
		name string
		a, b netip.Addr
		dst  netip.Addr
		v6   bool
	}{
		{"IPv4 multicast", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), vrrp.MulticastIPv4, false},
		{"IPv4 unicast", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.2"), false},
		{"IPv6 multicast", netip.MustParseAddr("fe80::a"), netip.MustParseAddr("fe80::b"), vrrp.MulticastIPv6, true},
		{"IPv6 unicast", netip.MustParseAddr("fe80::a"), netip.MustParseAddr("fe80::b"), netip.MustParseAddr("fe80::b"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nsA, nsB := vethPair(t, tt.a, tt.b)
			ta := listenIn(t, nsA, vrrp.TransportConfig{Interface: "eth0", IPv6: tt.v6})
			t.Cleanup(func() { ta.Close() })
			tb := listenIn(t, nsB, vrrp.TransportConfig{Interface: "eth0", IPv6: tt.v6})
			t.Cleanup(func() { tb.Close() })
			vipAddr := netip.MustParseAddr("203.0.113.1")
			if tt.v6 {
				vipAddr = netip.MustParseAddr("2001:db8::1")
			}
			adv := vrrp.Advert{Version: 3, Type: vrrp.TypeAdvertisement, VRID: 9, Priority: 200, Interval: 100, Addrs: []netip.Addr{vipAddr}}
			pkt, err := adv.Append(nil, tt.a, tt.dst)
			if err != nil {
				t.Fatal(err)
			}
			if err := tb.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			var got vrrp.Advert
			roundTrip := func() {
				if err := ta.WriteTo(pkt, tt.a, tt.dst); err != nil {
					t.Fatal(err)
				}
				n, info, err := tb.ReadFrom(buf)
				if err != nil {
					t.Fatal(err)
				}
				if info.Src != tt.a || info.Dst != tt.dst || info.TTL != 255 {
					t.Fatalf("received from %v to %v TTL %d, want from %v to %v TTL 255", info.Src, info.Dst, info.TTL, tt.a, tt.dst)
				}
				if err := vrrp.Parse(buf[:n], info.Src, info.Dst, &got); err != nil || got.VRID != 9 || got.Priority != 200 {
					t.Fatalf("received %d bytes: %v, %v", n, &got, err)
				}
			}
			roundTrip() // the first calls make the reused scratch and Addrs room
			if allocs := testing.AllocsPerRun(200, roundTrip); allocs != 0 {
				t.Errorf("%v allocations per WriteTo + ReadFrom, want 0", allocs)
			}
		})
	}
}

// BenchmarkIPTransportRoundTrip sends one IPv4 advert through a veth pair and reads
// it on the other side, with the kernel transport (root only).
func BenchmarkIPTransportRoundTrip(b *testing.B) {
	testenv.RequireRoot(b)
	a, bb := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	nsA, nsB := vethPair(b, a, bb)
	ta := listenIn(b, nsA, vrrp.TransportConfig{Interface: "eth0"})
	b.Cleanup(func() { ta.Close() })
	tb := listenIn(b, nsB, vrrp.TransportConfig{Interface: "eth0"})
	b.Cleanup(func() { tb.Close() })
	adv := vrrp.Advert{Version: 3, Type: vrrp.TypeAdvertisement, VRID: 9, Priority: 200, Interval: 100, Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.1")}}
	pkt, err := adv.Append(nil, a, vrrp.MulticastIPv4)
	if err != nil {
		b.Fatal(err)
	}
	if err := tb.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1500)
	b.ReportAllocs()
	for b.Loop() {
		if err := ta.WriteTo(pkt, a, vrrp.MulticastIPv4); err != nil {
			b.Fatal(err)
		}
		if _, _, err := tb.ReadFrom(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIntegrationBenchMuxCPU compares, for 250 instances at 0.1 s with one Router per
// instance (as a director that starts a Router per instance does), a raw socket per
// Router against one socket per side shared through a Mux: process CPU over 10 s of
// steady state, and how many backups wrongly became Master. Minutes; set
// LVSKIT_VRRP_BENCH=1. docs/benchmarks/vrrp.md records the results.
func TestIntegrationBenchMuxCPU(t *testing.T) {
	if os.Getenv("LVSKIT_VRRP_BENCH") == "" {
		t.Skip("set LVSKIT_VRRP_BENCH=1 to run the CPU measurement")
	}
	if testenv.InGuest() {
		t.Skip("measurements run on the host, not under emulation")
	}
	testenv.RequireRoot(t)
	const instances = 250
	const window = 10 * time.Second
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("mux=%v", shared), func(t *testing.T) {
			addrA, addrB := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
			nsA, nsB := vethPair(t, addrA, addrB)
			side := func(ns *testenv.NetNS, prio uint8, primary netip.Addr) []*vrrp.Router {
				var m *vrrp.Mux
				if shared {
					m = vrrp.NewMux(listenIn(t, ns, vrrp.TransportConfig{Interface: "eth0"}))
					t.Cleanup(func() { m.Close() })
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, instances)
				var rs []*vrrp.Router
				for i := 1; i <= instances; i++ {
					c := vrrp.Config{VRID: uint8(i), Priority: prio, AdvertInterval: 100 * time.Millisecond, Primary: primary,
						Addrs: []netip.Addr{netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})}}
					var tr vrrp.Transport
					if shared {
						ep, err := m.Attach([]uint8{c.VRID}, nil)
						if err != nil {
							t.Fatal(err)
						}
						tr = ep
					} else {
						tr = listenIn(t, ns, vrrp.TransportConfig{Interface: "eth0"})
					}
					r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: []vrrp.Config{c}, Transport: tr})
					if err != nil {
						t.Fatal(err)
					}
					go func() { done <- r.Run(ctx) }()
					rs = append(rs, r)
				}
				t.Cleanup(func() {
					cancel()
					for range rs {
						<-done
					}
				})
				return rs
			}
			masters := side(nsA, 200, addrA)
			backups := side(nsB, 100, addrB)
			time.Sleep(3 * time.Second)
			count := func(rs []*vrrp.Router, s vrrp.State) int {
				n := 0
				for _, r := range rs {
					if r.Snapshot()[0].State == s {
						n++
					}
				}
				return n
			}
			var rx0 uint64
			for _, r := range backups {
				rx0 += r.Counters().RxPackets
			}
			c0, t0 := selfCPU(), time.Now()
			time.Sleep(window)
			used, el := selfCPU()-c0, time.Since(t0)
			var rx uint64
			for _, r := range backups {
				rx += r.Counters().RxPackets
			}
			t.Logf("RESULT mux=%v %d Routers of one instance per side at 0.1s: CPU %v over %v = %.1f%% of one core; %d masters, %d backups in BACKUP (%d in MASTER); backup Routers read %d packets",
				shared, instances, used.Round(time.Millisecond), el.Round(time.Millisecond), 100*float64(used)/float64(el),
				count(masters, vrrp.StateMaster), count(backups, vrrp.StateBackup), count(backups, vrrp.StateMaster), rx-rx0)
			if shared && (count(masters, vrrp.StateMaster) != instances || count(backups, vrrp.StateBackup) != instances) {
				t.Errorf("with the Mux: %d masters and %d backups, want %d each", count(masters, vrrp.StateMaster), count(backups, vrrp.StateBackup), instances)
			}
		})
	}
}
