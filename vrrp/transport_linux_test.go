package vrrp_test

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/vrrp"
	"golang.org/x/net/ipv4"
)

// nsRouter runs a Router whose transport was opened inside ns.
type nsRouter struct {
	r      *vrrp.Router
	tr     *vrrp.IPTransport
	cancel context.CancelFunc
	done   chan error
}

func startNS(t *testing.T, ns *testenv.NetNS, tc vrrp.TransportConfig, cs ...vrrp.Config) *nsRouter {
	t.Helper()
	var tr *vrrp.IPTransport
	if err := ns.Do(func() (err error) {
		tr, err = vrrp.ListenIP(&tc)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: cs, Transport: tr})
	if err != nil {
		tr.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	nr := &nsRouter{r: r, tr: tr, cancel: cancel, done: make(chan error, 1)}
	go func() { nr.done <- r.Run(ctx) }()
	t.Cleanup(func() { nr.stop(t) })
	return nr
}

func (nr *nsRouter) stop(t *testing.T) {
	nr.cancel()
	if err := <-nr.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	nr.done <- nil
}

// waitState waits (generously: CI is loaded and runs -race) for an event into state.
func waitState(t *testing.T, nr *nsRouter, s vrrp.State, within time.Duration) vrrp.Event {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case ev, ok := <-nr.r.Events():
			if !ok {
				t.Fatalf("router stopped while waiting for %v", s)
			}
			if ev.To == s {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v within %v; now %+v", s, within, nr.r.Snapshot())
		}
	}
}

// capture runs tshark in ns for up to count VRRP packets from the address from and
// returns one line per packet: source, TTL or hop limit, version, priority, checksum status, destination.
func capture(t *testing.T, ns *testenv.NetNS, v6 bool, from netip.Addr, count int) chan []string {
	t.Helper()
	ttl, src, dst := "ip.ttl", "ip.src", "ip.dst"
	if v6 {
		ttl, src, dst = "ipv6.hlim", "ipv6.src", "ipv6.dst"
	}
	filter := "ip proto 112 and src host " + from.String()
	if v6 {
		filter = "ip6 proto 112 and src host " + from.String()
	}
	cmd := exec.Command("ip", "netns", "exec", ns.Name, "tshark", "-n", "-l", "-i", "eth0", "-c", strconv.Itoa(count), "-a", "duration:20",
		"-f", filter, "-o", "vrrp.v3_checksum_as_in_v2:FALSE",
		"-T", "fields", "-E", "separator=,", "-e", src, "-e", ttl, "-e", "vrrp.version", "-e", "vrrp.prio", "-e", "vrrp.checksum.status", "-e", dst)
	out := make(chan []string, 1)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := stdout.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		out <- strings.Fields(b.String())
	}()
	return out
}

func TestIntegrationTwoRouters(t *testing.T) {
	testenv.RequireRoot(t)
	tests := []struct {
		name     string
		v6       bool
		version  int
		interval time.Duration
		pass     string
		a, b     netip.Addr
		vip      netip.Addr
		unicast  bool
	}{
		{"v3 IPv4", false, 3, 100 * time.Millisecond, "", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.100"), false},
		{"v3 IPv6", true, 3, 100 * time.Millisecond, "", netip.MustParseAddr("fe80::a"), netip.MustParseAddr("fe80::b"), netip.MustParseAddr("2001:db8::100"), false},
		{"v2 IPv4 PASS", false, 2, time.Second, "secret", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.100"), false},
		{"v3 IPv4 unicast", false, 3, 100 * time.Millisecond, "", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.100"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seg := testenv.NewSegment(t)
			nsA, nsB := testenv.NewNetNS(t), testenv.NewNetNS(t)
			portA := seg.Attach(t, nsA, "eth0")
			seg.Attach(t, nsB, "eth0")
			for _, x := range []struct {
				ns   *testenv.NetNS
				addr netip.Addr
			}{{nsA, tt.a}, {nsB, tt.b}} {
				if tt.v6 {
					x.ns.MustExec(t, "ip", "addr", "add", x.addr.String()+"/64", "dev", "eth0", "nodad")
				} else {
					x.ns.MustExec(t, "ip", "addr", "add", x.addr.String()+"/24", "dev", "eth0")
				}
			}
			cfg := func(prio uint8, primary, peer netip.Addr) vrrp.Config {
				c := vrrp.Config{VRID: 42, Version: tt.version, Priority: prio, AdvertInterval: tt.interval, Primary: primary, Addrs: []netip.Addr{tt.vip}, AuthPass: tt.pass}
				if tt.unicast {
					c.Peers = []netip.Addr{peer}
				}
				return c
			}
			tc := func(peer netip.Addr) vrrp.TransportConfig {
				c := vrrp.TransportConfig{Interface: "eth0", IPv6: tt.v6}
				if tt.unicast {
					c.Peers = []netip.Addr{peer}
				}
				return c
			}
			a := startNS(t, nsA, tc(tt.b), cfg(150, tt.a, tt.b))
			b := startNS(t, nsB, tc(tt.a), cfg(100, tt.b, tt.a))
			mdi := vrrp.MasterDownInterval(tt.version, 150, tt.interval)
			waitState(t, a, vrrp.StateMaster, mdi+10*time.Second)
			time.Sleep(3 * tt.interval)
			if s := b.r.Snapshot()[0]; s.State != vrrp.StateBackup || s.MasterAddr != tt.a {
				t.Fatalf("b: %+v, want BACKUP following %v; counters a %+v b %+v", s, tt.a, a.r.Counters(), b.r.Counters())
			}
			if c := b.r.Counters(); c.RxAdverts == 0 {
				t.Fatalf("b received no adverts: %+v", c)
			}

			if tt.unicast {
				// The unicast transport joined no group: the TTL-64 multicast probe
				// below would not arrive, and nothing else may.
				if got := b.tr.Filtered(); got != 0 {
					t.Errorf("b filtered %d packets from its only peer", got)
				}
			} else if !tt.v6 {
				// Conformance 1 on a real kernel: an advert with TTL 64 is dropped.
				if err := nsA.Do(func() error { return sendTTL(tt.a, tt.version, tt.pass) }); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(10 * time.Second)
				for b.r.Counters().Drops[vrrp.DropTTL] == 0 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if c := b.r.Counters(); c.Drops[vrrp.DropTTL] != 1 {
					t.Errorf("TTL-64 advert: drops %v, want one %v", c.Drops, vrrp.DropTTL)
				}
			}

			// Cut a off the segment: b takes over after Master_Down_Interval.
			var packets chan []string
			if _, err := exec.LookPath("tshark"); err == nil {
				packets = capture(t, nsB, tt.v6, tt.b, 3)
				time.Sleep(2 * time.Second) // let tshark start capturing
			}
			seg.Hub().MustExec(t, "ip", "link", "set", portA, "down")
			ev := waitState(t, b, vrrp.StateMaster, vrrp.MasterDownInterval(tt.version, 100, tt.interval)+10*time.Second)
			if ev.Reason != vrrp.ReasonTimeout {
				t.Errorf("takeover reason %v, want %v", ev.Reason, vrrp.ReasonTimeout)
			}
			if packets == nil {
				t.Log("tshark not installed: adverts not decoded")
				return
			}
			var lines []string
			select {
			case lines = <-packets:
			case <-time.After(30 * time.Second):
				t.Fatal("tshark captured nothing")
			}
			// Lines from a (before the cut) may lead; b's own adverts must be there.
			found := 0
			for _, l := range lines {
				f := strings.Split(l, ",")
				if len(f) != 6 || f[0] != tt.b.String() {
					continue
				}
				found++
				dst := vrrp.MulticastIPv4
				switch {
				case tt.unicast:
					dst = tt.a
				case tt.v6:
					dst = vrrp.MulticastIPv6
				}
				want := []string{tt.b.String(), "255", strconv.Itoa(tt.version), "100", "1", dst.String()} // 1: checksum good
				if strings.Join(f, ",") != strings.Join(want, ",") {
					t.Errorf("tshark decoded %q, want %q (src, TTL, version, priority, checksum good, dst)", l, strings.Join(want, ","))
				}
			}
			if found == 0 {
				t.Errorf("tshark saw no advert from b: %q", lines)
			}
		})
	}
}

// sendTTL sends an otherwise valid high-priority advert from src with TTL 64.
func sendTTL(src netip.Addr, version int, pass string) error {
	c, err := net.ListenPacket("ip4:112", "0.0.0.0")
	if err != nil {
		return err
	}
	defer c.Close()
	p := ipv4.NewPacketConn(c)
	if err := p.SetMulticastTTL(64); err != nil {
		return err
	}
	ifi, err := net.InterfaceByName("eth0")
	if err != nil {
		return err
	}
	if err := p.SetMulticastInterface(ifi); err != nil {
		return err
	}
	a := vrrp.Advert{Version: uint8(version), VRID: 42, Priority: 254, Interval: 100, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	if version == 3 {
		a.Interval = 10
	}
	if pass != "" {
		a.AuthType = vrrp.AuthSimple
		copy(a.AuthData[:], pass)
	}
	b, err := a.Append(nil, src, vrrp.MulticastIPv4)
	if err != nil {
		return err
	}
	_, err = p.WriteTo(b, &ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: ifi.Index}, &net.IPAddr{IP: vrrp.MulticastIPv4.AsSlice()})
	return err
}

// TestIntegrationLinkDownFault takes the Master's own link down: the LinkWatcher puts
// it in FAULT, the Backup takes over after Master_Down_Interval, and when the link
// returns the Master preempts again.
func TestIntegrationLinkDownFault(t *testing.T) {
	testenv.RequireRoot(t)
	seg := testenv.NewSegment(t)
	nsA, nsB := testenv.NewNetNS(t), testenv.NewNetNS(t)
	seg.Attach(t, nsA, "eth0")
	seg.Attach(t, nsB, "eth0")
	ipA, ipB := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	nsA.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
	nsB.MustExec(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")
	cfg := func(name string, prio uint8, primary netip.Addr) vrrp.Config {
		return vrrp.Config{Name: name, VRID: 7, Priority: prio, AdvertInterval: 100 * time.Millisecond, Primary: primary, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	}
	tc := vrrp.TransportConfig{Interface: "eth0"}
	var w *vrrp.LinkWatcher
	if err := nsA.Do(func() (err error) {
		w, err = vrrp.WatchLink("eth0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if !w.Up() {
		t.Fatal("eth0 reported down")
	}
	a := startNS(t, nsA, tc, cfg("a", 150, ipA))
	b := startNS(t, nsB, tc, cfg("b", 100, ipB))
	ctx, cancel := context.WithCancel(context.Background())
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- w.Run(ctx, func(up bool) { a.r.SetInterfaceUp("a", up) })
	}()
	defer func() {
		cancel()
		if err := <-watchDone; err != nil {
			t.Errorf("LinkWatcher.Run: %v", err)
		}
	}()
	waitState(t, a, vrrp.StateMaster, 15*time.Second)

	nsA.MustExec(t, "ip", "link", "set", "eth0", "down")
	if ev := waitState(t, a, vrrp.StateFault, 15*time.Second); ev.Reason != vrrp.ReasonInterface {
		t.Errorf("FAULT for %v, want %v", ev.Reason, vrrp.ReasonInterface)
	}
	waitState(t, b, vrrp.StateMaster, 15*time.Second)

	nsA.MustExec(t, "ip", "link", "set", "eth0", "up")
	if ev := waitState(t, a, vrrp.StateBackup, 15*time.Second); ev.Reason != vrrp.ReasonInterface {
		t.Errorf("left FAULT for %v, want %v", ev.Reason, vrrp.ReasonInterface)
	}
	waitState(t, a, vrrp.StateMaster, 15*time.Second)
	waitState(t, b, vrrp.StateBackup, 15*time.Second)
}
