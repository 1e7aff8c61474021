//go:build linux

package ipvs

import (
	"context"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// TestIntegrationRecordKernelMessages builds recordedTable in the guest's kernel, dumps
// the services and destinations with plain generic netlink, checks that the codec
// decodes the kernel's own bytes into the table, and logs them (run with -v to refresh
// ipvs/testdata/kernel-6.1 from the lines starting "RECORD").
func TestIntegrationRecordKernelMessages(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNetNS(t)
	ctx := context.Background()
	c, err := Dial(&Config{NetNS: ns.Path()})
	if errors.Is(err, ErrUnavailable) {
		testenv.SkipOrFail(t, "kernel without IPVS: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Reconcile(ctx, recordedTable); err != nil {
		t.Fatal(err)
	}

	g, err := genetlink.Dial(&netlink.Config{NetNS: netnsFD(t, ns.Path())})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	fam, err := g.GetFamily("IPVS")
	if err != nil {
		t.Fatal(err)
	}
	dump := func(cmd uint8, data []byte) [][]byte {
		msgs, err := g.Execute(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: fam.Version}, Data: data},
			fam.ID, netlink.Request|netlink.Dump)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		for _, m := range msgs {
			out = append(out, m.Data)
		}
		return out
	}
	svcs := dump(cmdGetService, nil)
	if len(svcs) != len(recordedTable) {
		t.Fatalf("service dump has %d messages, want %d", len(svcs), len(recordedTable))
	}
	var got []VirtualServer
	for i, b := range svcs {
		t.Logf("RECORD service-%d %s", i, hex.EncodeToString(b))
		st, err := decodeServiceMessage(b)
		if err != nil {
			t.Fatalf("decode the kernel's service %d: %v", i, err)
		}
		ae := netlink.NewAttributeEncoder()
		encodeServiceID(ae, st.Service)
		id, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		ae = netlink.NewAttributeEncoder()
		ae.Bytes(attrService, id)
		req, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		vs := VirtualServer{Service: st.Service}
		for j, d := range dump(cmdGetDest, req) {
			t.Logf("RECORD service-%d-dest-%d %s", i, j, hex.EncodeToString(d))
			ds, err := decodeDestMessage(d, st.Service.Family)
			if err != nil {
				t.Fatalf("decode the kernel's destination %d of service %d: %v", j, i, err)
			}
			vs.Destinations = append(vs.Destinations, ds.Destination)
		}
		got = append(got, vs)
	}
	if ops := Diff(recordedTable, got); len(ops) != 0 {
		t.Errorf("the kernel's bytes decode to a different table: %v\n%s", ops, cmp.Diff(recordedTable, got))
	}
}

// netnsFD opens a network namespace file for netlink.Config.NetNS.
func netnsFD(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return int(f.Fd())
}

// TestIntegrationFakeMatchesKernel applies one sequence of operations, failing ones
// included, to the guest's kernel and to ipvstest and compares what each operation
// returned (its errno) and the tables afterwards: destinations in the kernel's order
// (newest first, a deleted and re-added one at the head), flags and values; services in
// the kernel's hash order, which depends on a kernel address: some ServiceHashSeed of
// the fake must give the kernel's order.
func TestIntegrationFakeMatchesKernel(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNetNS(t)
	ctx := context.Background()
	kc, err := Dial(&Config{NetNS: ns.Path()})
	if errors.Is(err, ErrUnavailable) {
		testenv.SkipOrFail(t, "kernel without IPVS: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()

	tcp := func(addr string, port uint16) Service {
		return Service{Protocol: TCP, Address: netip.MustParseAddr(addr), Port: port, Scheduler: WeightedRoundRobin}
	}
	rs := func(addr string, w int32) Destination {
		return Destination{Address: netip.MustParseAddr(addr), Port: 8080, Forward: DirectRoute, Weight: w}
	}
	web, api, dns := tcp("192.0.2.1", 80), tcp("192.0.2.2", 83), Service{Protocol: UDP, Address: netip.MustParseAddr("192.0.2.7"), Port: 53}
	mark := Service{Family: IPv6, FWMark: 7, Scheduler: MaglevHashing, Flags: FlagSHFallback}
	mark2 := Service{FWMark: 300, Scheduler: RoundRobin, Flags: FlagPersistent, Timeout: 60 * time.Second, Netmask: 24}
	type step struct {
		name string
		do   func(c *Client) error
	}
	steps := []step{
		{"create mark", func(c *Client) error { return c.CreateService(ctx, mark) }},
		{"create web", func(c *Client) error { return c.CreateService(ctx, web) }},
		{"create dns", func(c *Client) error { return c.CreateService(ctx, dns) }},
		{"create mark2", func(c *Client) error { return c.CreateService(ctx, mark2) }},
		{"create api", func(c *Client) error { return c.CreateService(ctx, api) }},
		{"create web again", func(c *Client) error { return c.CreateService(ctx, web) }},
		{"update missing", func(c *Client) error { return c.UpdateService(ctx, tcp("192.0.2.9", 80)) }},
		{"unknown scheduler", func(c *Client) error {
			s := tcp("192.0.2.9", 80)
			s.Scheduler = "nosuch"
			return c.CreateService(ctx, s)
		}},
		{"web rs1", func(c *Client) error { return c.CreateDestination(ctx, web, rs("198.51.100.1", 1)) }},
		{"web rs2", func(c *Client) error { return c.CreateDestination(ctx, web, rs("198.51.100.2", 2)) }},
		{"web rs3", func(c *Client) error { return c.CreateDestination(ctx, web, rs("198.51.100.3", 3)) }},
		{"web rs1 again", func(c *Client) error { return c.CreateDestination(ctx, web, rs("198.51.100.1", 1)) }},
		{"web rs1 removed", func(c *Client) error { return c.DeleteDestination(ctx, web, rs("198.51.100.1", 1)) }},
		{"web rs2 weight", func(c *Client) error { return c.UpdateDestination(ctx, web, rs("198.51.100.2", 5)) }},
		{"web rs1 returns", func(c *Client) error { return c.CreateDestination(ctx, web, rs("198.51.100.1", 4)) }},
		{"web rs9 removed", func(c *Client) error { return c.DeleteDestination(ctx, web, rs("198.51.100.9", 1)) }},
		{"negative weight", func(c *Client) error { return c.CreateDestination(ctx, web, rs("198.51.100.9", -1)) }},
		{"thresholds", func(c *Client) error {
			d := rs("198.51.100.9", 1)
			d.UpperThreshold, d.LowerThreshold = 5, 6
			return c.CreateDestination(ctx, web, d)
		}},
		{"rs of missing service", func(c *Client) error { return c.CreateDestination(ctx, tcp("192.0.2.9", 80), rs("198.51.100.1", 1)) }},
		{"mark rs", func(c *Client) error {
			return c.CreateDestination(ctx, mark, Destination{Address: netip.MustParseAddr("2001:db8::1"), Forward: Masquerade, Weight: 1})
		}},
		{"mark tunnel rs", func(c *Client) error {
			return c.CreateDestination(ctx, mark, Destination{Address: netip.MustParseAddr("198.51.100.7"), Forward: Tunnel,
				TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum, Weight: 2})
		}},
		{"api rs", func(c *Client) error { return c.CreateDestination(ctx, api, rs("198.51.100.4", 1)) }},
		{"dns deleted", func(c *Client) error { return c.DeleteService(ctx, dns) }},
		{"dns again", func(c *Client) error { return c.CreateService(ctx, dns) }},
		{"mark flags", func(c *Client) error { m := mark; m.Flags = FlagSHPort; return c.UpdateService(ctx, m) }},
	}
	errnoOf := func(err error) syscall.Errno {
		var errno syscall.Errno
		if err != nil && !errors.As(err, &errno) {
			t.Fatalf("not an errno: %v", err)
		}
		return errno
	}
	srv := ipvstest.New(nil)
	fc, err := NewClient(srv.Dial())
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	for _, st := range steps {
		kerr, ferr := st.do(kc), st.do(fc)
		if k, f := errnoOf(kerr), errnoOf(ferr); k != f {
			t.Errorf("%s: kernel %v (%d), fake %v (%d)", st.name, kerr, k, ferr, f)
		}
	}
	snap := func(c *Client) []ServiceStatus {
		s, err := c.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ks := snap(kc)
	opts := cmp.Options{cmpopts.EquateComparable(netip.Addr{})}
	// Services as sets first (destinations in order), then the order.
	byKey := func(s []ServiceStatus) []ServiceStatus {
		out := slices.Clone(s)
		slices.SortFunc(out, func(a, b ServiceStatus) int { return compareServiceKeys(a.Service, b.Service) })
		return out
	}
	if diff := cmp.Diff(byKey(ks), byKey(snap(fc)), opts); diff != "" {
		t.Fatalf("tables (-kernel +fake):\n%s", diff)
	}
	var seeds []int
	for seed := range 256 {
		srv := ipvstest.New(&ipvstest.Config{ServiceHashSeed: uint8(seed)})
		c, err := NewClient(srv.Dial())
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range steps {
			st.do(c)
		}
		if cmp.Equal(ks, snap(c), opts) {
			seeds = append(seeds, seed)
		}
		c.Close()
	}
	if len(seeds) == 0 {
		t.Errorf("no ServiceHashSeed gives the kernel's service order %v", Table(ks))
	}
	t.Logf("service order of the kernel matches ServiceHashSeed %v", seeds)
}

// compareServiceKeys orders services by fwmark, then address and port.
func compareServiceKeys(a, b Service) int {
	if a.FWMark != b.FWMark {
		return int(a.FWMark) - int(b.FWMark)
	}
	if c := a.Address.Compare(b.Address); c != 0 {
		return c
	}
	return int(a.Port) - int(b.Port) + 1000*(int(a.Protocol)-int(b.Protocol))
}
