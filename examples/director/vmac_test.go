package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// fakeVMACs is an in-memory vmacBackend: the kernel's macvlans and IPv4 sysctls.
// ops records what was done, with the transports the host opened, in order.
type fakeVMACs struct {
	mu     sync.Mutex
	links  map[string]vip.MACVLAN
	index  map[string]int
	next   int
	sysctl map[string]int
	ops    *[]string
	closed bool
	// down are macvlans set down from outside; ensures counts Ensure calls and
	// linkReads Links calls.
	down      map[string]bool
	ensures   int
	linkReads int
}

func newFakeVMACs(ops *[]string, ifaces ...string) *fakeVMACs {
	f := &fakeVMACs{links: map[string]vip.MACVLAN{}, index: map[string]int{}, next: 10, sysctl: map[string]int{}, ops: ops,
		down: map[string]bool{}}
	for _, s := range []string{"all", "default"} {
		f.sysctl[ipv4Conf(s, "rp_filter")] = 0
	}
	for _, i := range ifaces {
		f.addIface(i)
	}
	return f
}

// addIface gives an interface its IPv4 sysctls, all 0. f.mu is held or unshared.
func (f *fakeVMACs) addIface(name string) {
	for _, k := range []string{"arp_ignore", "arp_filter", "rp_filter", "accept_local", "promote_secondaries"} {
		f.sysctl[ipv4Conf(name, k)] = 0
	}
	f.sysctl["net/ipv6/conf/"+name+"/disable_ipv6"] = 0
}

func (f *fakeVMACs) Ensure(_ context.Context, m vip.MACVLAN) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ensures++
	if have, ok := f.links[m.Name]; ok {
		delete(f.down, m.Name) // brought up
		if have.Parent != m.Parent || !bytes.Equal(have.MAC, m.MAC) {
			return 0, fmt.Errorf("fake: %s: %w", m.Name, vip.ErrNotMACVLAN)
		}
		return f.index[m.Name], nil
	}
	if _, ok := f.sysctl[ipv4Conf(m.Parent, "arp_ignore")]; !ok {
		return 0, fmt.Errorf("fake: parent %s: %w", m.Parent, vip.ErrUnknownInterface)
	}
	f.next++
	f.links[m.Name], f.index[m.Name] = m, f.next
	f.addIface(m.Name)
	f.sysctl[ipv4Conf(m.Name, "rp_filter")] = f.sysctl[ipv4Conf("default", "rp_filter")]
	*f.ops = append(*f.ops, "create "+m.Name)
	return f.next, nil
}

func (f *fakeVMACs) Delete(_ context.Context, m vip.MACVLAN) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleteLocked(m.Name)
	return nil
}

func (f *fakeVMACs) deleteLocked(name string) {
	if _, ok := f.links[name]; !ok {
		return
	}
	delete(f.links, name)
	for k := range f.sysctl {
		if strings.Contains(k, "/"+name+"/") {
			delete(f.sysctl, k)
		}
	}
	*f.ops = append(*f.ops, "delete "+name)
}

// deleteOutside deletes a macvlan behind the director's back.
func (f *fakeVMACs) deleteOutside(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleteLocked(name)
}

func (f *fakeVMACs) Sysctl(path string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.sysctl[path]
	if !ok {
		return 0, fmt.Errorf("fake: %s: %w", path, errNoSysctl)
	}
	return v, nil
}

func (f *fakeVMACs) SetSysctl(path string, v int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sysctl[path]; !ok {
		return fmt.Errorf("fake: %s: %w", path, errNoSysctl)
	}
	f.sysctl[path] = v
	return nil
}

func (f *fakeVMACs) AddAddress(_ context.Context, iface string, p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.ops = append(*f.ops, "address "+p.String()+" "+iface)
	return nil
}

func (f *fakeVMACs) Links() (map[string]vmacLink, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.linkReads++
	out := map[string]vmacLink{}
	for name, m := range f.links {
		out[name] = vmacLink{index: f.index[name], up: !f.down[name], mac: string(m.MAC)}
	}
	return out, nil
}

func (f *fakeVMACs) List(context.Context) ([]vip.MACVLAN, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []vip.MACVLAN
	for _, m := range f.links {
		if m.Alias == vmacAlias {
			out = append(out, m)
		}
	}
	return out, nil
}

func (f *fakeVMACs) Interfaces() ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.sysctl {
		if rest, ok := strings.CutPrefix(k, "net/ipv4/conf/"); ok {
			name := rest[:strings.LastIndexByte(rest, '/')]
			if name != "all" && name != "default" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeVMACs) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

func (f *fakeVMACs) get(path string) int {
	v, _ := f.Sysctl(path)
	return v
}

func (f *fakeVMACs) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.links {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

const vmacDaemonConf = `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority 150
    VMAC
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24 dev eth1
    }
}
`

// TestDaemonVMAC drives the director's use_vmac on fakes: a reload that adds
// use_vmac creates the macvlan before the socket on it is opened, moves the VIP
// onto it and sets keepalived's sysctls (all.rp_filter moved onto default and the
// interfaces); a macvlan deleted from outside comes back with a new socket; stop
// deletes it and puts every sysctl back. A reload that renames it makes the new
// one before the socket on it and deletes the old one after its Router stopped.
func TestDaemonVMAC(t *testing.T) {
	n := vrrptest.NewNetwork()
	h := newHost(t, n, "192.0.2.1")
	var ops []string
	fv := newFakeVMACs(&ops, "lo", "eth0", "eth1")
	fv.sysctl[ipv4Conf("all", "rp_filter")] = 1
	fv.sysctl[ipv4Conf("eth0", "arp_ignore")] = 2
	fv.sysctl[ipv4Conf("lo", "rp_filter")] = 2
	h.d.deps.vmacs = func() (vmacBackend, error) { return fv, nil }
	open := h.d.deps.transport
	h.d.deps.transport = func(iface string, v6 bool) (vrrp.Transport, error) {
		fv.mu.Lock()
		ops = append(ops, "open "+iface)
		fv.mu.Unlock()
		return open(iface, v6)
	}
	ctx := context.Background()
	if err := h.d.start(ctx, readConf(t, strings.ReplaceAll(vmacDaemonConf, "VMAC", ""))); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	waitFor(t, "MASTER with the VIP on eth0", func() bool {
		return slices.Contains(h.vips.list(), "192.0.2.100/24 dev eth0")
	})

	if err := h.d.reload(ctx, readConf(t, strings.ReplaceAll(vmacDaemonConf, "VMAC", "use_vmac"))); err != nil {
		t.Fatal(err)
	}
	wantVIPs := []string{"192.0.2.100/24 dev vrrp.51", "192.0.2.101/24 dev eth1"}
	waitFor(t, "the VIP moves onto vrrp.51", func() bool { return slices.Equal(h.vips.list(), wantVIPs) })
	fv.mu.Lock()
	got := slices.Clone(ops)
	m := fv.links["vrrp.51"]
	fv.mu.Unlock()
	if diff := cmp.Diff([]string{"open eth0", "create vrrp.51", "open vrrp.51"}, got); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
	if want := (vip.MACVLAN{Name: "vrrp.51", Parent: "eth0", MAC: vip.VirtualMAC(51, false), Alias: vmacAlias}); !cmp.Equal(want, m) {
		t.Errorf("macvlan %+v, want %+v", m, want)
	}
	for path, want := range map[string]int{
		"net/ipv4/conf/vrrp.51/arp_ignore": 1, "net/ipv4/conf/vrrp.51/accept_local": 1,
		"net/ipv4/conf/vrrp.51/rp_filter": 0, "net/ipv4/conf/vrrp.51/promote_secondaries": 1,
		"net/ipv6/conf/vrrp.51/disable_ipv6": 1,
		"net/ipv4/conf/eth0/arp_ignore":      1, "net/ipv4/conf/eth0/arp_filter": 1,
		"net/ipv4/conf/all/rp_filter": 0, "net/ipv4/conf/default/rp_filter": 1,
		"net/ipv4/conf/eth0/rp_filter": 1, "net/ipv4/conf/eth1/rp_filter": 1, "net/ipv4/conf/lo/rp_filter": 2,
	} {
		if got := fv.get(path); got != want {
			t.Errorf("%s = %d, want %d", path, got, want)
		}
	}

	// Deleted from outside (its VIP goes with it): the watcher's report brings it
	// back at once, the socket on it is opened again, and so is the VIP.
	fv.deleteOutside("vrrp.51")
	h.vips.del("192.0.2.100/24 dev vrrp.51")
	h.report(t, vip.Event{Kind: vip.LinkDown, Interface: "vrrp.51"})
	h.report(t, vip.Event{Kind: vip.AddressRemoved, Address: vip.Address{Interface: "vrrp.51", Prefix: netip.MustParsePrefix("192.0.2.100/24")}})
	waitFor(t, "vrrp.51 and its socket come back", func() bool {
		fv.mu.Lock()
		defer fv.mu.Unlock()
		return slices.Equal(ops[len(ops)-3:], []string{"delete vrrp.51", "create vrrp.51", "open vrrp.51"})
	})
	waitFor(t, "the VIP is back on vrrp.51", func() bool { return slices.Equal(h.vips.list(), wantVIPs) })
	if s := h.instance("VI_1"); s.State != "MASTER" || s.VMAC != "vrrp.51" {
		t.Errorf("VI_1 is %s on macvlan %q after its macvlan came back, want MASTER on vrrp.51", s.State, s.VMAC)
	}

	// A reload that renames the macvlan: the new one exists before its socket opens,
	// the old one is deleted only after the Router on it has stopped.
	fv.mu.Lock()
	ops = nil
	fv.mu.Unlock()
	if err := h.d.reload(ctx, readConf(t, strings.ReplaceAll(vmacDaemonConf, "VMAC", "use_vmac vmac2"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the VIP moves onto vmac2", func() bool {
		return slices.Equal(h.vips.list(), []string{"192.0.2.100/24 dev vmac2", "192.0.2.101/24 dev eth1"})
	})
	waitFor(t, "vrrp.51 is deleted", func() bool { return slices.Equal(fv.names(), []string{"vmac2"}) })
	fv.mu.Lock()
	got = slices.Clone(ops)
	fv.mu.Unlock()
	if diff := cmp.Diff([]string{"create vmac2", "open vmac2", "delete vrrp.51"}, got); diff != "" {
		t.Errorf("operations of the rename (-want +got):\n%s", diff)
	}
	if v := fv.get("net/ipv4/conf/eth0/arp_ignore"); v != 1 {
		t.Errorf("eth0's arp_ignore is %d while vmac2 is on it, want 1", v)
	}

	h.d.stop()
	if got := fv.names(); len(got) != 0 {
		t.Errorf("macvlans left after stop: %v", got)
	}
	if got := h.vips.list(); len(got) != 0 {
		t.Errorf("VIPs left after stop: %v", got)
	}
	for path, want := range map[string]int{
		"net/ipv4/conf/eth0/arp_ignore": 2, "net/ipv4/conf/eth0/arp_filter": 0,
		"net/ipv4/conf/all/rp_filter": 1, "net/ipv4/conf/default/rp_filter": 0,
		"net/ipv4/conf/eth0/rp_filter": 0, "net/ipv4/conf/eth1/rp_filter": 0, "net/ipv4/conf/lo/rp_filter": 2,
	} {
		if got := fv.get(path); got != want {
			t.Errorf("after stop %s = %d, want %d", path, got, want)
		}
	}
	if !fv.closed {
		t.Error("the macvlan backend was not closed at stop")
	}
}

// TestVMACPlacement: with use_vmac the instance's addresses of its family with no
// dev or dev its interface go on the macvlan, others stay; its adverts use the
// macvlan unless vmac_xmit_base.
func TestVMACPlacement(t *testing.T) {
	vips := []kaconf.VIP{
		{Prefix: netip.MustParsePrefix("192.0.2.10/24")},
		{Prefix: netip.MustParsePrefix("192.0.2.11/24"), Dev: "eth0"},
		{Prefix: netip.MustParsePrefix("198.51.100.1/24"), Dev: "eth1"},
	}
	excluded := []kaconf.VIP{{Prefix: netip.MustParsePrefix("2001:db8::1/64")}}
	tests := []struct {
		name      string
		vmac      *kaconf.VMAC
		wantIfs   []string
		wantVRRP  string
		wantMACVL string
	}{
		{"none", nil, []string{"eth0", "eth0", "eth1", "eth0"}, "eth0", ""},
		{"default name", &kaconf.VMAC{}, []string{"vrrp.51", "vrrp.51", "eth1", "eth0"}, "vrrp.51", "vrrp.51"},
		{"named", &kaconf.VMAC{Name: "vmac1"}, []string{"vmac1", "vmac1", "eth1", "eth0"}, "vmac1", "vmac1"},
		{"xmit base", &kaconf.VMAC{XmitBase: true}, []string{"vrrp.51", "vrrp.51", "eth1", "eth0"}, "eth0", "vrrp.51"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &kaconf.Instance{Name: "VI_1", Interface: "eth0", VRID: 51, VIPs: vips, ExcludedVIPs: excluded, VMAC: tt.vmac}
			var ifs []string
			for _, a := range vipAddresses(in) {
				ifs = append(ifs, a.Interface)
			}
			if diff := cmp.Diff(tt.wantIfs, ifs); diff != "" {
				t.Errorf("VIP interfaces (-want +got):\n%s", diff)
			}
			if got := keyOf(in).iface; got != tt.wantVRRP {
				t.Errorf("adverts on %s, want %s", got, tt.wantVRRP)
			}
			s, ok := vmacOf(in)
			if ok != (tt.wantMACVL != "") || s.m.Name != tt.wantMACVL {
				t.Errorf("macvlan %q (%v), want %q", s.m.Name, ok, tt.wantMACVL)
			}
			if ok && (s.m.Parent != "eth0" || s.m.MAC.String() != "00:00:5e:00:01:33") {
				t.Errorf("macvlan on %s with %s, want on eth0 with 00:00:5e:00:01:33", s.m.Parent, s.m.MAC)
			}
		})
	}
}

// TestCheckUseVMAC: -t accepts use_vmac, IPv4 and IPv6; a label that would not
// start with the macvlan's name is refused at its line.
func TestCheckUseVMAC(t *testing.T) {
	tests := []struct {
		name, inst string
		wantErr    string
	}{
		{"ipv4", " use_vmac\n virtual_ipaddress {\n  192.0.2.10/24\n }\n", ""},
		{"ipv4 xmit base", " use_vmac vmac1\n vmac_xmit_base\n virtual_ipaddress {\n  192.0.2.10/24\n }\n", ""},
		{"ipv6 xmit base", " use_vmac\n vmac_xmit_base\n virtual_ipaddress {\n  2001:db8::10/64\n }\n", ""},
		{"ipv6", " use_vmac\n virtual_ipaddress {\n  2001:db8::10/64\n }\n", ""},
		{"label on the macvlan", " use_vmac\n virtual_ipaddress {\n  192.0.2.10/24 label vrrp.51:a\n }\n", ""},
		{"label of the interface", " use_vmac\n virtual_ipaddress {\n  192.0.2.10/24 label eth0:a\n }\n",
			":6: label eth0:a of 192.0.2.10/24: with use_vmac the address is on vrrp.51, and its label must start with vrrp.51"},
		{"label on another interface", " use_vmac\n virtual_ipaddress {\n  192.0.2.10/24 dev eth1 label eth1:a\n }\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "keepalived.conf")
			src := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n" + tt.inst + "}\n"
			if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err := checkFile(context.Background(), f, "", &stdout, &stderr)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("-t refused it: %v\n%s", err, stderr.String())
				}
				return
			}
			if err == nil || !strings.Contains(stderr.String(), f+tt.wantErr) {
				t.Errorf("-t: %v\n%s\nwant an error containing %q", err, stderr.String(), f+tt.wantErr)
			}
		})
	}
}

// TestRebindableSwap: a read blocked on a socket that is swapped out goes on with
// the new one, writes go to the new one, and Close closes whichever is current.
func TestRebindableSwap(t *testing.T) {
	n := vrrptest.NewNetwork()
	src := netip.MustParseAddr("192.0.2.9")
	var old vrrp.Transport = n.Attach(netip.MustParseAddr("192.0.2.1"))
	rb := &rebindable{}
	rb.cur.Store(&old)
	type read struct {
		b   []byte
		err error
	}
	got := make(chan read, 1)
	go func() {
		b := make([]byte, 64)
		k, _, err := rb.ReadFrom(b)
		got <- read{b[:k], err}
	}()
	fresh := n.Attach(netip.MustParseAddr("192.0.2.1"))
	rb.swap(fresh)
	fresh.Inject(vrrptest.Packet{Data: []byte("advert"), Src: src, Dst: vrrp.MulticastIPv4, TTL: 255})
	r := <-got
	if r.err != nil || string(r.b) != "advert" {
		t.Fatalf("read across the swap: %q, %v; want the new socket's packet", r.b, r.err)
	}
	if err := rb.WriteTo([]byte("mine"), netip.MustParseAddr("192.0.2.1"), vrrp.MulticastIPv4); err != nil {
		t.Fatal(err)
	}
	if s := fresh.Sent(); len(s) != 1 || string(s[0].Data) != "mine" {
		t.Errorf("the new socket sent %v, want the one write", s)
	}
	rb.Close()
	if _, _, err := fresh.ReadFrom(make([]byte, 8)); err == nil {
		t.Error("Close left the current socket open")
	}
}

// TestDaemonVMACIPv6: an IPv6 instance sending from its macvlan gets its source
// address (the interface's link-local one) on the macvlan before the socket on it
// is opened; with vmac_xmit_base it gets none and the socket is on the interface.
func TestDaemonVMACIPv6(t *testing.T) {
	const conf = `
vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority 150
    use_vmac
    XMIT
    virtual_ipaddress {
        2001:db8::100/64
    }
}
`
	tests := []struct {
		name, xmit string
		wantOps    []string
	}{
		{"from the macvlan", "", []string{"create vrrp.51", "address fe80::1/64 vrrp.51", "open vrrp.51"}},
		{"xmit base", "vmac_xmit_base", []string{"create vrrp.51", "open eth0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, vrrptest.NewNetwork(), "fe80::1")
			var ops []string
			fv := newFakeVMACs(&ops, "lo", "eth0")
			h.d.deps.vmacs = func() (vmacBackend, error) { return fv, nil }
			open := h.d.deps.transport
			h.d.deps.transport = func(iface string, v6 bool) (vrrp.Transport, error) {
				fv.mu.Lock()
				ops = append(ops, "open "+iface)
				fv.mu.Unlock()
				return open(iface, v6)
			}
			if err := h.d.start(context.Background(), readConf(t, strings.ReplaceAll(conf, "XMIT", tt.xmit))); err != nil {
				t.Fatal(err)
			}
			defer h.d.stop()
			waitFor(t, "the VIP is on vrrp.51", func() bool {
				return slices.Equal(h.vips.list(), []string{"2001:db8::100/64 dev vrrp.51"})
			})
			fv.mu.Lock()
			got := slices.Clone(ops)
			m := fv.links["vrrp.51"]
			fv.mu.Unlock()
			if diff := cmp.Diff(tt.wantOps, got); diff != "" {
				t.Errorf("operations (-want +got):\n%s", diff)
			}
			if m.MAC.String() != "00:00:5e:00:02:33" {
				t.Errorf("macvlan MAC %s, want the IPv6 virtual MAC 00:00:5e:00:02:33", m.MAC)
			}
			if v := fv.get("net/ipv4/conf/eth0/arp_ignore"); v != 0 {
				t.Errorf("an IPv6 macvlan set eth0's arp_ignore to %d", v)
			}
		})
	}
}

// TestNameVMACs: unnamed macvlans are named as keepalived 2.2.7 names them, in file
// order, around the names other instances use.
func TestNameVMACs(t *testing.T) {
	v4 := []kaconf.VIP{{Prefix: netip.MustParsePrefix("192.0.2.10/24")}}
	v6 := []kaconf.VIP{{Prefix: netip.MustParsePrefix("2001:db8::10/64")}}
	inst := func(name, iface string, vrid int, vips []kaconf.VIP, vmac string) kaconf.Instance {
		return kaconf.Instance{Name: name, Interface: iface, VRID: vrid, VIPs: vips, VMAC: &kaconf.VMAC{Name: vmac}}
	}
	tests := []struct {
		name  string
		insts []kaconf.Instance
		want  []string
	}{
		{"one", []kaconf.Instance{inst("A", "eth0", 51, v4, "")}, []string{"vrrp.51"}},
		{"IPv4 and IPv6 of one VRID", []kaconf.Instance{inst("A", "eth0", 51, v4, ""), inst("B", "eth0", 51, v6, "")},
			[]string{"vrrp.51", "vrrp6.51"}},
		{"three IPv6", []kaconf.Instance{inst("A", "eth0", 51, v6, ""), inst("B", "eth1", 51, v6, ""), inst("C", "eth2", 51, v6, "")},
			[]string{"vrrp.51", "vrrp6.51", "vrrp1.51"}},
		{"two IPv4", []kaconf.Instance{inst("A", "eth0", 51, v4, ""), inst("B", "eth1", 51, v4, "")},
			[]string{"vrrp.51", "vrrp1.51"}},
		{"named later in the file", []kaconf.Instance{inst("A", "eth0", 51, v4, ""), inst("B", "eth1", 52, v4, "vrrp.51")},
			[]string{"vrrp1.51", "vrrp.51"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &kaconf.Config{Instances: tt.insts}
			nameVMACs(cfg)
			var got []string
			for _, in := range cfg.Instances {
				got = append(got, in.VMAC.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVMACRecreatedAfterFailure: a macvlan deleted from outside that cannot be made
// again at once (its parent is gone too) gets its socket reopened when it can, and a
// reopen that fails is tried again at the next reconcile.
func TestVMACRecreatedAfterFailure(t *testing.T) {
	var ops []string
	fv := newFakeVMACs(&ops, "eth0")
	r := newReconciler(slog.New(slog.DiscardHandler), nil, &metrics{}, nil)
	var reopened []string
	r.reopen = func(iface string) error { reopened = append(reopened, iface); return nil }
	s, _ := vmacOf(&kaconf.Instance{Name: "VI_1", Interface: "eth0", VRID: 51, VMAC: &kaconf.VMAC{}})
	r.setVMACs(fv, []vmacSpec{s})
	ctx := context.Background()
	if err := r.ensureVMACs(ctx, false); err != nil {
		t.Fatal(err)
	}
	fv.mu.Lock()
	fv.deleteLocked("vrrp.51")
	sysctls := maps.Clone(fv.sysctl)
	for k := range fv.sysctl {
		if strings.Contains(k, "/eth0/") {
			delete(fv.sysctl, k) // the parent is gone
		}
	}
	fv.mu.Unlock()
	if err := r.ensureVMACs(ctx, true); err == nil {
		t.Fatal("a macvlan without its parent was made")
	}
	if len(reopened) != 0 {
		t.Fatalf("reopened %v with no macvlan", reopened)
	}
	fv.mu.Lock()
	fv.sysctl = sysctls // the parent is back
	fv.mu.Unlock()
	// The first reopen fails: the next reconcile tries again.
	failReopen := true
	r.reopen = func(iface string) error {
		reopened = append(reopened, iface)
		if failReopen {
			failReopen = false
			return errors.New("no socket today")
		}
		return nil
	}
	if err := r.ensureVMACs(ctx, false); err == nil {
		t.Fatal("a failed reopen was not reported")
	}
	if err := r.ensureVMACs(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := r.ensureVMACs(ctx, false); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reopened, []string{"vrrp.51", "vrrp.51"}) {
		t.Errorf("reopened %v, want the socket on vrrp.51 twice (a failure, then a retry)", reopened)
	}
	if got := fv.names(); !slices.Equal(got, []string{"vrrp.51"}) {
		t.Errorf("macvlans %v, want vrrp.51", got)
	}
}

// TestDaemonVMACSweep: at start the director deletes the macvlans an earlier run
// left (they carry vmacAlias) unless wanted as they are, which it reuses; it
// leaves macvlans that are not its own, and sweeps also when no instance has
// use_vmac any more.
func TestDaemonVMACSweep(t *testing.T) {
	tests := []struct {
		name, vmac string
		wantLinks  []string
	}{
		{"reuses the wanted one", "use_vmac", []string{"keepalived.7", "vrrp.51"}},
		{"no use_vmac any more", "", []string{"keepalived.7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
			var ops []string
			fv := newFakeVMACs(&ops, "lo", "eth0", "eth1")
			for _, m := range []vip.MACVLAN{
				{Name: "vrrp.51", Parent: "eth0", MAC: vip.VirtualMAC(51, false), Alias: vmacAlias},
				{Name: "vrrp.52", Parent: "eth1", MAC: vip.VirtualMAC(52, false), Alias: vmacAlias},
				{Name: "keepalived.7", Parent: "eth0", MAC: vip.VirtualMAC(7, false)},
			} {
				fv.links[m.Name], fv.index[m.Name] = m, 1
				fv.addIface(m.Name)
			}
			h.d.deps.vmacs = func() (vmacBackend, error) { return fv, nil }
			if err := h.d.start(context.Background(), readConf(t, strings.ReplaceAll(vmacDaemonConf, "VMAC", tt.vmac))); err != nil {
				t.Fatal(err)
			}
			defer h.d.stop()
			waitFor(t, "MASTER", func() bool { return h.instance("VI_1").State == "MASTER" })
			if got := fv.names(); !slices.Equal(got, tt.wantLinks) {
				t.Errorf("macvlans %v, want %v", got, tt.wantLinks)
			}
			fv.mu.Lock()
			defer fv.mu.Unlock()
			if slices.ContainsFunc(ops, func(op string) bool { return strings.HasPrefix(op, "create") }) {
				t.Errorf("operations %v: a macvlan was created, want the left one reused", ops)
			}
		})
	}
}

// TestVMACDriftCheck: the drift check reads the interfaces once and makes sure
// only of the macvlans that are gone or down, whatever their number.
func TestVMACDriftCheck(t *testing.T) {
	var ops []string
	fv := newFakeVMACs(&ops, "eth0")
	r := newReconciler(slog.New(slog.DiscardHandler), nil, &metrics{}, nil)
	r.reopen = func(string) error { return nil }
	var want []vmacSpec
	for vrid := 1; vrid <= 200; vrid++ {
		s, _ := vmacOf(&kaconf.Instance{Name: fmt.Sprint("VI_", vrid), Interface: "eth0", VRID: vrid, VMAC: &kaconf.VMAC{}})
		want = append(want, s)
	}
	r.setVMACs(fv, want)
	ctx := context.Background()
	if err := r.ensureVMACs(ctx, false); err != nil {
		t.Fatal(err)
	}
	fv.mu.Lock()
	fv.ensures, fv.linkReads = 0, 0
	fv.mu.Unlock()

	if err := r.ensureVMACs(ctx, true); err != nil {
		t.Fatal(err)
	}
	if fv.ensures != 0 || fv.linkReads != 1 {
		t.Errorf("a drift check with nothing changed: %d Ensure calls and %d interface reads, want 0 and 1", fv.ensures, fv.linkReads)
	}

	fv.mu.Lock()
	fv.deleteLocked("vrrp.7")
	fv.down["vrrp.9"] = true
	fv.mu.Unlock()
	if err := r.ensureVMACs(ctx, true); err != nil {
		t.Fatal(err)
	}
	if fv.ensures != 2 {
		t.Errorf("%d Ensure calls, want 2 (the deleted and the down macvlan)", fv.ensures)
	}
	if got := fv.names(); len(got) != 200 || fv.down["vrrp.9"] {
		t.Errorf("%d macvlans, vrrp.9 down %v; want 200, up", len(got), fv.down["vrrp.9"])
	}
}
