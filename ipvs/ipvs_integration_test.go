//go:build linux

package ipvs_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
	"golang.org/x/sys/unix"
)

// dialNS returns a Client for the IPVS of a fresh network namespace. It skips on the
// host (no IPVS there) and fails in the qemu guest when IPVS is missing.
func dialNS(t *testing.T) (*ipvs.Client, *testenv.NetNS) {
	t.Helper()
	testenv.RequireRoot(t)
	ns := testenv.NewNetNS(t)
	c, err := ipvs.Dial(&ipvs.Config{NetNS: ns.Path()})
	if errors.Is(err, ipvs.ErrUnavailable) {
		testenv.SkipOrFail(t, "kernel without IPVS: %v; run with `go run ./internal/cmd/vmtest ./ipvs`", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, ns
}

func TestIntegrationServiceRoundTrip(t *testing.T) {
	c, _ := dialNS(t)
	ctx := context.Background()
	services := []ipvs.Service{
		{Protocol: ipvs.TCP, Address: vip4, Port: 80},
		{Protocol: ipvs.UDP, Address: vip6, Port: 53, Scheduler: ipvs.RoundRobin, Flags: ipvs.FlagPersistent, Timeout: 300 * time.Second, Netmask: 64},
		{Protocol: ipvs.SCTP, Address: vip4, Port: 5060, Flags: ipvs.FlagPersistent | ipvs.FlagOnePacket, Timeout: 60 * time.Second, Netmask: 24},
		{FWMark: 100, Scheduler: ipvs.SourceHashing, Flags: ipvs.FlagSHFallback | ipvs.FlagSHPort},
		{Family: ipvs.IPv6, FWMark: 101, Scheduler: ipvs.MaglevHashing, Flags: ipvs.FlagMHFallback},
		{FWMark: 102, Flags: ipvs.FlagPersistent, Timeout: time.Second, IPv4Mask: netip.MustParseAddr("255.0.255.0")},
		{FWMark: 103, Flags: ipvs.FlagPersistent, Timeout: time.Second, IPv4Mask: netip.IPv4Unspecified()},
		{Family: ipvs.IPv6, Protocol: ipvs.TCP, Address: netip.MustParseAddr("::ffff:192.0.2.1"), Port: 80},
	}
	for _, s := range services {
		if err := c.CreateService(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want, have []ipvs.VirtualServer
	for _, s := range services {
		want = append(want, ipvs.VirtualServer{Service: s})
	}
	for _, s := range got {
		have = append(have, ipvs.VirtualServer{Service: s.Service})
	}
	if ops := ipvs.Diff(want, have); len(ops) != 0 {
		t.Errorf("kernel table differs from what was created: %v\nkernel: %+v", fmtOps(ops), got)
	}
	for _, s := range services {
		st, err := c.Service(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if st.Service.Family == 0 || st.Service.Flags&0x2 != 0 {
			t.Errorf("%v read back as %+v", s, st.Service)
		}
	}
	if err := c.CreateService(ctx, services[0]); !errors.Is(err, ipvs.ErrExists) {
		t.Errorf("duplicate create: %v, want ErrExists", err)
	}
	missing := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 9}
	if _, err := c.Service(ctx, missing); !errors.Is(err, ipvs.ErrServiceNotFound) {
		t.Errorf("get missing: %v, want ErrServiceNotFound", err)
	}
	if ds, err := c.Destinations(ctx, missing); err != nil || len(ds) != 0 {
		t.Errorf("destinations of missing service: %v, %v; want empty", ds, err)
	}
	// Persistence update.
	upd := services[0]
	upd.Scheduler, upd.Flags, upd.Timeout, upd.Netmask = ipvs.WeightedRoundRobin, ipvs.FlagPersistent, 600*time.Second, 16
	if err := c.UpdateService(ctx, upd); err != nil {
		t.Fatal(err)
	}
	st, err := c.Service(ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	upd.Family = ipvs.IPv4
	if diff := cmp.Diff(upd, st.Service, exact); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	if err := c.DeleteService(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteService(ctx, upd); !errors.Is(err, ipvs.ErrServiceNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestIntegrationEveryScheduler(t *testing.T) {
	c, _ := dialNS(t)
	ctx := context.Background()
	for i, s := range ipvs.Schedulers() {
		svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: uint16(100 + i), Scheduler: s}
		if err := c.CreateService(ctx, svc); err != nil {
			if s == ipvs.TwoRandomChoices && errors.Is(err, unix.ENOENT) {
				// ip_vs_twos is newer than the guest's Debian 6.1 kernel.
				t.Logf("scheduler %s: %v (not in this kernel)", s, err)
				continue
			}
			t.Errorf("scheduler %s: %v", s, err)
			continue
		}
		got, err := c.Service(ctx, svc)
		if err != nil || got.Service.Scheduler != s {
			t.Errorf("scheduler %s read back as %q, %v", s, got.Service.Scheduler, err)
		}
	}
	err := c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 99, Scheduler: "nosuch"})
	if err == nil || !strings.Contains(err.Error(), "scheduler") {
		t.Errorf("unknown scheduler: %v", err)
	}
}

func TestIntegrationDestinations(t *testing.T) {
	c, _ := dialNS(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80}
	fwm := ipvs.Service{FWMark: 5}
	for _, s := range []ipvs.Service{svc, fwm} {
		if err := c.CreateService(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	dests := []ipvs.Destination{
		{Address: rip4a, Port: 8080, Forward: ipvs.Masquerade, Weight: 1},
		{Address: rip4b, Port: 80, Forward: ipvs.DirectRoute, Weight: 3, UpperThreshold: 100, LowerThreshold: 10},
		{Address: netip.MustParseAddr("198.51.100.12"), Port: 80, Forward: ipvs.Tunnel, Weight: 1},
		{Address: netip.MustParseAddr("198.51.100.13"), Port: 80, Forward: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelChecksum},
		{Address: netip.MustParseAddr("198.51.100.14"), Port: 80, Forward: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.TunnelGRE, TunnelFlags: ipvs.TunnelRemoteChecksum},
		{Address: rip6, Port: 80, Forward: ipvs.Tunnel, Weight: 2}, // IPv6 real server of an IPv4 service
		{Address: netip.MustParseAddr("198.51.100.15"), Port: 80, Forward: ipvs.DirectRoute, Weight: 0},
	}
	for _, d := range dests {
		if err := c.CreateDestination(ctx, svc, d); err != nil {
			t.Fatalf("%v: %v", d, err)
		}
	}
	if err := c.CreateDestination(ctx, fwm, ipvs.Destination{Address: rip4a, Forward: ipvs.DirectRoute, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []ipvs.VirtualServer{{Service: svc, Destinations: dests},
		{Service: fwm, Destinations: []ipvs.Destination{{Address: rip4a, Forward: ipvs.DirectRoute, Weight: 1}}}}
	if ops := ipvs.Diff(want, ipvs.Table(snap)); len(ops) != 0 {
		t.Errorf("kernel differs: %v\nkernel: %+v", fmtOps(ops), ipvs.Table(snap))
	}
	d := dests[1]
	d.Weight, d.UpperThreshold, d.LowerThreshold = 7, 0, 0
	if err := c.UpdateDestination(ctx, svc, d); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateDestination(ctx, svc, ipvs.Destination{Address: netip.MustParseAddr("198.51.100.99"), Port: 80}); !errors.Is(err, ipvs.ErrDestinationNotFound) {
		t.Errorf("update missing destination: %v", err)
	}
	if err := c.CreateDestination(ctx, svc, dests[0]); !errors.Is(err, ipvs.ErrExists) {
		t.Errorf("duplicate destination: %v", err)
	}
	for _, bad := range []ipvs.Destination{
		{Address: netip.MustParseAddr("198.51.100.20"), Port: 80, Weight: -1},
		{Address: netip.MustParseAddr("198.51.100.20"), Port: 80, UpperThreshold: 1, LowerThreshold: 2},
	} {
		if err := c.CreateDestination(ctx, svc, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := c.DeleteDestination(ctx, svc, dests[0]); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDestination(ctx, svc, dests[0]); !errors.Is(err, ipvs.ErrDestinationNotFound) {
		t.Errorf("second delete: %v", err)
	}
	ds, err := c.Destinations(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(dests)-1 {
		t.Errorf("%d destinations after delete, want %d", len(ds), len(dests)-1)
	}
}

func TestIntegrationTimeoutsInfoZeroFlush(t *testing.T) {
	c, _ := dialNS(t)
	ctx := context.Background()
	in, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if in.VersionString() != "1.2.1" || in.ConnTableSize == 0 {
		t.Errorf("Info = %+v", in)
	}
	before, err := c.Timeouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetTimeouts(ctx, ipvs.Timeouts{TCP: 1000 * time.Second, UDP: 77 * time.Second}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Timeouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := ipvs.Timeouts{TCP: 1000 * time.Second, TCPFin: before.TCPFin, UDP: 77 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeouts (-want +got):\n%s", diff)
	}
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := c.ZeroService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := c.Zero(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.ZeroService(ctx, ipvs.Service{FWMark: 9}); !errors.Is(err, ipvs.ErrServiceNotFound) {
		t.Errorf("zero missing service: %v", err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Services(ctx); err != nil || len(s) != 0 {
		t.Errorf("after flush: %v, %v", s, err)
	}
}

func TestIntegrationSyncDaemon(t *testing.T) {
	c, ns := dialNS(t)
	peer := testenv.NewNetNS(t)
	testenv.Veth(t, ns, "sync0", peer, "sync1")
	ctx := context.Background()
	master := ipvs.Daemon{State: ipvs.DaemonMaster, Interface: "sync0", SyncID: 9, Group: netip.MustParseAddr("239.1.2.3"), Port: 8848, TTL: 1}
	backup := ipvs.Daemon{State: ipvs.DaemonBackup, Interface: "sync0", SyncID: 9}
	for _, d := range []ipvs.Daemon{master, backup} {
		if err := c.StartDaemon(ctx, d); err != nil {
			t.Fatalf("start %v: %v", d.State, err)
		}
	}
	ds, err := c.Daemons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("Daemons = %+v, want master and backup", ds)
	}
	for _, d := range ds {
		if d.Interface != "sync0" || d.SyncID != 9 {
			t.Errorf("daemon %+v", d)
		}
		if d.State == ipvs.DaemonMaster && d.Group != master.Group {
			t.Errorf("master group %v, want %v", d.Group, master.Group)
		}
	}
	// Give the kernel's sync threads a moment to start before stopping them: in the
	// emulated guest, stopping a backup thread within milliseconds of its start made
	// the kernel's DEL_DAEMON hang past the call's 30 s deadline in about one run in
	// fifteen (the kernel's behaviour, not this client's; see the ipvs package doc).
	time.Sleep(500 * time.Millisecond)
	for _, s := range []ipvs.DaemonState{ipvs.DaemonMaster, ipvs.DaemonBackup} {
		if err := c.StopDaemon(ctx, s); err != nil {
			t.Fatalf("stop %v: %v", s, err)
		}
	}
	if ds, _ := c.Daemons(ctx); len(ds) != 0 {
		t.Errorf("after stop: %+v", ds)
	}
}

func TestIntegrationApplyAndReconcile(t *testing.T) {
	c, _ := dialNS(t)
	ctx := context.Background()
	var desired []ipvs.VirtualServer
	for i := range 200 {
		vs := ipvs.VirtualServer{Service: ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: uint16(1000 + i), Scheduler: ipvs.RoundRobin}}
		for j := range 4 {
			vs.Destinations = append(vs.Destinations, ipvs.Destination{
				Address: netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + j)}), Port: 80, Forward: ipvs.DirectRoute, Weight: 1})
		}
		desired = append(desired, vs)
	}
	ops, err := c.Reconcile(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1000 {
		t.Errorf("first reconcile: %d ops, want 1000", len(ops))
	}
	desired[0].Destinations[0].Weight = 9
	desired = desired[1:len(desired):len(desired)]
	desired = append(desired, ipvs.VirtualServer{Service: ipvs.Service{FWMark: 1}})
	ops, err = c.Reconcile(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"create service FWM 1", "delete service TCP 192.0.2.1:1000"}; cmp.Diff(want, fmtOps(ops)) != "" {
		t.Errorf("second reconcile: %v, want %v", fmtOps(ops), want)
	}
	if ops, err := c.Reconcile(ctx, desired); err != nil || len(ops) != 0 {
		t.Errorf("third reconcile: %v, %v; want nothing", fmtOps(ops), err)
	}
	// Failures are reported against their operations.
	err = c.Apply(ctx, []ipvs.Op{
		{Kind: ipvs.OpCreateService, Service: ipvs.Service{FWMark: 1}},
		{Kind: ipvs.OpCreateService, Service: ipvs.Service{FWMark: 2}},
		{Kind: ipvs.OpDeleteService, Service: ipvs.Service{FWMark: 3}},
	})
	var ae *ipvs.ApplyError
	if !errors.As(err, &ae) || len(ae.Errors) != 2 || ae.Errors[0].Index != 0 || ae.Errors[1].Index != 2 ||
		!errors.Is(ae.Errors[0], ipvs.ErrExists) || !errors.Is(ae.Errors[1], ipvs.ErrServiceNotFound) {
		t.Errorf("Apply: %v", err)
	}
}

// ipvsadm runs ipvsadm inside ns with stdin.
func ipvsadm(t *testing.T, ns *testenv.NetNS, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, "ipvsadm"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestIntegrationIpvsadmReadsWhatLvskitWrites(t *testing.T) {
	testenv.RequireCommand(t, "ipvsadm")
	c, ns := dialNS(t)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80, Scheduler: ipvs.RoundRobin, Flags: ipvs.FlagPersistent, Timeout: 300 * time.Second, Netmask: 24}
	fwm := ipvs.Service{FWMark: 100, Scheduler: ipvs.SourceHashing, Flags: ipvs.FlagSHFallback}
	err := c.Apply(ctx, []ipvs.Op{
		{Kind: ipvs.OpCreateService, Service: svc},
		{Kind: ipvs.OpCreateDestination, Service: svc, Destination: ipvs.Destination{Address: rip4a, Port: 8080, Forward: ipvs.Masquerade, Weight: 1}},
		{Kind: ipvs.OpCreateDestination, Service: svc, Destination: ipvs.Destination{Address: rip4b, Port: 80, Forward: ipvs.DirectRoute, Weight: 2, UpperThreshold: 50, LowerThreshold: 5}},
		{Kind: ipvs.OpCreateService, Service: fwm},
		{Kind: ipvs.OpCreateDestination, Service: fwm, Destination: ipvs.Destination{Address: rip4a, Forward: ipvs.Tunnel, Weight: 1}},
		{Kind: ipvs.OpCreateDestination, Service: fwm, Destination: ipvs.Destination{Address: rip4b, Forward: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080}},
		{Kind: ipvs.OpCreateDestination, Service: fwm, Destination: ipvs.Destination{Address: netip.MustParseAddr("198.51.100.12"), Forward: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.TunnelGRE, TunnelFlags: ipvs.TunnelChecksum}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := ipvsadm(t, ns, "", "-Sn")
	want := "-A -t 192.0.2.1:80 -s rr -p 300 -M 255.255.255.0\n" +
		"-a -t 192.0.2.1:80 -r 198.51.100.10:8080 -m -w 1\n" +
		"-a -t 192.0.2.1:80 -r 198.51.100.11:80 -g -w 2\n" + // -S prints no thresholds
		"-A -f 100 -s sh -b sh-fallback\n" +
		"-a -f 100 -r 198.51.100.10:0 -i -w 1 --tun-type ipip\n" +
		"-a -f 100 -r 198.51.100.11:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n" +
		"-a -f 100 -r 198.51.100.12:0 -i -w 1 --tun-type gre --tun-csum\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ipvsadm -Sn (-want +got):\n%s", diff)
	}
}

func TestIntegrationLvskitReadsWhatIpvsadmWrites(t *testing.T) {
	testenv.RequireCommand(t, "ipvsadm")
	c, ns := dialNS(t)
	ctx := context.Background()
	rules := "-A -t 192.0.2.1:80 -s wrr -p 120 -M 255.255.0.0\n" +
		"-a -t 192.0.2.1:80 -r 198.51.100.10:80 -g -w 3 -x 10 -y 1\n" +
		"-A -u [2001:db8::1]:53 -s rr\n" +
		"-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m -w 1\n" +
		"-A -f 7 -s mh -b mh-fallback,mh-port\n" +
		"-a -f 7 -r 198.51.100.11:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum\n"
	ipvsadm(t, ns, rules, "-R")
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []ipvs.VirtualServer{
		{Service: ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80, Scheduler: "wrr", Flags: ipvs.FlagPersistent, Timeout: 120 * time.Second, Netmask: 16},
			Destinations: []ipvs.Destination{{Address: rip4a, Port: 80, Forward: ipvs.DirectRoute, Weight: 3, UpperThreshold: 10, LowerThreshold: 1}}},
		{Service: ipvs.Service{Protocol: ipvs.UDP, Address: vip6, Port: 53, Scheduler: "rr"},
			Destinations: []ipvs.Destination{{Address: rip6, Port: 53, Forward: ipvs.Masquerade, Weight: 1}}},
		{Service: ipvs.Service{FWMark: 7, Scheduler: "mh", Flags: ipvs.FlagMHFallback | ipvs.FlagMHPort},
			Destinations: []ipvs.Destination{{Address: rip4b, Forward: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelChecksum}}},
	}
	if ops := ipvs.Diff(want, ipvs.Table(snap)); len(ops) != 0 {
		t.Errorf("lvskit reads a different table: %v\n%s", fmtOps(ops), fmt.Sprintf("%+v", ipvs.Table(snap)))
	}
}
