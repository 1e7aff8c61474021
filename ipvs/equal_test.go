package ipvs_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/ipvs"
)

// TestCmpWithoutOptions checks what STYLE.md promises users: cmp.Diff(want, got) works on
// the package's values with no options (netip.Addr alone would make go-cmp panic), equal
// values give an empty diff, defaults resolve as the kernel resolves them, and a real
// difference shows up in the diff.
func TestCmpWithoutOptions(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.1")
	rip := netip.MustParseAddr("198.51.100.10")
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip, Port: 80}
	kernelSvc := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: vip, Port: 80,
		Scheduler: ipvs.WeightedLeastConnection, Netmask: 32}
	dst := ipvs.Destination{Address: rip, Port: 80, Forward: ipvs.DirectRoute, Weight: 1}
	kernelDst := ipvs.Destination{Family: ipvs.IPv4, Address: netip.AddrFrom16(rip.As16()), Port: 80,
		Forward: ipvs.DirectRoute, Weight: 1, TunnelPort: 6080} // tunnel fields ignored outside Tunnel
	tests := []struct {
		name      string
		want, got any
		same      bool
		mention   string // in the diff when not the same
	}{
		{"service defaults", svc, kernelSvc, true, ""},
		{"service scheduler", svc, func() ipvs.Service { s := kernelSvc; s.Scheduler = ipvs.RoundRobin; return s }(), false, "rr"},
		{"service port", svc, func() ipvs.Service { s := svc; s.Port = 81; return s }(), false, "81"},
		{"service timeout in seconds", ipvs.Service{FWMark: 1, Timeout: 300 * time.Second},
			ipvs.Service{FWMark: 1, Timeout: 300*time.Second + time.Millisecond, Protocol: ipvs.TCP}, true, ""},
		{"ipv4 mask given as a prefix", ipvs.Service{FWMark: 1, IPv4Mask: netip.MustParseAddr("255.255.255.0")},
			ipvs.Service{FWMark: 1, Netmask: 24}, true, ""},
		{"full ipv4 mask", ipvs.Service{FWMark: 1, IPv4Mask: netip.MustParseAddr("255.255.255.255")}, ipvs.Service{FWMark: 1}, true, ""},
		{"ipv4 mask that is no prefix", ipvs.Service{FWMark: 1, IPv4Mask: netip.MustParseAddr("255.0.255.0")},
			ipvs.Service{FWMark: 1, Netmask: 8}, false, "IPv4Mask"},
		{"ipv4 mask of an ipv6 service", ipvs.Service{Family: ipvs.IPv6, FWMark: 1, IPv4Mask: netip.MustParseAddr("255.0.255.0")},
			ipvs.Service{Family: ipvs.IPv6, FWMark: 1}, true, ""},
		{"destination defaults", dst, kernelDst, true, ""},
		{"destination weight", dst, func() ipvs.Destination { d := dst; d.Weight = 2; return d }(), false, "Weight"},
		{"tunnel port counts for tunnels",
			ipvs.Destination{Address: rip, Forward: ipvs.Tunnel, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080},
			ipvs.Destination{Address: rip, Forward: ipvs.Tunnel, TunnelType: ipvs.TunnelGUE, TunnelPort: 6081}, false, "6081"},
		{"virtual servers",
			[]ipvs.VirtualServer{{Service: svc, Destinations: []ipvs.Destination{dst}}},
			[]ipvs.VirtualServer{{Service: kernelSvc, Destinations: []ipvs.Destination{kernelDst}}}, true, ""},
		{"virtual server missing destination",
			ipvs.VirtualServer{Service: svc, Destinations: []ipvs.Destination{dst}},
			ipvs.VirtualServer{Service: svc}, false, "Destinations"},
		{"service status",
			ipvs.ServiceStatus{Service: svc, Destinations: []ipvs.DestinationStatus{{Destination: dst, ActiveConns: 1}}},
			ipvs.ServiceStatus{Service: kernelSvc, Destinations: []ipvs.DestinationStatus{{Destination: kernelDst, ActiveConns: 2}}},
			false, "ActiveConns"},
		{"daemon", ipvs.Daemon{State: ipvs.DaemonMaster, Group: netip.MustParseAddr("224.0.0.81")},
			ipvs.Daemon{State: ipvs.DaemonMaster, Group: netip.MustParseAddr("224.0.0.82")}, false, "224.0.0.82"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diff := cmp.Diff(tt.want, tt.got) // no options: must not panic
			if tt.same && diff != "" {
				t.Errorf("cmp.Diff reports a difference between equivalent values (-want +got):\n%s", diff)
			}
			if !tt.same && !strings.Contains(diff, tt.mention) {
				t.Errorf("cmp.Diff = %q, want a diff mentioning %q", diff, tt.mention)
			}
		})
	}
}
