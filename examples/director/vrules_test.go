package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// fakeKRules is a kernel's rule list: the director's rules and others' (an
// administrator's), which the kernel keeps side by side even when identical.
type fakeKRules struct {
	mu     sync.Mutex
	ours   []ruleKey
	others []ruleKey
	closed bool
}

func (f *fakeKRules) Add(_ context.Context, r ruleKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.ours, r) {
		f.ours = append(f.ours, r)
	}
	return nil
}

func (f *fakeKRules) Delete(_ context.Context, r ruleKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ours = slices.DeleteFunc(f.ours, func(o ruleKey) bool { return o == r })
	return nil
}

func (f *fakeKRules) List(context.Context) ([]listedRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []listedRule
	for _, r := range f.ours {
		out = append(out, listedRule{r, true})
	}
	for _, r := range f.others {
		out = append(out, listedRule{r, false})
	}
	return out, nil
}

func (f *fakeKRules) Close() error { f.mu.Lock(); f.closed = true; f.mu.Unlock(); return nil }

// list returns the director's rules as lines, sorted.
func (f *fakeKRules) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.ours {
		out = append(out, ruleString(r))
	}
	slices.Sort(out)
	return out
}

const vrulesConf = `static_rules {
   from 192.0.2.0/24 table 100 preference 100
}
vrrp_instance A {
   interface eth0
   virtual_router_id 1
   virtual_ipaddress {
      192.0.2.1
   }
   virtual_rules {
      from 198.51.100.0/24 lookup 200 preference 200
      to 2001:db8:1::/48 fwmark 7 preference 201 prohibit
   }
}
vrrp_instance B {
   interface eth1
   virtual_router_id 2
   virtual_ipaddress {
      192.0.2.2
   }
   virtual_rules {
      from 203.0.113.0/24 iif eth1 table 300 preference 300
   }
}
`

const (
	ruleStatic = "from 192.0.2.0/24 preference 100 table 100"
	ruleA1     = "from 198.51.100.0/24 preference 200 table 200"
	ruleA2     = "to 2001:db8:1::/48 preference 201 fwmark 7 prohibit"
	ruleB      = "from 203.0.113.0/24 preference 300 iif eth1 table 300"
)

// TestVirtualRulesFollowMaster: static rules are held whatever the states; virtual
// rules only while their instance is MASTER; a rule deleted from outside comes back
// at the drift check; stopping deletes every rule.
func TestVirtualRulesFollowMaster(t *testing.T) {
	cfg := readRoutesConf(t, vrulesConf)
	src := &staticView{}
	a, b := instView{name: "A"}, instView{name: "B"}
	src.set(map[string]vrrp.State{"A": vrrp.StateMaster, "B": vrrp.StateBackup}, a, b)
	r := newReconciler(slog.New(slog.DiscardHandler), src, &metrics{}, nil)
	fr := &fakeKRules{}
	rc, some := rulesOf(cfg)
	if !some {
		t.Fatal("rulesOf found no rules")
	}
	r.setRules(fr, rc)
	ctx := context.Background()
	step := func(want ...string) {
		t.Helper()
		if _, err := r.reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if got := fr.list(); !slices.Equal(got, want) {
			t.Fatalf("rules\n%q\nwant\n%q", got, want)
		}
	}
	step(ruleStatic, ruleA1, ruleA2)

	src.set(map[string]vrrp.State{"A": vrrp.StateBackup, "B": vrrp.StateMaster}, a, b)
	step(ruleStatic, ruleB)

	// Deleted from outside: an ordinary pass trusts what it added, the drift check
	// puts it back.
	fr.Delete(ctx, keyOfRule(cfg.Instances[1].VirtualRules[0]))
	step(ruleStatic)
	r.resync(true)
	step(ruleStatic, ruleB)

	src.set(map[string]vrrp.State{"A": vrrp.StateFault, "B": vrrp.StateInit}, a, b)
	step(ruleStatic)

	r.setRules(nil, ruleConfig{})
	step()
	r.closeRules()
	if !fr.closed {
		t.Error("closeRules did not close the backend")
	}
}

// TestRulesStaleRemovedAdminKept: the first pass deletes the director's-protocol
// rules that no one wants (a crashed run's); an administrator's rule identical to a
// wanted one is kept, reported with the line, and survives the stop.
func TestRulesStaleRemovedAdminKept(t *testing.T) {
	cfg := readRoutesConf(t, vrulesConf)
	src := &staticView{}
	src.set(map[string]vrrp.State{"A": vrrp.StateBackup}, instView{name: "A"})
	var logs bytes.Buffer
	r := newReconciler(slog.New(slog.NewTextHandler(&logs, nil)), src, &metrics{}, nil)
	stale := keyOfRule(kaconf.Rule{From: netip.MustParsePrefix("10.99.0.0/16"), Priority: 50, Action: "table", Table: 9})
	admin := keyOfRule(cfg.StaticRules[0])
	fr := &fakeKRules{ours: []ruleKey{stale}, others: []ruleKey{admin}}
	rc, _ := rulesOf(cfg)
	r.setRules(fr, rc)
	if _, err := r.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fr.list(); !slices.Equal(got, []string{ruleStatic}) {
		t.Fatalf("rules %q, want only the static one (the stale one deleted)", got)
	}
	if !strings.Contains(logs.String(), "a rule of another protocol has the attributes of a director's rule") ||
		!strings.Contains(logs.String(), "line=k.conf:2") {
		t.Errorf("the administrator's identical rule was not reported with its line:\n%s", logs.String())
	}
	r.setRules(nil, ruleConfig{})
	if _, err := r.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(fr.list()) != 0 || !slices.Equal(fr.others, []ruleKey{admin}) {
		t.Errorf("after the stop: ours %q, others %v; want none of ours and the administrator's kept", fr.list(), fr.others)
	}
}

// TestRulesNeedBackend: a configuration with rules on a system without the backend
// is refused rather than run without its rules; one without rules is not.
func TestRulesNeedBackend(t *testing.T) {
	d := &daemon{log: slog.New(slog.DiscardHandler), rec: newReconciler(slog.New(slog.DiscardHandler), &staticView{}, &metrics{}, nil)}
	if err := d.applyRules(readRoutesConf(t, vrulesConf)); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("applyRules without krules: %v", err)
	}
	if err := d.applyRules(readRoutesConf(t, "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n}\n")); err != nil {
		t.Fatalf("applyRules without krules and without rules: %v", err)
	}
}

// TestDaemonStartClearsCrashedRun: a start whose configuration has no routes and no
// rules still opens both backends and deletes the director's-protocol routes and
// rules an earlier (crashed) run left; a reload afterwards does not open them again.
func TestDaemonStartClearsCrashedRun(t *testing.T) {
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	fr := newFakeKRoutes()
	stale := kaconf.Route{Dst: netip.MustParsePrefix("10.99.0.0/16"), Dev: "eth0"}
	fr.routes[keyOfRoute(stale)] = stale
	frl := &fakeKRules{ours: []ruleKey{keyOfRule(kaconf.Rule{From: netip.MustParsePrefix("10.99.0.0/16"), Priority: 50, Action: "table", Table: 9})}}
	opened := 0
	h.d.deps.kroutes = func() (routeBackend, error) { opened++; return fr, nil }
	h.d.deps.krules = func() (ruleBackend, error) { opened++; return frl, nil }
	conf := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n advert_int 0.1\n version 3\n virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n"
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	if got := fr.dsts(); len(got) != 0 {
		t.Errorf("routes a crashed run left are still there: %v", got)
	}
	if got := frl.list(); len(got) != 0 {
		t.Errorf("rules a crashed run left are still there: %q", got)
	}
	if err := h.d.reload(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	if opened != 2 {
		t.Errorf("backends opened %d times, want 2 (once each, at start)", opened)
	}
}

const daemonRulesConf = `static_rules {
    from 192.0.2.0/24 table 100 preference 100
}
static_ipaddress {
    192.0.2.50/24 dev eth1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority PRIO
    virtual_ipaddress {
        192.0.2.100/24
    }
    virtual_rules {
        from 198.51.100.0/24 table 200 preference 200
    }
}
`

// TestDaemonRulesAndStaticAddresses runs two daemons on a simulated network: both
// hold the static rule and the static address from the start, only the MASTER
// holds the virtual rule; the static address is put back when deleted from
// outside; a graceful stop of the MASTER removes its rules and its static address
// while the BACKUP takes the virtual rule over.
func TestDaemonRulesAndStaticAddresses(t *testing.T) {
	n := vrrptest.NewNetwork()
	a, b := newHost(t, n, "192.0.2.1"), newHost(t, n, "192.0.2.2")
	ra, rb := &fakeKRules{}, &fakeKRules{}
	a.d.deps.krules = func() (ruleBackend, error) { return ra, nil }
	b.d.deps.krules = func() (ruleBackend, error) { return rb, nil }
	ctx := context.Background()
	if err := b.d.start(ctx, readConf(t, strings.ReplaceAll(daemonRulesConf, "PRIO", "100"))); err != nil {
		t.Fatal(err)
	}
	defer b.d.stop()
	if err := a.d.start(ctx, readConf(t, strings.ReplaceAll(daemonRulesConf, "PRIO", "150"))); err != nil {
		t.Fatal(err)
	}
	both := []string{"from 192.0.2.0/24 preference 100 table 100", "from 198.51.100.0/24 preference 200 table 200"}
	waitFor(t, "A holds the static and the virtual rule", func() bool { return slices.Equal(ra.list(), both) })
	waitFor(t, "B is BACKUP", func() bool { return b.instance("VI_1").State == "BACKUP" })
	if got := rb.list(); !slices.Equal(got, both[:1]) {
		t.Errorf("BACKUP B holds %q, want the static rule only", got)
	}
	if _, ok := b.vips.find("192.0.2.50/24"); !ok {
		t.Errorf("BACKUP B lacks the static address: %v", b.vips.list())
	}
	if _, ok := b.vips.find("192.0.2.100/24"); ok {
		t.Errorf("BACKUP B holds the VIP: %v", b.vips.list())
	}
	// Deleted from outside: the watcher's report puts it back.
	sa, _ := b.vips.find("192.0.2.50/24")
	b.vips.del("192.0.2.50/24")
	b.d.rec.kernelRemoved(sa)
	waitFor(t, "B puts the static address back", func() bool { _, ok := b.vips.find("192.0.2.50/24"); return ok })

	a.d.stop()
	if got := ra.list(); len(got) != 0 {
		t.Errorf("A kept %q after stop", got)
	}
	if got := a.vips.list(); len(got) != 0 {
		t.Errorf("A kept addresses %v after stop, want none (keepalived removes static addresses at stop)", got)
	}
	waitFor(t, "B takes the virtual rule over", func() bool { return slices.Equal(rb.list(), both) })
}

// failingList is a rule backend whose List fails while fail is set.
type failingList struct {
	*fakeKRules
	fail bool
}

func (f *failingList) List(ctx context.Context) ([]listedRule, error) {
	if f.fail {
		return nil, context.DeadlineExceeded
	}
	return f.fakeKRules.List(ctx)
}

// TestRulesFirstListRetried: when the first pass cannot list the kernel's rules,
// the next one lists them again, so a crashed run's rule still goes.
func TestRulesFirstListRetried(t *testing.T) {
	cfg := readRoutesConf(t, vrulesConf)
	src := &staticView{}
	src.set(map[string]vrrp.State{"A": vrrp.StateBackup}, instView{name: "A"})
	r := newReconciler(slog.New(slog.DiscardHandler), src, &metrics{}, nil)
	stale := keyOfRule(kaconf.Rule{From: netip.MustParsePrefix("10.99.0.0/16"), Priority: 50, Action: "table", Table: 9})
	fr := &failingList{fakeKRules: &fakeKRules{ours: []ruleKey{stale}}, fail: true}
	rc, _ := rulesOf(cfg)
	r.setRules(fr, rc)
	if _, err := r.reconcile(context.Background()); err == nil || !strings.Contains(err.Error(), "listing rules") {
		t.Fatalf("first pass: %v, want the listing error", err)
	}
	fr.fail = false
	if _, err := r.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fr.list(); !slices.Equal(got, []string{ruleStatic}) {
		t.Errorf("rules %q, want the static one only (the stale one deleted)", got)
	}
}
