package main

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// everyRuleWord is a static rule with every attribute the reader takes, so that
// what the kernel lists back is checked to read as the same rule.
const everyRuleWord = `   to 198.51.100.0/24 not tos 0x10 fwmark 7/0xff iif eth0 oif eth1 uidrange 1000-2000 ipproto tcp sport 1000-2000 dport 80-80 suppress_prefixlength 8 lookup 100 preference 150
   from 2001:db8::/32 preference 160 goto 170
   from 0.0.0.0/0 lookup 5 preference 180
`

// TestIntegrationVirtualRules programs the rules of vrulesConf (and everyRuleWord)
// with real rtnetlink in a namespace of its own: the static rules and MASTER A's
// appear in `ip rule show` marked proto keepalived, B's do not; failing over swaps
// them; a rule deleted with `ip rule del` comes back at the drift check; the rule
// of the protocol that no one wants (a crashed run's) goes at the first pass; an
// administrator's rule identical to a static one stays through the stop; the
// kernel's listing of every rule reads back as the rule that was added.
func TestIntegrationVirtualRules(t *testing.T) {
	ns := testenv.NewNetNS(t)
	for _, c := range [][]string{
		{"ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"},
		{"ip", "link", "add", "eth1", "type", "veth", "peer", "name", "peer1"},
		{"ip", "rule", "add", "from", "10.99.0.0/16", "table", "9", "pref", "50", "proto", "keepalived"}, // left by a crash
		{"ip", "rule", "add", "from", "192.0.2.0/24", "table", "100", "pref", "100"},                     // an administrator's
	} {
		ns.MustExec(t, c[0], c[1:]...)
	}
	rules := func() string {
		return ns.MustExec(t, "ip", "rule", "show") + ns.MustExec(t, "ip", "-6", "rule", "show")
	}
	has := func(out, line string) int {
		n := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.Join(strings.Fields(l), " ") == line {
				n++
			}
		}
		return n
	}
	conf := strings.Replace(vrulesConf, "   from 192.0.2.0/24 table 100 preference 100\n", "   from 192.0.2.0/24 table 100 preference 100\n"+everyRuleWord, 1)
	cfg := readRoutesConf(t, conf)
	src := &staticView{}
	a, b := instView{name: "A"}, instView{name: "B"}
	src.set(map[string]vrrp.State{"A": vrrp.StateMaster, "B": vrrp.StateBackup}, a, b)
	r := newReconciler(slog.New(slog.DiscardHandler), src, &metrics{}, nil)
	var rb ruleBackend
	if err := ns.Do(func() (err error) { rb, err = dialKRules(); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rb.Close() })
	rc, _ := rulesOf(cfg)
	r.setRules(rb, rc)
	reconcile := func() {
		t.Helper()
		if _, err := r.reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	reconcile()
	out := rules()
	for line, n := range map[string]int{
		"100: from 192.0.2.0/24 lookup 100 proto keepalived":                    1,
		"100: from 192.0.2.0/24 lookup 100":                                     1, // the administrator's, kept
		"200: from 198.51.100.0/24 lookup 200 proto keepalived":                 1,
		"201: from all to 2001:db8:1::/48 fwmark 0x7 prohibit proto keepalived": 1,
		"160: from 2001:db8::/32 goto 170 [unresolved] proto keepalived":        1,
		"50: from 10.99.0.0/16 lookup 9 proto keepalived":                       0, // the crashed run's
		"300: from 203.0.113.0/24 iif eth1 lookup 300 proto keepalived":         0, // BACKUP B's
	} {
		if got := has(out, line); got != n {
			t.Errorf("%q appears %d times, want %d:\n%s", line, got, n, out)
		}
	}
	if !strings.Contains(out, "150:\tnot from all to 198.51.100.0/24 tos 0x10 fwmark 0x7/0xff iif eth0 oif eth1 uidrange 1000-2000 ipproto tcp sport 1000-2000 dport 80 lookup 100 suppress_prefixlength 8 proto keepalived") {
		t.Errorf("the rule with every word is not as configured:\n%s", out)
	}
	// What the kernel lists reads back as the rules that were added: the drift
	// check finds each of them.
	var listed []listedRule
	if err := ns.Do(func() (err error) { listed, err = rb.List(context.Background()); return err }); err != nil {
		t.Fatal(err)
	}
	for _, rl := range append(slices.Clone(cfg.StaticRules), cfg.Instances[0].VirtualRules...) {
		if !slices.Contains(listed, listedRule{keyOfRule(rl), true}) {
			t.Errorf("the kernel's listing lacks %s (line %s) as the director's: %+v", ruleString(keyOfRule(rl)), rl.Pos, listed)
		}
	}

	src.set(map[string]vrrp.State{"A": vrrp.StateBackup, "B": vrrp.StateMaster}, a, b)
	reconcile()
	out = rules()
	if has(out, "300: from 203.0.113.0/24 iif eth1 lookup 300 proto keepalived") != 1 || strings.Contains(out, "198.51.100.0/24 lookup 200") {
		t.Errorf("after failover to B:\n%s", out)
	}

	ns.MustExec(t, "ip", "rule", "del", "pref", "300", "proto", "keepalived")
	r.resync(true)
	reconcile()
	if out = rules(); has(out, "300: from 203.0.113.0/24 iif eth1 lookup 300 proto keepalived") != 1 {
		t.Errorf("a rule deleted from outside did not come back at the drift check:\n%s", out)
	}

	r.setRules(nil, ruleConfig{})
	reconcile()
	out = rules()
	if strings.Contains(out, "proto keepalived") {
		t.Errorf("rules left after the stop:\n%s", out)
	}
	if has(out, "100: from 192.0.2.0/24 lookup 100") != 1 {
		t.Errorf("the administrator's rule is gone:\n%s", out)
	}
}

// TestIntegrationStaticAddressesAndLeftovers runs the daemon with real rtnetlink
// in a namespace: static_ipaddress's address is on eth1 from the start (and the
// BACKUP holds it), the static rule too; a route and a rule of protocol keepalived
// that a crashed run left go at the start although the configuration has no
// routes; deleting the static address from outside puts it back at the drift
// check; the stop removes the address and the rule, as keepalived does.
func TestIntegrationStaticAddressesAndLeftovers(t *testing.T) {
	ns := testenv.NewNetNS(t)
	for _, c := range [][]string{
		{"ip", "link", "add", "eth1", "type", "veth", "peer", "name", "peer1"},
		{"ip", "link", "set", "eth1", "up"},
		{"ip", "link", "set", "peer1", "up"},
		{"ip", "route", "add", "10.99.0.0/16", "dev", "eth1", "proto", "keepalived"},
		{"ip", "rule", "add", "from", "10.99.0.0/16", "table", "9", "pref", "50", "proto", "keepalived"},
	} {
		ns.MustExec(t, c[0], c[1:]...)
	}
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	h.d.deps.vips = func() (vipBackend, error) {
		c, err := vip.Dial(&vip.Config{NetNS: ns.Path()})
		if err != nil {
			return nil, err
		}
		return &vipClient{c: c, ann: map[string]*announcer{}}, nil
	}
	h.d.deps.kroutes = func() (rb routeBackend, err error) {
		err = ns.Do(func() error { rb, err = dialKRoutes(); return err })
		return rb, err
	}
	h.d.deps.krules = func() (rb ruleBackend, err error) {
		err = ns.Do(func() error { rb, err = dialKRules(); return err })
		return rb, err
	}
	// A BACKUP that never becomes MASTER (priority 1 against a silent network
	// would; nopreempt BACKUP with a long advert keeps it BACKUP for the test).
	conf := `static_ipaddress {
    192.0.2.50/24 dev eth1
}
static_rules {
    from 192.0.2.0/24 table 100 preference 100
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 30
    virtual_ipaddress {
        192.0.2.100/24 dev eth1
    }
}
`
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			h.d.stop()
		}
	})
	addrs := func() string { return ns.MustExec(t, "ip", "-4", "addr", "show", "dev", "eth1") }
	if a := addrs(); !strings.Contains(a, "inet 192.0.2.50/24") || strings.Contains(a, "192.0.2.100") {
		t.Errorf("BACKUP: eth1 should have the static address and not the VIP:\n%s", a)
	}
	if r := ns.MustExec(t, "ip", "rule", "show"); !strings.Contains(r, "100:\tfrom 192.0.2.0/24 lookup 100 proto keepalived") || strings.Contains(r, "10.99.0.0/16") {
		t.Errorf("rules: want the static one and not the crashed run's:\n%s", r)
	}
	if rt := ns.MustExec(t, "ip", "route", "show"); strings.Contains(rt, "10.99.0.0/16") {
		t.Errorf("the route a crashed run left is still there with no routes configured:\n%s", rt)
	}
	ns.MustExec(t, "ip", "addr", "del", "192.0.2.50/24", "dev", "eth1")
	h.d.rec.resync(false)
	if err := h.d.rec.sync(); err != nil {
		t.Fatal(err)
	}
	if a := addrs(); !strings.Contains(a, "inet 192.0.2.50/24") {
		t.Errorf("the static address deleted from outside did not come back:\n%s", a)
	}
	h.d.stop()
	stopped = true
	if a := addrs(); strings.Contains(a, "192.0.2.50") {
		t.Errorf("the static address is still there after the stop:\n%s", a)
	}
	if r := ns.MustExec(t, "ip", "rule", "show"); strings.Contains(r, "proto keepalived") {
		t.Errorf("rules left after the stop:\n%s", r)
	}
}
