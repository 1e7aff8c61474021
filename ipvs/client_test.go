package ipvs_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
)

// exact compares values field by field: Service and Destination have an Equal method
// that resolves defaults, which would hide a field the code under test forgot to set.
var exact = cmp.Options{
	cmpopts.EquateComparable(netip.Addr{}),
	cmp.Comparer(func(a, b ipvs.Service) bool { return a == b }),
	cmp.Comparer(func(a, b ipvs.Destination) bool { return a == b }),
}

func newFake(t testing.TB, cfg *ipvstest.Config) (*ipvs.Client, *ipvstest.Server) {
	t.Helper()
	srv := ipvstest.New(cfg)
	c, err := ipvs.NewClient(srv.Dial())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

var (
	vip4  = netip.MustParseAddr("192.0.2.1")
	vip6  = netip.MustParseAddr("2001:db8::1")
	rip4a = netip.MustParseAddr("198.51.100.10")
	rip4b = netip.MustParseAddr("198.51.100.11")
	rip6  = netip.MustParseAddr("2001:db8::10")
)

func TestServiceRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   ipvs.Service
		want ipvs.Service // as read back
	}{
		{
			name: "tcp v4 defaults",
			in:   ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80},
			want: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: vip4, Port: 80, Scheduler: "wlc"},
		},
		{
			name: "udp v6 persistent with prefix",
			in: ipvs.Service{Protocol: ipvs.UDP, Address: vip6, Port: 53, Scheduler: ipvs.RoundRobin,
				Flags: ipvs.FlagPersistent, Timeout: 300 * time.Second, Netmask: 64},
			want: ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.UDP, Address: vip6, Port: 53, Scheduler: "rr",
				Flags: ipvs.FlagPersistent, Timeout: 300 * time.Second, Netmask: 64},
		},
		{
			name: "fwmark v4 sh with fallback and port",
			in:   ipvs.Service{FWMark: 100, Scheduler: ipvs.SourceHashing, Flags: ipvs.FlagSHFallback | ipvs.FlagSHPort},
			want: ipvs.Service{Family: ipvs.IPv4, FWMark: 100, Scheduler: "sh", Flags: ipvs.FlagSched1 | ipvs.FlagSched2},
		},
		{
			name: "fwmark v6",
			in:   ipvs.Service{Family: ipvs.IPv6, FWMark: 7, Scheduler: ipvs.MaglevHashing},
			want: ipvs.Service{Family: ipvs.IPv6, FWMark: 7, Scheduler: "mh"},
		},
		{
			name: "sctp one-packet persistence netmask /24 pe sip",
			in: ipvs.Service{Protocol: ipvs.SCTP, Address: vip4, Port: 5060, Flags: ipvs.FlagPersistent | ipvs.FlagOnePacket,
				Timeout: 60 * time.Second, Netmask: 24, PersistenceEngine: "sip"},
			want: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.SCTP, Address: vip4, Port: 5060, Scheduler: "wlc",
				Flags: ipvs.FlagPersistent | ipvs.FlagOnePacket, Timeout: 60 * time.Second, Netmask: 24, PersistenceEngine: "sip"},
		},
		{
			name: "ipv4 mask that is no prefix",
			in: ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 81, Flags: ipvs.FlagPersistent, Timeout: 360 * time.Second,
				IPv4Mask: netip.MustParseAddr("255.0.255.0")},
			want: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: vip4, Port: 81, Scheduler: "wlc",
				Flags: ipvs.FlagPersistent, Timeout: 360 * time.Second, IPv4Mask: netip.MustParseAddr("255.0.255.0")},
		},
		{
			name: "ipv4 mask 0.0.0.0",
			in:   ipvs.Service{FWMark: 9, Flags: ipvs.FlagPersistent, Timeout: time.Second, IPv4Mask: netip.IPv4Unspecified()},
			want: ipvs.Service{Family: ipvs.IPv4, FWMark: 9, Scheduler: "wlc", Flags: ipvs.FlagPersistent, Timeout: time.Second,
				IPv4Mask: netip.IPv4Unspecified()},
		},
		{
			name: "ipv4 mask that is a prefix reads back as Netmask",
			in: ipvs.Service{Protocol: ipvs.UDP, Address: vip4, Port: 82, Netmask: 8,
				IPv4Mask: netip.MustParseAddr("255.255.0.0")},
			want: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.UDP, Address: vip4, Port: 82, Scheduler: "wlc", Netmask: 16},
		},
		{
			name: "ipv6 service at an ipv4-mapped address",
			in:   ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.UDP, Address: netip.MustParseAddr("::ffff:192.0.2.1"), Port: 53},
			want: ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.UDP, Address: netip.MustParseAddr("::ffff:192.0.2.1"), Port: 53, Scheduler: "wlc"},
		},
		{
			name: "ipv6 service given an ipv4 address",
			in:   ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.UDP, Address: vip4, Port: 54},
			want: ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.UDP, Address: netip.MustParseAddr("::ffff:192.0.2.1"), Port: 54, Scheduler: "wlc"},
		},
		{
			name: "explicit full netmask reads back as default",
			in:   ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 443, Netmask: 32},
			want: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: vip4, Port: 443, Scheduler: "wlc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c, _ := newFake(t, nil)
			if err := c.CreateService(ctx, tt.in); err != nil {
				t.Fatal(err)
			}
			got, err := c.Service(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Service, exact); diff != "" {
				t.Errorf("Service (-want +got):\n%s", diff)
			}
			list, err := c.Services(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 {
				t.Fatalf("Services returned %d services, want 1", len(list))
			}
			if diff := cmp.Diff(tt.want, list[0].Service, exact); diff != "" {
				t.Errorf("Services (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEveryScheduler(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(t, nil)
	for i, s := range append(ipvs.Schedulers(), ipvs.NoScheduler) {
		svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: uint16(1000 + i), Scheduler: s}
		if err := c.CreateService(ctx, svc); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		got, err := c.Service(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		if got.Service.Scheduler != s {
			t.Errorf("scheduler %q read back as %q", s, got.Service.Scheduler)
		}
	}
	if n := len(ipvs.Schedulers()); n != 14 {
		t.Errorf("Schedulers() has %d entries, want the kernel's 14", n)
	}
}

func TestUpdateService(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(t, nil)
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80, Scheduler: ipvs.RoundRobin, Flags: ipvs.FlagPersistent, Timeout: time.Minute}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	svc.Scheduler, svc.Flags, svc.Timeout = ipvs.WeightedRoundRobin, ipvs.FlagOnePacket, 0
	if err := c.UpdateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	got, err := c.Service(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	want := svc
	want.Family = ipvs.IPv4
	if diff := cmp.Diff(want, got.Service, exact); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
}

func TestDestinationRoundTrip(t *testing.T) {
	svc4 := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80}
	svc6 := ipvs.Service{Protocol: ipvs.TCP, Address: vip6, Port: 80}
	tests := []struct {
		name string
		svc  ipvs.Service
		in   ipvs.Destination
		want ipvs.Destination
	}{
		{"masq default", svc4, ipvs.Destination{Address: rip4a, Port: 8080, Weight: 1},
			ipvs.Destination{Family: ipvs.IPv4, Address: rip4a, Port: 8080, Weight: 1}},
		{"dr thresholds", svc4, ipvs.Destination{Address: rip4a, Port: 80, Forward: ipvs.DirectRoute, Weight: 5, UpperThreshold: 100, LowerThreshold: 10},
			ipvs.Destination{Family: ipvs.IPv4, Address: rip4a, Port: 80, Forward: ipvs.DirectRoute, Weight: 5, UpperThreshold: 100, LowerThreshold: 10}},
		{"ipip tunnel", svc4, ipvs.Destination{Address: rip4a, Port: 80, Forward: ipvs.Tunnel, Weight: 1},
			ipvs.Destination{Family: ipvs.IPv4, Address: rip4a, Port: 80, Forward: ipvs.Tunnel, Weight: 1}},
		{"gue tunnel with checksum", svc4, ipvs.Destination{Address: rip4a, Port: 80, Forward: ipvs.Tunnel, Weight: 1,
			TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelChecksum},
			ipvs.Destination{Family: ipvs.IPv4, Address: rip4a, Port: 80, Forward: ipvs.Tunnel, Weight: 1,
				TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelChecksum}},
		{"gre tunnel remote checksum", svc4, ipvs.Destination{Address: rip4a, Port: 80, Forward: ipvs.Tunnel, Weight: 1,
			TunnelType: ipvs.TunnelGRE, TunnelFlags: ipvs.TunnelRemoteChecksum},
			ipvs.Destination{Family: ipvs.IPv4, Address: rip4a, Port: 80, Forward: ipvs.Tunnel, Weight: 1,
				TunnelType: ipvs.TunnelGRE, TunnelFlags: ipvs.TunnelRemoteChecksum}},
		{"v6 weight zero", svc6, ipvs.Destination{Address: rip6, Port: 80, Forward: ipvs.DirectRoute},
			ipvs.Destination{Family: ipvs.IPv6, Address: rip6, Port: 80, Forward: ipvs.DirectRoute}},
		{"ipv4-mapped real server of an ipv6 service", svc6,
			ipvs.Destination{Family: ipvs.IPv6, Address: netip.MustParseAddr("198.51.100.12"), Port: 80, Forward: ipvs.DirectRoute, Weight: 1},
			ipvs.Destination{Family: ipvs.IPv6, Address: netip.MustParseAddr("::ffff:198.51.100.12"), Port: 80, Forward: ipvs.DirectRoute, Weight: 1}},
		{"v6 real server of v4 service through tunnel", svc4, ipvs.Destination{Address: rip6, Port: 80, Forward: ipvs.Tunnel, Weight: 2},
			ipvs.Destination{Family: ipvs.IPv6, Address: rip6, Port: 80, Forward: ipvs.Tunnel, Weight: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c, _ := newFake(t, nil)
			if err := c.CreateService(ctx, tt.svc); err != nil {
				t.Fatal(err)
			}
			if err := c.CreateDestination(ctx, tt.svc, tt.in); err != nil {
				t.Fatal(err)
			}
			got, err := c.Destinations(ctx, tt.svc)
			if err != nil {
				t.Fatal(err)
			}
			want := []ipvs.DestinationStatus{{Destination: tt.want}}
			if diff := cmp.Diff(want, got, exact); diff != "" {
				t.Errorf("Destinations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDestinationUpdateDelete(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(t, nil)
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80}
	d := ipvs.Destination{Address: rip4a, Port: 80, Forward: ipvs.DirectRoute, Weight: 1}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateDestination(ctx, svc, d); err != nil {
		t.Fatal(err)
	}
	d.Weight = 0 // drain
	if err := c.UpdateDestination(ctx, svc, d); err != nil {
		t.Fatal(err)
	}
	got, err := c.Destinations(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Destination.Weight != 0 {
		t.Fatalf("after drain: %+v, want one destination with weight 0", got)
	}
	if err := c.DeleteDestination(ctx, svc, ipvs.Destination{Address: rip4a, Port: 80}); err != nil {
		t.Fatal(err)
	}
	got, err = c.Destinations(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("after delete: %+v, want none", got)
	}
}

func TestEmptyIsNotAnError(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(t, nil)
	svcs, err := c.Services(ctx)
	if err != nil || len(svcs) != 0 {
		t.Fatalf("Services on empty table = %v, %v; want empty, nil", svcs, err)
	}
	// The kernel answers an empty dump for a service that does not exist.
	ds, err := c.Destinations(ctx, ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 1})
	if err != nil || len(ds) != 0 {
		t.Fatalf("Destinations of a missing service = %v, %v; want empty, nil", ds, err)
	}
	snap, err := c.Snapshot(ctx)
	if err != nil || len(snap) != 0 {
		t.Fatalf("Snapshot of empty table = %v, %v", snap, err)
	}
	ds2, err := c.Daemons(ctx)
	if err != nil || len(ds2) != 0 {
		t.Fatalf("Daemons = %v, %v; want none", ds2, err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80}
	missing := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 81}
	d := ipvs.Destination{Address: rip4a, Port: 80, Weight: 1}
	tests := []struct {
		name     string
		call     func(c *ipvs.Client) error
		sentinel error
		errno    syscall.Errno
		contains string
	}{
		{"create existing service", func(c *ipvs.Client) error { return c.CreateService(ctx, svc) },
			ipvs.ErrExists, syscall.EEXIST, "TCP 192.0.2.1:80"},
		{"update missing service", func(c *ipvs.Client) error { return c.UpdateService(ctx, missing) },
			ipvs.ErrServiceNotFound, syscall.ESRCH, "TCP 192.0.2.1:81"},
		{"delete missing service", func(c *ipvs.Client) error { return c.DeleteService(ctx, missing) },
			ipvs.ErrServiceNotFound, syscall.ESRCH, "service not found"},
		{"get missing service", func(c *ipvs.Client) error { _, err := c.Service(ctx, missing); return err },
			ipvs.ErrServiceNotFound, syscall.ESRCH, "TCP 192.0.2.1:81"},
		{"destination in missing service", func(c *ipvs.Client) error { return c.CreateDestination(ctx, missing, d) },
			ipvs.ErrServiceNotFound, syscall.ESRCH, "TCP 192.0.2.1:81 -> 198.51.100.10:80"},
		{"create existing destination", func(c *ipvs.Client) error { return c.CreateDestination(ctx, svc, d) },
			ipvs.ErrExists, syscall.EEXIST, "198.51.100.10:80"},
		{"update missing destination", func(c *ipvs.Client) error {
			return c.UpdateDestination(ctx, svc, ipvs.Destination{Address: rip4b, Port: 80})
		}, ipvs.ErrDestinationNotFound, syscall.ENOENT, "TCP 192.0.2.1:80 -> 198.51.100.11:80: destination not found"},
		{"delete missing destination", func(c *ipvs.Client) error {
			return c.DeleteDestination(ctx, svc, ipvs.Destination{Address: rip4b, Port: 80})
		}, ipvs.ErrDestinationNotFound, syscall.ENOENT, "198.51.100.11:80"},
		{"unknown scheduler", func(c *ipvs.Client) error {
			return c.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 90, Scheduler: "nosuch"})
		}, nil, syscall.ENOENT, "scheduler or persistence engine not available"},
		{"negative weight", func(c *ipvs.Client) error {
			return c.CreateDestination(ctx, svc, ipvs.Destination{Address: rip4b, Port: 80, Weight: -1})
		}, nil, syscall.ERANGE, "198.51.100.11:80"},
		{"lower threshold above upper", func(c *ipvs.Client) error {
			return c.CreateDestination(ctx, svc, ipvs.Destination{Address: rip4b, Port: 80, UpperThreshold: 5, LowerThreshold: 6})
		}, nil, syscall.ERANGE, ""},
		{"gue without port", func(c *ipvs.Client) error {
			return c.CreateDestination(ctx, svc, ipvs.Destination{Address: rip4b, Port: 80, Forward: ipvs.Tunnel, TunnelType: ipvs.TunnelGUE})
		}, nil, syscall.EINVAL, ""},
		{"other family without tunnel", func(c *ipvs.Client) error {
			return c.CreateDestination(ctx, svc, ipvs.Destination{Address: rip6, Port: 80, Forward: ipvs.DirectRoute})
		}, nil, syscall.EINVAL, ""},
		{"zero missing service", func(c *ipvs.Client) error { return c.ZeroService(ctx, missing) },
			ipvs.ErrServiceNotFound, syscall.ESRCH, ""},
		{"stop daemon not running", func(c *ipvs.Client) error { return c.StopDaemon(ctx, ipvs.DaemonBackup) },
			nil, syscall.ESRCH, "backup"},
	}
	// errnoPaths are the two ways a Client learns a reply's errno: from netlink's
	// OpError (Linux), and from the fake's errno message, the only way outside Linux
	// (where the fake always sends it); the second runs here on every OS.
	errnoPaths := []struct {
		name string
		cfg  *ipvstest.Config
	}{{"default", nil}, {"errno messages", &ipvstest.Config{ErrnoMessages: true}}}
	for _, path := range errnoPaths {
		for _, tt := range tests {
			t.Run(path.name+"/"+tt.name, func(t *testing.T) {
				c, _ := newFake(t, path.cfg)
				if err := c.CreateService(ctx, svc); err != nil {
					t.Fatal(err)
				}
				if err := c.CreateDestination(ctx, svc, d); err != nil {
					t.Fatal(err)
				}
				err := tt.call(c)
				if err == nil {
					t.Fatal("no error")
				}
				if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
				}
				if !errors.Is(err, tt.errno) {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.errno)
				}
				for _, s := range []error{ipvs.ErrExists, ipvs.ErrServiceNotFound, ipvs.ErrDestinationNotFound} {
					if s != tt.sentinel && errors.Is(err, s) {
						t.Errorf("%v also matches %v", err, s)
					}
				}
				if !strings.HasPrefix(err.Error(), "ipvs: ") || !strings.Contains(err.Error(), tt.contains) {
					t.Errorf("message %q: want prefix \"ipvs: \" and %q", err, tt.contains)
				}
			})
		}
	}
}

func TestPermissionAndUnavailable(t *testing.T) {
	ctx := context.Background()
	for _, msgs := range []bool{false, true} {
		c, _ := newFake(t, &ipvstest.Config{DenyPermission: true, ErrnoMessages: msgs})
		_, err := c.Services(ctx)
		if !errors.Is(err, os.ErrPermission) || !errors.Is(err, syscall.EPERM) {
			t.Errorf("errno messages %v: Services without CAP_NET_ADMIN: %v; want os.ErrPermission", msgs, err)
		}
		// A refused request leaves the Client usable: the reply was read whole.
		if _, err := c.Services(ctx); !errors.Is(err, os.ErrPermission) {
			t.Errorf("errno messages %v: second Services: %v; want os.ErrPermission again", msgs, err)
		}
		_, err = ipvs.NewClient(ipvstest.New(&ipvstest.Config{Unavailable: true, ErrnoMessages: msgs}).Dial())
		if !errors.Is(err, ipvs.ErrUnavailable) {
			t.Errorf("errno messages %v: NewClient without IPVS: %v; want ErrUnavailable", msgs, err)
		}
	}
}

func TestHashedFlagNeverSurfaces(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(t, nil)
	// HASHED (0x2) given by a careless user must not reach the kernel, where it would
	// stop the service from being hashed, and must not come back from a dump.
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80, Flags: ipvs.FlagPersistent | 0x2}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	got, err := c.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Service.Flags != ipvs.FlagPersistent {
		t.Errorf("flags = %v, want persistent only", got[0].Service.Flags)
	}
}

func TestStats(t *testing.T) {
	const big = 1<<33 + 5 // beyond 32 bits
	tests := []struct {
		name string
		cfg  *ipvstest.Config
		want ipvs.Stats
	}{
		{"stats64", nil, ipvs.Stats{Connections: big, PacketsIn: big, PacketsOut: big, BytesIn: big, BytesOut: big,
			CPS: big, PPSIn: big, PPSOut: big, BPSIn: big, BPSOut: big}},
		// Without STATS64 only the byte counters are 64-bit; the rest wrap at 32 bits.
		{"legacy stats", &ipvstest.Config{NoStats64: true, NoAddrFamily: true}, ipvs.Stats{Connections: 5, PacketsIn: 5, PacketsOut: 5,
			BytesIn: big, BytesOut: big, CPS: 5, PPSIn: 5, PPSOut: 5, BPSIn: 5, BPSOut: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c, srv := newFake(t, tt.cfg)
			svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80}
			d := ipvs.Destination{Address: rip4a, Port: 80, Weight: 1}
			if err := c.CreateService(ctx, svc); err != nil {
				t.Fatal(err)
			}
			if err := c.CreateDestination(ctx, svc, d); err != nil {
				t.Fatal(err)
			}
			srv.AddTraffic(big)
			snap, err := c.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, snap[0].Stats, exact); diff != "" {
				t.Errorf("service stats (-want +got):\n%s", diff)
			}
			want := ipvs.DestinationStatus{
				Destination: ipvs.Destination{Family: ipvs.IPv4, Address: rip4a, Port: 80, Weight: 1},
				Stats:       tt.want, ActiveConns: 5, InactiveConns: 5,
			}
			if diff := cmp.Diff([]ipvs.DestinationStatus{want}, snap[0].Destinations, exact); diff != "" {
				t.Errorf("destination (-want +got):\n%s", diff)
			}
			if err := c.ZeroService(ctx, svc); err != nil {
				t.Fatal(err)
			}
			snap, err = c.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if snap[0].Stats != (ipvs.Stats{}) || snap[0].Destinations[0].Stats != (ipvs.Stats{}) {
				t.Errorf("after ZeroService: %+v", snap[0])
			}
			srv.AddTraffic(1)
			if err := c.Zero(ctx); err != nil {
				t.Fatal(err)
			}
			snap, _ = c.Snapshot(ctx)
			if snap[0].Stats != (ipvs.Stats{}) {
				t.Errorf("after Zero: %+v", snap[0].Stats)
			}
		})
	}
}

func TestTimeoutsDaemonInfoFlush(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(t, nil)
	if err := c.SetTimeouts(ctx, ipvs.Timeouts{TCP: 600 * time.Second, UDP: 60 * time.Second}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Timeouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// TCPFin was zero: left at the kernel default of 120 s.
	if diff := cmp.Diff(ipvs.Timeouts{TCP: 600 * time.Second, TCPFin: 120 * time.Second, UDP: 60 * time.Second}, got, exact); diff != "" {
		t.Errorf("Timeouts (-want +got):\n%s", diff)
	}

	master := ipvs.Daemon{State: ipvs.DaemonMaster, Interface: "eth0", SyncID: 7, MaxLen: 1400,
		Group: netip.MustParseAddr("239.1.1.1"), Port: 9000, TTL: 2}
	backup := ipvs.Daemon{State: ipvs.DaemonBackup, Interface: "eth1", SyncID: 7, MaxLen: 1400,
		Group: netip.MustParseAddr("ff02::1:2"), Port: 9000, TTL: 1}
	for _, d := range []ipvs.Daemon{master, backup} {
		if err := c.StartDaemon(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.StartDaemon(ctx, master); !errors.Is(err, ipvs.ErrExists) {
		t.Errorf("second master: %v, want ErrExists", err)
	}
	ds, err := c.Daemons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ipvs.Daemon{master, backup}, ds, exact); diff != "" {
		t.Errorf("Daemons (-want +got):\n%s", diff)
	}
	if err := c.StopDaemon(ctx, ipvs.DaemonMaster); err != nil {
		t.Fatal(err)
	}
	ds, _ = c.Daemons(ctx)
	if len(ds) != 1 || ds[0].State != ipvs.DaemonBackup {
		t.Errorf("after stopping master: %+v", ds)
	}

	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.VersionString() != "1.2.1" || info.ConnTableSize != 4096 {
		t.Errorf("Info = %+v (%s)", info, info.VersionString())
	}

	for i := range 3 {
		if err := c.CreateService(ctx, ipvs.Service{FWMark: uint32(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Services(ctx); len(s) != 0 {
		t.Errorf("after Flush: %d services", len(s))
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: uint16(g*100 + i + 1)}
				if err := c.CreateService(ctx, svc); err != nil {
					errs <- err
					return
				}
				if _, err := c.Snapshot(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, err := c.Services(ctx)
	if err != nil || len(s) != 160 {
		t.Fatalf("Services: %d, %v; want 160", len(s), err)
	}
}

func TestClosedAndCancelled(t *testing.T) {
	c, _ := newFake(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Services(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	c.Close()
	if _, err := c.Services(context.Background()); !errors.Is(err, ipvs.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func fmtOps(ops []ipvs.Op) []string {
	if len(ops) == 0 {
		return nil
	}
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = o.String()
	}
	return out
}
