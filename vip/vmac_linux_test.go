package vip

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
)

func TestVirtualMAC(t *testing.T) {
	if got := VirtualMAC(51, false).String(); got != "00:00:5e:00:01:33" {
		t.Errorf("VirtualMAC(51, IPv4) = %s", got)
	}
	if got := VirtualMAC(255, true).String(); got != "00:00:5e:00:02:ff" {
		t.Errorf("VirtualMAC(255, IPv6) = %s", got)
	}
}

func TestIntegrationMACVLAN(t *testing.T) {
	ns := testenv.NewNetNS(t)
	other := testenv.NewNetNS(t)
	testenv.Veth(t, ns, "eth0", other, "eth0")
	c := dialNS(t, ns, nil)
	ctx := context.Background()
	m := MACVLAN{Name: "vrrp.51", Parent: "eth0", MAC: VirtualMAC(51, false)}

	if err := c.EnsureMACVLAN(ctx, m); err != nil {
		t.Fatal(err)
	}
	out := ns.MustExec(t, "ip", "-d", "link", "show", "vrrp.51")
	for _, want := range []string{"vrrp.51@eth0", "link/ether 00:00:5e:00:01:33", "macvlan mode private", "state UP"} {
		if !strings.Contains(out, want) {
			t.Errorf("ip -d link show vrrp.51 lacks %q:\n%s", want, out)
		}
	}
	// No link-local address derived from the virtual MAC.
	if out := ns.MustExec(t, "ip", "-6", "addr", "show", "dev", "vrrp.51"); strings.Contains(out, "inet6") {
		t.Errorf("vrrp.51 has an IPv6 address:\n%s", out)
	}

	// Idempotent: the existing macvlan is reused, and brought back up.
	ns.MustExec(t, "ip", "link", "set", "vrrp.51", "down")
	if err := c.EnsureMACVLAN(ctx, m); err != nil {
		t.Fatalf("second EnsureMACVLAN: %v", err)
	}
	if out := ns.MustExec(t, "ip", "link", "show", "vrrp.51"); !strings.Contains(out, ",UP") {
		t.Errorf("vrrp.51 not brought up again:\n%s", out)
	}

	// The same name with another MAC is someone else's: refused, not touched.
	wrong := m
	wrong.MAC = VirtualMAC(52, false)
	err := c.EnsureMACVLAN(ctx, wrong)
	if !errors.Is(err, ErrNotMACVLAN) || !strings.Contains(err.Error(), "vrrp.51") || !strings.Contains(err.Error(), "00:00:5e:00:01:33") {
		t.Errorf("EnsureMACVLAN with another MAC: %v, want ErrNotMACVLAN naming vrrp.51 and its MAC", err)
	}
	if err := c.DeleteMACVLAN(ctx, wrong); !errors.Is(err, ErrNotMACVLAN) {
		t.Errorf("DeleteMACVLAN with another MAC: %v, want ErrNotMACVLAN", err)
	}

	// A same-named link of another kind is refused and left alone.
	ns.MustExec(t, "ip", "link", "add", "vrrp.9", "type", "veth", "peer", "name", "peer9")
	err = c.EnsureMACVLAN(ctx, MACVLAN{Name: "vrrp.9", Parent: "eth0", MAC: VirtualMAC(9, false)})
	if !errors.Is(err, ErrNotMACVLAN) || !strings.Contains(err.Error(), `"vrrp.9"`) || !strings.Contains(err.Error(), "veth") {
		t.Errorf("EnsureMACVLAN over a veth: %v, want ErrNotMACVLAN naming vrrp.9 and veth", err)
	}
	if _, err := ns.Exec("ip", "link", "show", "vrrp.9"); err != nil {
		t.Errorf("the veth vrrp.9 went away: %v", err)
	}

	// A missing parent is named.
	err = c.EnsureMACVLAN(ctx, MACVLAN{Name: "vrrp.7", Parent: "nosuch0", MAC: VirtualMAC(7, false)})
	if !errors.Is(err, ErrUnknownInterface) || !strings.Contains(err.Error(), "nosuch0") {
		t.Errorf("EnsureMACVLAN on a missing parent: %v", err)
	}

	if err := c.DeleteMACVLAN(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Exec("ip", "link", "show", "vrrp.51"); err == nil {
		t.Error("vrrp.51 still exists after DeleteMACVLAN")
	}
	// Deleting what is gone is no error.
	if err := c.DeleteMACVLAN(ctx, m); err != nil {
		t.Errorf("second DeleteMACVLAN: %v", err)
	}
}

func TestMACVLANInvalid(t *testing.T) {
	c := &Client{}
	for _, m := range []MACVLAN{
		{Name: "", Parent: "eth0", MAC: VirtualMAC(1, false)},
		{Name: "a-name-of-16byte", Parent: "eth0", MAC: VirtualMAC(1, false)},
		{Name: "vrrp.1", Parent: "", MAC: VirtualMAC(1, false)},
		{Name: "vrrp.1", Parent: "eth0", MAC: nil},
	} {
		if err := c.EnsureMACVLAN(context.Background(), m); err == nil {
			t.Errorf("EnsureMACVLAN(%+v) succeeded", m)
		}
	}
}

// TestIntegrationMACVLANAlias: EnsureMACVLAN gives the macvlan its Alias, also one
// it reuses, and MACVLANs lists the private macvlans with parent, MAC and alias
// (not the other links).
func TestIntegrationMACVLANAlias(t *testing.T) {
	ns := testenv.NewNetNS(t)
	other := testenv.NewNetNS(t)
	testenv.Veth(t, ns, "eth0", other, "eth0")
	c := dialNS(t, ns, nil)
	ctx := context.Background()

	// One made by someone else, reused and marked; one made with the mark; a
	// bridge-mode macvlan that is not of the kind listed.
	ns.MustExec(t, "ip", "link", "add", "link", "eth0", "name", "vrrp.51", "address", "00:00:5e:00:01:33", "type", "macvlan", "mode", "private")
	ns.MustExec(t, "ip", "link", "add", "link", "eth0", "name", "mv0", "type", "macvlan", "mode", "bridge")
	for _, m := range []MACVLAN{
		{Name: "vrrp.51", Parent: "eth0", MAC: VirtualMAC(51, false), Alias: "lvskit test"},
		{Name: "vrrp6.51", Parent: "eth0", MAC: VirtualMAC(51, true), Alias: "lvskit test"},
	} {
		if err := c.EnsureMACVLAN(ctx, m); err != nil {
			t.Fatal(err)
		}
		if out := ns.MustExec(t, "ip", "link", "show", m.Name); !strings.Contains(out, "alias lvskit test") {
			t.Errorf("ip link show %s lacks the alias:\n%s", m.Name, out)
		}
	}
	got, err := c.MACVLANs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []MACVLAN{
		{Name: "vrrp.51", Parent: "eth0", MAC: VirtualMAC(51, false), Alias: "lvskit test"},
		{Name: "vrrp6.51", Parent: "eth0", MAC: VirtualMAC(51, true), Alias: "lvskit test"},
	}
	slices.SortFunc(got, func(a, b MACVLAN) int { return strings.Compare(a.Name, b.Name) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MACVLANs (-want +got):\n%s", diff)
	}
}
