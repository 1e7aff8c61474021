package arpctl

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
)

// TestIntegrationNetNSDirector applies the director profile to the real /proc/sys of a
// fresh namespace and checks the kernel's side effects are undone too.
func TestIntegrationNetNSDirector(t *testing.T) {
	a := testenv.NewNetNS(t)
	b := testenv.NewNetNS(t)
	testenv.Veth(t, a, "eth0", b, "eth0")
	testenv.Veth(t, a, "eth1", b, "eth1")
	// An interface that forwards on its own while ip_forward is off: a write of
	// ip_forward overwrites it, and Restore must bring it back.
	a.MustExec(t, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/eth1/forwarding")

	hostBefore, err := os.ReadFile("/proc/sys/net/ipv4/conf/lo/arp_ignore")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(&Config{NetNS: a.Path()})
	if err != nil {
		t.Fatal(err)
	}
	ifs, err := c.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"eth0", "eth1", "lo"}, ifs); diff != "" {
		t.Fatalf("Interfaces in the namespace (-want +got):\n%s", diff)
	}
	before := dumpTree(t, c)
	snap, err := c.Apply(Director("eth0"))
	if err != nil {
		t.Fatal(err)
	}
	// The kernel's side effects of ip_forward=1.
	for s, want := range map[Setting]int{
		{Key: IPForward}:         1,
		{"eth0", Forwarding}:     1,
		{"lo", Forwarding}:       1,
		{All, AcceptRedirects}:   0,
		{"eth0", SendRedirects}:  0,
		{Default, SendRedirects}: 0,
		{All, SendRedirects}:     0,
		{Default, Forwarding}:    1,
		{"eth1", Forwarding}:     1,
	} {
		out := strings.TrimSpace(a.MustExec(t, "cat", "/proc/sys/"+s.path()))
		if out != string(rune('0'+want)) {
			t.Errorf("in the namespace %s = %s, want %d", s, out, want)
		}
	}
	if v, err := c.Effective("eth0", SendRedirects); err != nil || v != 0 {
		t.Errorf("Effective(eth0, send_redirects) = %d, %v; want 0", v, err)
	}
	if err := snap.Restore(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, dumpTree(t, c)); diff != "" {
		t.Fatalf("Restore in the namespace (-want +got):\n%s", diff)
	}
	hostAfter, err := os.ReadFile("/proc/sys/net/ipv4/conf/lo/arp_ignore")
	if err != nil {
		t.Fatal(err)
	}
	if string(hostBefore) != string(hostAfter) {
		t.Fatalf("the host's lo.arp_ignore changed from %q to %q", hostBefore, hostAfter)
	}
}

func TestIntegrationNetNSWrites(t *testing.T) {
	ns := testenv.NewNetNS(t)
	c, err := New(&Config{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(Setting{"lo", ARPIgnore}, 8); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(ns.MustExec(t, "cat", "/proc/sys/net/ipv4/conf/lo/arp_ignore")); got != "8" {
		t.Fatalf("lo.arp_ignore in the namespace = %s, want 8", got)
	}
	if _, err := c.Get(Setting{"eth0", ARPIgnore}); !errors.Is(err, ErrUnknownInterface) {
		t.Fatalf("Get(eth0) in a namespace without eth0 = %v, want ErrUnknownInterface", err)
	}
	if _, err := New(&Config{NetNS: "/run/netns/lvskit-does-not-exist"}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New with a missing namespace = %v, want os.ErrNotExist", err)
	}
}
