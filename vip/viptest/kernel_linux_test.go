package viptest_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vip/viptest"
)

// Errnos reach the Client only on Linux: elsewhere mdlayher/netlink reports every
// error reply as one generic error.

// TestFailNext: an injected errno fails exactly the next request of its kind, without
// effect, and reaches the caller as the kernel's would.
func TestFailNext(t *testing.T) {
	ctx := context.Background()
	v := addr("eth0", "192.0.2.10/32")
	tests := []struct {
		name  string
		op    viptest.Op
		errno viptest.Errno
		call  func(c *vip.Client) error
		is    error
		want  []vip.Address // after the failed call
	}{
		{"add without CAP_NET_ADMIN", viptest.OpAdd, viptest.EPERM,
			func(c *vip.Client) error { return c.Add(ctx, v) }, os.ErrPermission, nil},
		{"remove fails", viptest.OpRemove, viptest.ENOBUFS,
			func(c *vip.Client) error { return c.Remove(ctx, addr("lo", "192.0.2.1/32")) }, syscall.ENOBUFS,
			[]vip.Address{addr("lo", "192.0.2.1/32")}},
		{"list addresses fails", viptest.OpListAddresses, viptest.EINVAL,
			func(c *vip.Client) error { _, err := c.List(ctx, ""); return err }, syscall.EINVAL,
			[]vip.Address{addr("lo", "192.0.2.1/32")}},
		{"cleanup cannot list links", viptest.OpListLinks, viptest.EPERM,
			func(c *vip.Client) error { _, err := c.Cleanup(ctx); return err }, syscall.EPERM,
			[]vip.Address{addr("lo", "192.0.2.1/32")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := viptest.New(nil)
			if tt.op != viptest.OpAdd {
				if err := k.AddAddress(addr("lo", "192.0.2.1/32")); err != nil {
					t.Fatal(err)
				}
			}
			c := vip.NewClient(k.Dial(), nil)
			k.FailNext(tt.op, tt.errno)
			if err := tt.call(c); !errors.Is(err, tt.is) {
				t.Fatalf("got error %v, want one wrapping %v", err, tt.is)
			}
			if diff := cmp.Diff(tt.want, k.Addresses()); diff != "" {
				t.Errorf("after the failure (-want +got):\n%s", diff)
			}
			// Once only: the same call now succeeds.
			if err := tt.call(c); err != nil {
				t.Errorf("second call: %v", err)
			}
		})
	}
}

// TestRemoveWhatIsGone: Remove of an address that is not there gets EADDRNOTAVAIL from
// the kernel, which vip.Client treats as done.
func TestRemoveWhatIsGone(t *testing.T) {
	k := viptest.New(nil)
	c := vip.NewClient(k.Dial(), nil)
	if err := c.Remove(context.Background(), addr("eth0", "192.0.2.10/32")); err != nil {
		t.Errorf("Remove of a missing address: %v", err)
	}
	if err := k.DeleteAddress(addr("eth0", "192.0.2.10/32")); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("DeleteAddress of a missing address = %v, want EADDRNOTAVAIL", err)
	}
}

func TestErrnoMatchesSyscallErrno(t *testing.T) {
	if !errors.Is(viptest.EPERM, os.ErrPermission) || !errors.Is(viptest.EEXIST, syscall.EEXIST) || errors.Is(viptest.EEXIST, syscall.ENODEV) {
		t.Error("Errno does not match the syscall.Errno of its number, and only it")
	}
}
