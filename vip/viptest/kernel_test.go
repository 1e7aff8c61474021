package viptest_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vip/viptest"
)

func addr(iface, prefix string) vip.Address {
	return vip.Address{Interface: iface, Prefix: netip.MustParsePrefix(prefix)}
}

func owned(a vip.Address) vip.Address { a.Owned = true; return a }

// TestClientAgainstKernel runs a real vip.Client's calls against the fake and checks
// what the kernel then holds.
func TestClientAgainstKernel(t *testing.T) {
	host := addr("eth0", "192.0.2.1/24")
	tests := []struct {
		name    string
		calls   func(ctx context.Context, c *vip.Client) error
		want    []vip.Address
		wantErr error
	}{
		{
			name: "add IPv4 and IPv6",
			calls: func(ctx context.Context, c *vip.Client) error {
				return errors.Join(
					c.Add(ctx, addr("eth0", "2001:db8::10/128")),
					c.Add(ctx, addr("eth0", "192.0.2.10/32")),
					c.Add(ctx, vip.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.11/32"), Label: "eth0:vip"}),
				)
			},
			want: []vip.Address{host, owned(addr("eth0", "192.0.2.10/32")),
				owned(vip.Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.11/32"), Label: "eth0:vip"}),
				owned(addr("eth0", "2001:db8::10/128"))},
		},
		{
			name: "adding twice is one address",
			calls: func(ctx context.Context, c *vip.Client) error {
				return errors.Join(c.Add(ctx, addr("lo", "192.0.2.10/32")), c.Add(ctx, addr("lo", "192.0.2.10/32")))
			},
			want: []vip.Address{owned(addr("lo", "192.0.2.10/32")), host},
		},
		{
			name: "another prefix length on the same interface conflicts",
			calls: func(ctx context.Context, c *vip.Client) error {
				return c.Add(ctx, addr("eth0", "192.0.2.1/32"))
			},
			want:    []vip.Address{host},
			wantErr: vip.ErrConflict,
		},
		{
			name: "the same address on another interface is added",
			calls: func(ctx context.Context, c *vip.Client) error {
				return c.Add(ctx, addr("lo", "192.0.2.1/32"))
			},
			want: []vip.Address{owned(addr("lo", "192.0.2.1/32")), host},
		},
		{
			name: "unknown interface",
			calls: func(ctx context.Context, c *vip.Client) error {
				return c.Add(ctx, addr("eth9", "192.0.2.10/32"))
			},
			want:    []vip.Address{host},
			wantErr: vip.ErrUnknownInterface,
		},
		{
			name: "remove what was added",
			calls: func(ctx context.Context, c *vip.Client) error {
				return errors.Join(c.Add(ctx, addr("eth0", "2001:db8::10/64")), c.Remove(ctx, addr("eth0", "2001:db8::10/64")))
			},
			want: []vip.Address{host},
		},
		{
			name: "remove someone else's address",
			calls: func(ctx context.Context, c *vip.Client) error {
				return c.Remove(ctx, host)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := viptest.New(&viptest.Config{Addresses: []vip.Address{host}})
			c := vip.NewClient(k.Dial(), nil)
			defer c.Close()
			ctx := context.Background()
			if err := tt.calls(ctx, c); !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, k.Addresses()); diff != "" {
				t.Errorf("Kernel.Addresses (-want +got):\n%s", diff)
			}
			listed, err := c.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, listed); diff != "" {
				t.Errorf("Client.List disagrees with Kernel.Addresses (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCleanupAfterCrash: addresses a previous run left (Config.Addresses with Owned)
// are what Owned and Cleanup find; an administrator's addresses stay.
func TestCleanupAfterCrash(t *testing.T) {
	left := []vip.Address{owned(addr("lo", "192.0.2.10/32")), owned(addr("eth0", "2001:db8::10/128"))}
	admin := []vip.Address{addr("eth0", "192.0.2.1/24"), addr("eth0", "2001:db8::1/64")}
	k := viptest.New(&viptest.Config{Addresses: append(append([]vip.Address{}, admin...), left...)})
	c := vip.NewClient(k.Dial(), nil)
	ctx := context.Background()
	got, err := c.Owned(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(left, got); diff != "" {
		t.Errorf("Owned (-want +got):\n%s", diff)
	}
	removed, err := c.Cleanup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(left, removed); diff != "" {
		t.Errorf("Cleanup removed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(admin, k.Addresses()); diff != "" {
		t.Errorf("left after Cleanup (-want +got):\n%s", diff)
	}
}

// TestProto: a Client with another mark does not own the default mark's addresses,
// and a kernel that drops the mark leaves nothing owned.
func TestProto(t *testing.T) {
	ctx := context.Background()
	k := viptest.New(&viptest.Config{Proto: 7, Addresses: []vip.Address{owned(addr("lo", "192.0.2.10/32"))}})
	if got, err := vip.NewClient(k.Dial(), nil).Owned(ctx); err != nil || len(got) != 0 {
		t.Errorf("Owned with the default mark = %v, %v; want none", got, err)
	}
	got, err := vip.NewClient(k.Dial(), &vip.Config{Proto: 7}).Owned(ctx)
	if err != nil || len(got) != 1 {
		t.Errorf("Owned with mark 7 = %v, %v; want the one address", got, err)
	}

	old := viptest.New(&viptest.Config{DropProto: true})
	c := vip.NewClient(old.Dial(), nil)
	if err := c.Add(ctx, addr("lo", "192.0.2.10/32")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]vip.Address{addr("lo", "192.0.2.10/32")}, old.Addresses()); diff != "" {
		t.Errorf("DropProto keeps the mark (-want +got):\n%s", diff)
	}
}

// TestKernelRules checks the outside changes against Linux's rules for duplicates and
// deletions.
func TestKernelRules(t *testing.T) {
	tests := []struct {
		name    string
		do      func(k *viptest.Kernel) error
		wantErr error
		want    []vip.Address
	}{
		{"IPv4 with another prefix length is another address",
			func(k *viptest.Kernel) error { return k.AddAddress(addr("eth0", "192.0.2.1/32")) },
			nil, []vip.Address{addr("eth0", "192.0.2.1/24"), addr("eth0", "192.0.2.1/32"), addr("eth0", "2001:db8::1/64")}},
		{"IPv4 duplicate",
			func(k *viptest.Kernel) error { return k.AddAddress(addr("eth0", "192.0.2.1/24")) },
			viptest.EEXIST, []vip.Address{addr("eth0", "192.0.2.1/24"), addr("eth0", "2001:db8::1/64")}},
		{"IPv6 with another prefix length is a duplicate",
			func(k *viptest.Kernel) error { return k.AddAddress(addr("eth0", "2001:db8::1/128")) },
			viptest.EEXIST, []vip.Address{addr("eth0", "192.0.2.1/24"), addr("eth0", "2001:db8::1/64")}},
		{"unknown interface",
			func(k *viptest.Kernel) error { return k.AddAddress(addr("eth1", "192.0.2.2/32")) },
			viptest.ENODEV, []vip.Address{addr("eth0", "192.0.2.1/24"), addr("eth0", "2001:db8::1/64")}},
		{"delete with the wrong prefix length",
			func(k *viptest.Kernel) error { return k.DeleteAddress(addr("eth0", "192.0.2.1/32")) },
			viptest.EADDRNOTAVAIL, []vip.Address{addr("eth0", "192.0.2.1/24"), addr("eth0", "2001:db8::1/64")}},
		{"delete",
			func(k *viptest.Kernel) error { return k.DeleteAddress(addr("eth0", "2001:db8::1/64")) },
			nil, []vip.Address{addr("eth0", "192.0.2.1/24")}},
		{"link down drops IPv6 only",
			func(k *viptest.Kernel) error { return k.SetLinkUp("eth0", false) },
			nil, []vip.Address{addr("eth0", "192.0.2.1/24")}},
		{"IPv6 newest first, IPv4 oldest first, IPv4 before IPv6",
			func(k *viptest.Kernel) error {
				return errors.Join(k.AddAddress(addr("eth0", "2001:db8::2/64")), k.AddAddress(addr("eth0", "192.0.2.2/24")),
					k.AddAddress(addr("lo", "2001:db8::3/128")))
			},
			nil, []vip.Address{addr("eth0", "192.0.2.1/24"), addr("eth0", "192.0.2.2/24"), addr("lo", "2001:db8::3/128"),
				addr("eth0", "2001:db8::2/64"), addr("eth0", "2001:db8::1/64")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := viptest.New(&viptest.Config{Addresses: []vip.Address{addr("eth0", "192.0.2.1/24"), addr("eth0", "2001:db8::1/64")}})
			if err := tt.do(k); !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, k.Addresses()); diff != "" {
				t.Errorf("Addresses (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAdministratorDeletes: an address deleted from outside is gone for the Client,
// which can add it again.
func TestAdministratorDeletes(t *testing.T) {
	ctx := context.Background()
	k := viptest.New(nil)
	c := vip.NewClient(k.Dial(), nil)
	v := addr("eth0", "192.0.2.10/32")
	if err := c.Add(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := k.DeleteAddress(v); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Owned(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Owned after the delete = %v, %v; want none", got, err)
	}
	if err := c.Add(ctx, v); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]vip.Address{owned(v)}, k.Addresses()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestConcurrentClients: several Clients on one Kernel, each adding its own addresses
// at the same time (run with -race).
func TestConcurrentClients(t *testing.T) {
	ctx := context.Background()
	k := viptest.New(nil)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			c := vip.NewClient(k.Dial(), nil)
			for j := range 5 {
				if err := c.Add(ctx, addr("lo", fmt.Sprintf("192.0.2.%d/32", 10*i+j+1))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := len(k.Addresses()); got != 20 {
		t.Errorf("got %d addresses, want 20", got)
	}
}

func TestNewPanicsOnBadConfig(t *testing.T) {
	for name, cfg := range map[string]*viptest.Config{
		"duplicate name":  {Links: []viptest.Link{{Name: "eth0"}, {Name: "eth0"}}},
		"duplicate index": {Links: []viptest.Link{{Name: "eth0", Index: 2}, {Name: "eth1"}}},
		"unknown link":    {Addresses: []vip.Address{addr("eth7", "192.0.2.1/32")}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			viptest.New(cfg)
		})
	}
}
