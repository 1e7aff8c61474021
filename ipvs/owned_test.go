package ipvs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/ipvs"
)

// TestReconcileOwned: a daemon that owns the services on its VIP converges them and
// deletes its stale ones, but never touches another program's service.
func TestReconcileOwned(t *testing.T) {
	ctx := context.Background()
	c, _ := newFake(t, nil)
	foreign := ipvs.Service{Protocol: ipvs.TCP, Address: vip6, Port: 443}
	stale := ipvs.Service{Protocol: ipvs.UDP, Address: vip4, Port: 53}
	for _, s := range []ipvs.Service{foreign, stale} {
		if err := c.CreateService(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CreateDestination(ctx, foreign, ipvs.Destination{Address: rip6, Port: 443, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	desired := []ipvs.VirtualServer{{Service: ipvs.Service{Protocol: ipvs.TCP, Address: vip4, Port: 80},
		Destinations: []ipvs.Destination{{Address: rip4a, Port: 80, Weight: 1}}}}
	ours := func(s ipvs.Service) bool { return s.Address == vip4 }
	ops, err := c.ReconcileOwned(ctx, desired, ours)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create service TCP 192.0.2.1:80",
		"create destination TCP 192.0.2.1:80 -> 198.51.100.10:80",
		"delete service UDP 192.0.2.1:53",
	}
	if diff := cmp.Diff(want, fmtOps(ops)); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
	if _, err := c.Service(ctx, foreign); err != nil {
		t.Errorf("the foreign service is gone: %v", err)
	}
	if ds, err := c.Destinations(ctx, foreign); err != nil || len(ds) != 1 {
		t.Errorf("the foreign service's destinations: %v, %v; want one", ds, err)
	}
	if ops, err := c.ReconcileOwned(ctx, desired, ours); err != nil || len(ops) != 0 {
		t.Errorf("second ReconcileOwned: %v, %v; want nothing to do", fmtOps(ops), err)
	}
	// Reconcile owns everything: the foreign service goes.
	ops, err = c.Reconcile(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"delete service TCP [2001:db8::1]:443"}, fmtOps(ops)); diff != "" {
		t.Errorf("Reconcile (-want +got):\n%s", diff)
	}
}

// TestInvalidServiceClientSide: a Service with neither Address nor FWMark fails before
// the kernel is asked, with an error naming the field.
func TestInvalidServiceClientSide(t *testing.T) {
	ctx := context.Background()
	c, srv := newFake(t, nil)
	before := srv.Requests()
	bad := ipvs.Service{Protocol: ipvs.TCP, Port: 80}
	calls := map[string]func() error{
		"CreateService": func() error { return c.CreateService(ctx, bad) },
		"DeleteService": func() error { return c.DeleteService(ctx, bad) },
		"Service":       func() error { _, err := c.Service(ctx, bad); return err },
		"CreateDestination": func() error {
			return c.CreateDestination(ctx, bad, ipvs.Destination{Address: rip4a, Port: 80})
		},
		"Apply": func() error { return c.Apply(ctx, []ipvs.Op{{Kind: ipvs.OpCreateService, Service: bad}}) },
		"Reconcile": func() error {
			_, err := c.Reconcile(ctx, []ipvs.VirtualServer{{Service: bad}})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !errors.Is(err, ipvs.ErrInvalidService) {
				t.Fatalf("error %v, want ErrInvalidService", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "Address") || strings.Count(msg, "ipvs:") != 1 {
				t.Errorf("error text %q: want the field named and one ipvs: prefix", msg)
			}
		})
	}
	// Reconcile's Snapshot is the only request that reached the fake.
	if got := srv.Requests() - before; got > 2 {
		t.Errorf("%d requests reached the kernel, want only Reconcile's snapshot", got)
	}
}

// TestErrorTextDoesNotStutter: a cancelled Snapshot says "ipvs:" once.
func TestErrorTextDoesNotStutter(t *testing.T) {
	c, _ := newFake(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Snapshot(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if got, want := err.Error(), "ipvs: snapshot: context canceled"; got != want {
		t.Errorf("error text %q, want %q", got, want)
	}
}
