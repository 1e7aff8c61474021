package ipvs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/ipvs"
)

func TestApplyPipelinedWithPerOpErrors(t *testing.T) {
	ctx := context.Background()
	c, srv := newFake(t, nil)
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80}
	missing := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 81}
	d := ipvs.Destination{Address: rip4a, Port: 80, Forward: ipvs.DirectRoute, Weight: 1}
	ops := []ipvs.Op{
		{Kind: ipvs.OpCreateService, Service: svc},
		{Kind: ipvs.OpCreateDestination, Service: svc, Destination: d},
		{Kind: ipvs.OpCreateDestination, Service: svc, Destination: d},                                          // 2: exists
		{Kind: ipvs.OpCreateDestination, Service: missing, Destination: d},                                      // 3: no service
		{Kind: ipvs.OpDeleteDestination, Service: svc, Destination: ipvs.Destination{Address: rip4b, Port: 80}}, // 4: no dest
		{Kind: ipvs.OpUpdateService, Service: ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80, Scheduler: ipvs.RoundRobin}},
	}
	before := srv.Requests()
	err := c.Apply(ctx, ops)
	var ae *ipvs.ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("Apply: %v, want *ApplyError", err)
	}
	var idx []int
	for _, oe := range ae.Errors {
		idx = append(idx, oe.Index)
	}
	if diff := cmp.Diff([]int{2, 3, 4}, idx); diff != "" {
		t.Errorf("failed indexes (-want +got):\n%s", diff)
	}
	if !errors.Is(ae.Errors[0], ipvs.ErrExists) || !errors.Is(ae.Errors[1], ipvs.ErrServiceNotFound) || !errors.Is(ae.Errors[2], ipvs.ErrDestinationNotFound) {
		t.Errorf("errors do not match their sentinels: %v", ae.Errors)
	}
	if !errors.Is(err, ipvs.ErrExists) {
		t.Errorf("errors.Is(ApplyError, ErrExists) = false")
	}
	if got := srv.Requests() - before; got != len(ops) {
		t.Errorf("server saw %d requests, want %d", got, len(ops))
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 1 || snap[0].Service.Scheduler != ipvs.RoundRobin || len(snap[0].Destinations) != 1 {
		t.Errorf("table after Apply: %+v", snap)
	}
}

func TestApplyManyWindows(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(t, nil)
	var ops []ipvs.Op
	for i := range 300 { // more than two windows of 128
		svc := ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: uint16(i + 1)}
		ops = append(ops, ipvs.Op{Kind: ipvs.OpCreateService, Service: svc},
			ipvs.Op{Kind: ipvs.OpCreateDestination, Service: svc, Destination: ipvs.Destination{Address: rip4a, Port: 80, Weight: 1}})
	}
	ops = append(ops, ipvs.Op{Kind: ipvs.OpCreateService, Service: ops[0].Service}) // last op fails
	err := c.Apply(ctx, ops)
	var ae *ipvs.ApplyError
	if !errors.As(err, &ae) || len(ae.Errors) != 1 || ae.Errors[0].Index != len(ops)-1 {
		t.Fatalf("Apply: %v, want exactly the last operation to fail", err)
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 300 {
		t.Fatalf("%d services, want 300", len(snap))
	}
	for _, s := range snap {
		if len(s.Destinations) != 1 {
			t.Fatalf("%s has %d destinations", s.Service, len(s.Destinations))
		}
	}
}

func TestDiff(t *testing.T) {
	web := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: vip4, Port: 80, Scheduler: "wlc"}
	dns := ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.UDP, Address: vip4, Port: 53, Scheduler: "rr"}
	a := ipvs.Destination{Family: ipvs.IPv4, Address: rip4a, Port: 80, Forward: ipvs.DirectRoute, Weight: 1}
	b := ipvs.Destination{Family: ipvs.IPv4, Address: rip4b, Port: 80, Forward: ipvs.DirectRoute, Weight: 1}
	heavier := b
	heavier.Weight = 5
	tests := []struct {
		name             string
		desired, current []ipvs.VirtualServer
		want             []string
	}{
		{"empty to empty", nil, nil, nil},
		{
			name:    "defaults and kernel noise are not changes",
			desired: []ipvs.VirtualServer{{Service: ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80, Netmask: 32}, Destinations: []ipvs.Destination{{Address: rip4a, Port: 80, Forward: ipvs.DirectRoute, Weight: 1, TunnelPort: 9}}}},
			current: []ipvs.VirtualServer{{Service: web, Destinations: []ipvs.Destination{a}}},
		},
		{
			name:    "create from empty",
			desired: []ipvs.VirtualServer{{Service: web, Destinations: []ipvs.Destination{a, b}}},
			want: []string{"create service TCP 192.0.2.1:80", "create destination TCP 192.0.2.1:80 -> 198.51.100.10:80",
				"create destination TCP 192.0.2.1:80 -> 198.51.100.11:80"},
		},
		{
			name:    "update, add, remove",
			desired: []ipvs.VirtualServer{{Service: ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80, Scheduler: "rr"}, Destinations: []ipvs.Destination{heavier}}},
			current: []ipvs.VirtualServer{{Service: web, Destinations: []ipvs.Destination{a, b}}, {Service: dns}},
			want: []string{"update service TCP 192.0.2.1:80", "delete destination TCP 192.0.2.1:80 -> 198.51.100.10:80",
				"update destination TCP 192.0.2.1:80 -> 198.51.100.11:80", "delete service UDP 192.0.2.1:53"},
		},
		{
			name:    "fwmark identity ignores address fields",
			desired: []ipvs.VirtualServer{{Service: ipvs.Service{FWMark: 5, Scheduler: "rr", Flags: ipvs.FlagPersistent, Timeout: 30 * time.Second}}},
			current: []ipvs.VirtualServer{{Service: ipvs.Service{Family: ipvs.IPv4, FWMark: 5, Scheduler: "rr"}}},
			want:    []string{"update service FWM 5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, fmtOps(ipvs.Diff(tt.desired, tt.current))); diff != "" {
				t.Errorf("ops (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReconcileConverges(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(t, nil)
	if err := c.CreateService(ctx, ipvs.Service{Protocol: ipvs.UDP, Address: vip4, Port: 53}); err != nil {
		t.Fatal(err)
	}
	desired := []ipvs.VirtualServer{
		{Service: ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80, Scheduler: ipvs.RoundRobin},
			Destinations: []ipvs.Destination{{Address: rip4a, Port: 80, Forward: ipvs.DirectRoute, Weight: 1}}},
		{Service: ipvs.Service{Family: ipvs.IPv6, FWMark: 1, Flags: ipvs.FlagPersistent, Timeout: time.Minute, Netmask: 64},
			Destinations: []ipvs.Destination{{Address: rip6, Forward: ipvs.Tunnel, Weight: 2, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080}}},
	}
	ops, err := c.Reconcile(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 5 {
		t.Errorf("first Reconcile did %v", fmtOps(ops))
	}
	ops, err = c.Reconcile(ctx, desired)
	if err != nil || len(ops) != 0 {
		t.Errorf("second Reconcile: %v, %v; want nothing to do", fmtOps(ops), err)
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string(nil), fmtOps(ipvs.Diff(desired, ipvs.Table(snap)))); diff != "" {
		t.Errorf("table differs from desired (-want +got):\n%s", diff)
	}
}
