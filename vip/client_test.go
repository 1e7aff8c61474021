package vip

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

func TestValidate(t *testing.T) {
	p4 := netip.MustParsePrefix("192.0.2.1/32")
	tests := []struct {
		name    string
		a       Address
		wantErr error
		ok      bool
	}{
		{name: "plain", a: Address{Interface: "lo", Prefix: p4}, ok: true},
		{name: "label", a: Address{Interface: "eth0", Prefix: p4, Label: "eth0:vip1"}, ok: true},
		{name: "label of 15 bytes", a: Address{Interface: "eth0", Prefix: p4, Label: "eth0:0123456789"}, ok: true},
		{name: "label of 16 bytes", a: Address{Interface: "eth0", Prefix: p4, Label: "eth0:01234567890"}, wantErr: ErrInvalidLabel},
		{name: "label of another interface", a: Address{Interface: "eth0", Prefix: p4, Label: "eth1:1"}, wantErr: ErrInvalidLabel},
		{name: "label on IPv6", a: Address{Interface: "eth0", Prefix: netip.MustParsePrefix("2001:db8::1/128"), Label: "eth0:1"}, wantErr: ErrLabelIPv6},
		{name: "no interface", a: Address{Prefix: p4}},
		{name: "no prefix", a: Address{Interface: "lo"}},
		{name: "multicast", a: Address{Interface: "lo", Prefix: netip.MustParsePrefix("224.0.0.18/32")}},
		{name: "mapped", a: Address{Interface: "lo", Prefix: netip.MustParsePrefix("::ffff:192.0.2.1/128")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Validate()
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("Validate = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestAddRequest(t *testing.T) {
	tests := []struct {
		name string
		a    Address
		want ifaddr
	}{
		{
			name: "IPv4 with label",
			a:    Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/24"), Label: "eth0:1", NoPrefixRoute: true},
			want: ifaddr{family: afInet, prefixLen: 24, flags: ifaFNoPrefixRoute, index: 2, addr: netip.MustParseAddr("192.0.2.10"), label: "eth0:1", proto: DefaultProto, hasProto: true},
		},
		{
			name: "IPv4 host scope",
			a:    Address{Interface: "lo", Prefix: netip.MustParsePrefix("192.0.2.10/32"), Scope: ScopeHost},
			want: ifaddr{family: afInet, prefixLen: 32, scope: 254, index: 1, addr: netip.MustParseAddr("192.0.2.10"), proto: DefaultProto, hasProto: true},
		},
		{
			name: "IPv6 /128: no DAD, preferred lifetime 0",
			a:    Address{Interface: "lo", Prefix: netip.MustParsePrefix("2001:db8::10/128")},
			want: ifaddr{family: afInet6, prefixLen: 128, flags: ifaFNoDAD, index: 1, addr: netip.MustParseAddr("2001:db8::10"), proto: DefaultProto, hasProto: true, setLifetime: true, preferred: 0},
		},
		{
			name: "IPv6 /64: no DAD, default lifetimes",
			a:    Address{Interface: "eth0", Prefix: netip.MustParsePrefix("2001:db8::10/64")},
			want: ifaddr{family: afInet6, prefixLen: 64, flags: ifaFNoDAD, index: 2, addr: netip.MustParseAddr("2001:db8::10"), proto: DefaultProto, hasProto: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newFakeKernel(true)
			c := k.client(nil)
			if err := c.Add(context.Background(), tt.a); err != nil {
				t.Fatal(err)
			}
			if len(k.added) != 1 {
				t.Fatalf("kernel got %d add requests, want 1", len(k.added))
			}
			if diff := cmp.Diff(tt.want, k.added[0], cmp.AllowUnexported(ifaddr{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			wantFlags := netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl
			if k.flags[0] != wantFlags {
				t.Errorf("header flags = %v, want %v", k.flags[0], wantFlags)
			}
			// Idempotent: a second Add sends nothing.
			if err := c.Add(context.Background(), tt.a); err != nil || len(k.added) != 1 {
				t.Errorf("second Add = %v with %d requests, want nil and no new request", err, len(k.added))
			}
			got, err := c.List(context.Background(), tt.a.Interface)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.a
			want.Owned = true
			if diff := cmp.Diff([]Address{want}, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAddLeavesForeignAddressUnowned(t *testing.T) {
	k := newFakeKernel(true)
	k.addrs = append(k.addrs, ifaddr{family: afInet, prefixLen: 32, index: 1, addr: netip.MustParseAddr("192.0.2.10"), label: "lo"})
	c := k.client(nil)
	a := Address{Interface: "lo", Prefix: netip.MustParsePrefix("192.0.2.10/32")}
	if err := c.Add(context.Background(), a); err != nil {
		t.Fatalf("Add of an address already there = %v, want nil", err)
	}
	if len(k.added) != 0 {
		t.Fatalf("Add sent %d requests for an address already there", len(k.added))
	}
	if removed, err := c.Cleanup(context.Background()); err != nil || len(removed) != 0 || len(k.addrs) != 1 {
		t.Fatalf("Cleanup = %v, %v: it must not claim an address someone else added", removed, err)
	}
}

func TestAddConflictAndRemove(t *testing.T) {
	k := newFakeKernel(true)
	c := k.client(nil)
	a := Address{Interface: "lo", Prefix: netip.MustParsePrefix("192.0.2.10/32")}
	if err := c.Add(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	for _, b := range []Address{
		{Interface: "lo", Prefix: netip.MustParsePrefix("192.0.2.10/24")},
	} {
		if err := c.Add(context.Background(), b); !errors.Is(err, ErrConflict) {
			t.Errorf("Add(%s) = %v, want ErrConflict", b, err)
		}
	}
	if err := c.Add(context.Background(), Address{Interface: "eth7", Prefix: netip.MustParsePrefix("192.0.2.11/32")}); !errors.Is(err, ErrUnknownInterface) {
		t.Errorf("Add on eth7 = %v, want ErrUnknownInterface", err)
	}
	// The same address on another interface is no conflict: it is added there.
	twin := Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/32")}
	if err := c.Add(context.Background(), twin); err != nil {
		t.Errorf("Add(%s) beside the same address on lo = %v, want nil", twin, err)
	}
	if got, err := c.List(context.Background(), "eth0"); err != nil || len(got) != 1 || got[0].Prefix != twin.Prefix {
		t.Errorf("List(eth0) = %v, %v, want %s", got, err, twin.Prefix)
	}
	for _, x := range []Address{a, a, twin, twin} {
		if err := c.Remove(context.Background(), x); err != nil {
			t.Fatalf("Remove(%s): %v", x, err)
		}
	}
	if len(k.addrs) != 0 {
		t.Fatalf("kernel still has %v", k.addrs)
	}
	if err := c.Remove(context.Background(), Address{Interface: "eth7", Prefix: netip.MustParsePrefix("192.0.2.11/32")}); err != nil {
		t.Fatalf("Remove from a missing interface = %v, want nil", err)
	}
}

// TestOwnershipWithoutIFAProto plays a kernel older than 5.18, which drops IFA_PROTO:
// ownership then rests on the state file.
func TestOwnershipWithoutIFAProto(t *testing.T) {
	foreign := ifaddr{family: afInet, prefixLen: 32, index: 1, addr: netip.MustParseAddr("192.0.2.99"), label: "lo"}
	mine := []Address{
		{Interface: "lo", Prefix: netip.MustParsePrefix("192.0.2.10/32")},
		{Interface: "eth0", Prefix: netip.MustParsePrefix("2001:db8::10/128")},
	}
	t.Run("state file", func(t *testing.T) {
		k := newFakeKernel(false)
		k.addrs = append(k.addrs, foreign)
		state := filepath.Join(t.TempDir(), "vips")
		c := k.client(&Config{StateFile: state})
		for _, a := range mine {
			if err := c.Add(context.Background(), a); err != nil {
				t.Fatal(err)
			}
		}
		// A restarted daemon: a new Client on the same state file.
		c2 := k.client(&Config{StateFile: state})
		got, err := c2.Cleanup(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var want []Address
		for _, a := range mine {
			a.Owned = true
			want = append(want, a)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Cleanup removed (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]ifaddr{foreign}, k.addrs, cmp.AllowUnexported(ifaddr{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Fatalf("kernel after Cleanup (-want +got):\n%s", diff)
		}
		b, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		if rest, err := parseState(b); err != nil || len(rest) != 0 {
			t.Fatalf("state file after Cleanup holds %v (%v), want nothing", rest, err)
		}
	})
	t.Run("no state file", func(t *testing.T) {
		k := newFakeKernel(false)
		c := k.client(nil)
		if err := c.Add(context.Background(), mine[0]); err != nil {
			t.Fatal(err)
		}
		got, err := c.Cleanup(context.Background())
		if err != nil || len(got) != 0 {
			t.Fatalf("Cleanup = %v, %v; want nothing: without IFA_PROTO or a state file there is no record", got, err)
		}
	})
	t.Run("IFA_PROTO ignores the state file", func(t *testing.T) {
		// On a kernel that keeps IFA_PROTO, an address listed in a stale state file
		// but re-added by someone else is not ours.
		k := newFakeKernel(true)
		k.addrs = append(k.addrs, foreign)
		state := filepath.Join(t.TempDir(), "vips")
		if err := os.WriteFile(state, formatState([]Address{{Interface: "lo", Prefix: netip.MustParsePrefix("192.0.2.99/32")}}), 0o600); err != nil {
			t.Fatal(err)
		}
		c := k.client(&Config{StateFile: state})
		got, err := c.Cleanup(context.Background())
		if err != nil || len(got) != 0 || len(k.addrs) != 1 {
			t.Fatalf("Cleanup = %v, %v, kernel %v; want the foreign address untouched", got, err, k.addrs)
		}
	})
}

func FuzzStateFile(f *testing.F) {
	f.Add([]byte("lo 192.0.2.1/32\neth0 2001:db8::1/128\n"))
	f.Add([]byte("# comment\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		as, err := parseState(b)
		if err != nil {
			return
		}
		again, err := parseState(formatState(as))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(as) != len(again) {
			t.Fatalf("round trip: %v then %v", as, again)
		}
		for i := range as {
			if as[i] != again[i] {
				t.Fatalf("round trip: %v then %v", as, again)
			}
		}
	})
}

func FuzzIfaddr(f *testing.F) {
	for _, m := range []ifaddr{
		{family: afInet, prefixLen: 32, index: 1, addr: netip.MustParseAddr("192.0.2.1"), label: "lo:1", proto: 0x6c, hasProto: true},
		{family: afInet6, prefixLen: 128, flags: ifaFNoDAD, index: 3, addr: netip.MustParseAddr("2001:db8::1"), setLifetime: true},
	} {
		b, _ := m.marshal()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m ifaddr
		if m.unmarshal(b) != nil {
			return
		}
		enc, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		var again ifaddr
		if err := again.unmarshal(enc); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if again != m {
			t.Fatalf("round trip:\n%+v\n%+v", m, again)
		}
	})
}

// TestRemoveWithoutPrivilege runs for unprivileged users (CI's second pass): the
// kernel's EPERM must match os.ErrPermission. Remove of an absent address is harmless
// if the check is wrong and the caller is privileged after all.
func TestRemoveWithoutPrivilege(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs as an unprivileged user only")
	}
	c, err := Dial(nil)
	if err != nil {
		t.Skipf("no rtnetlink here: %v", err)
	}
	defer c.Close()
	err = c.Remove(context.Background(), Address{Interface: "lo", Prefix: netip.MustParsePrefix("192.0.2.254/32")})
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("Remove without CAP_NET_ADMIN = %v, want os.ErrPermission", err)
	}
}

func TestFailedAddLeavesNoRecord(t *testing.T) {
	k := newFakeKernel(false)
	k.failAdd = int(syscall.EPERM)
	state := filepath.Join(t.TempDir(), "vips")
	c := k.client(&Config{StateFile: state})
	err := c.Add(context.Background(), Address{Interface: "lo", Prefix: netip.MustParsePrefix("192.0.2.77/32")})
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("Add = %v, want os.ErrPermission", err)
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if rest, err := parseState(b); err != nil || len(rest) != 0 {
		t.Fatalf("state file after a failed Add holds %v (%v), want nothing", rest, err)
	}
}
