package route

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
)

func dialNS(t *testing.T, ns *testenv.NetNS, cfg Config) *Client {
	t.Helper()
	cfg.NetNS = ns.Path()
	c, err := Dial(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// showTable returns `ip route show table N` lines for the family ("-4" or "-6").
func showTable(t *testing.T, ns *testenv.NetNS, family, table string) []string {
	t.Helper()
	out := ns.MustExec(t, "ip", family, "route", "show", "table", table)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func mustList(t *testing.T, c *Client) []netip.Prefix {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestIntegrationAnnounceWithdraw(t *testing.T) {
	ns := testenv.NewNetNS(t)
	c := dialNS(t, ns, Config{Table: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	v4 := netip.MustParsePrefix("192.0.2.10/32")
	v6 := netip.MustParsePrefix("2001:db8::10/128")
	for range 2 { // the second round checks idempotence
		for _, p := range []netip.Prefix{v6, v4} {
			if err := c.Announce(ctx, p); err != nil {
				t.Fatalf("Announce(%s): %v", p, err)
			}
		}
	}
	if diff := cmp.Diff([]netip.Prefix{v4, v6}, mustList(t, c), comparePrefix); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	// What BIRD's kernel protocol reads: a blackhole route in table 100 with our
	// protocol number, and nothing in main.
	if diff := cmp.Diff([]string{"blackhole 192.0.2.10 proto 108"}, showTable(t, ns, "-4", "100")); diff != "" {
		t.Errorf("ip -4 route show table 100 (-want +got):\n%s", diff)
	}
	// The kernel shows IPv6 blackholes on lo.
	if got := showTable(t, ns, "-6", "100"); len(got) != 1 || !strings.HasPrefix(got[0], "blackhole 2001:db8::10 ") || !strings.Contains(got[0], " proto 108 ") {
		t.Errorf("ip -6 route show table 100 = %q, want one blackhole 2001:db8::10 with proto 108", got)
	}
	if got := showTable(t, ns, "-4", "main"); len(got) != 0 {
		t.Errorf("main table has %q, want nothing", got)
	}

	for range 2 { // withdrawing what is gone is not an error
		if err := c.Withdraw(ctx, v4); err != nil {
			t.Fatalf("Withdraw(%s): %v", v4, err)
		}
	}
	if diff := cmp.Diff([]netip.Prefix{v6}, mustList(t, c), comparePrefix); diff != "" {
		t.Errorf("List after Withdraw (-want +got):\n%s", diff)
	}
	if got := showTable(t, ns, "-4", "100"); len(got) != 0 {
		t.Errorf("ip -4 route show table 100 after Withdraw = %q, want nothing", got)
	}
	if err := c.Withdraw(ctx, v6); err != nil {
		t.Fatal(err)
	}
	if got := mustList(t, c); len(got) != 0 {
		t.Errorf("List after withdrawing everything = %v", got)
	}
}

// TestIntegrationOwnership checks that a Client touches only routes of its own
// protocol: an administrator's route and another daemon's stay through Announce,
// Withdraw, Reconcile and Cleanup.
func TestIntegrationOwnership(t *testing.T) {
	ns := testenv.NewNetNS(t)
	c := dialNS(t, ns, Config{Table: 100})
	other := dialNS(t, ns, Config{Table: 100, Protocol: 109})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	admin := netip.MustParsePrefix("198.51.100.1/32")
	ns.MustExec(t, "ip", "route", "add", "blackhole", admin.String(), "table", "100")
	ns.MustExec(t, "ip", "-6", "route", "add", "blackhole", "2001:db8::ad/128", "table", "100")
	theirs := netip.MustParsePrefix("203.0.113.7/32")
	if err := other.Announce(ctx, theirs); err != nil {
		t.Fatal(err)
	}

	err := c.Announce(ctx, admin)
	if !errors.Is(err, ErrConflict) || !errors.Is(err, syscall.EEXIST) {
		t.Errorf("Announce over an administrator's route: %v, want ErrConflict wrapping EEXIST", err)
	}
	if err := c.Withdraw(ctx, admin); err != nil {
		t.Errorf("Withdraw of an administrator's route: %v, want nil (not ours)", err)
	}

	a := netip.MustParsePrefix("192.0.2.1/32")
	b := netip.MustParsePrefix("192.0.2.2/32")
	v6 := netip.MustParsePrefix("2001:db8::1/128")
	for _, p := range []netip.Prefix{a, b} {
		if err := c.Announce(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Reconcile(ctx, []netip.Prefix{v6, a, v6}); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if diff := cmp.Diff([]netip.Prefix{a, v6}, mustList(t, c), comparePrefix); diff != "" {
		t.Errorf("List after Reconcile (-want +got):\n%s", diff)
	}
	if err := c.Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if got := mustList(t, c); len(got) != 0 {
		t.Errorf("List after Cleanup = %v, want nothing", got)
	}
	if diff := cmp.Diff([]netip.Prefix{theirs}, mustList(t, other), comparePrefix); diff != "" {
		t.Errorf("other protocol's routes after Cleanup (-want +got):\n%s", diff)
	}
	want4 := []string{"blackhole 198.51.100.1", "blackhole 203.0.113.7 proto 109"}
	if diff := cmp.Diff(want4, showTable(t, ns, "-4", "100")); diff != "" {
		t.Errorf("ip -4 route show table 100 after Cleanup (-want +got):\n%s", diff)
	}
	if got := showTable(t, ns, "-6", "100"); len(got) != 1 || !strings.HasPrefix(got[0], "blackhole 2001:db8::ad") {
		t.Errorf("ip -6 route show table 100 after Cleanup = %q, want the administrator's route only", got)
	}
}

// TestIntegrationLargeTable checks a table id above 255, which only RTA_TABLE carries.
func TestIntegrationLargeTable(t *testing.T) {
	ns := testenv.NewNetNS(t)
	c := dialNS(t, ns, Config{Table: 100000})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := netip.MustParsePrefix("192.0.2.99/32")
	if err := c.Announce(ctx, p); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"blackhole 192.0.2.99 proto 108"}, showTable(t, ns, "-4", "100000")); diff != "" {
		t.Errorf("ip route show table 100000 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]netip.Prefix{p}, mustList(t, c), comparePrefix); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if err := c.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if got := showTable(t, ns, "-4", "100000"); len(got) != 0 {
		t.Errorf("after Cleanup: %q", got)
	}
}

func TestIntegrationContext(t *testing.T) {
	ns := testenv.NewNetNS(t)
	c := dialNS(t, ns, Config{Table: 100})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Announce(ctx, netip.MustParsePrefix("192.0.2.1/32")); !errors.Is(err, context.Canceled) {
		t.Errorf("Announce with a cancelled context: %v, want context.Canceled", err)
	}
	if got := mustList(t, c); len(got) != 0 {
		t.Errorf("a cancelled Announce added %v", got)
	}
}
