package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vrrp"
)

// Rules of virtual_rules (held by a MASTER instance, like its VIPs and routes) and of
// static_rules (held while the director runs). They work as the routes of
// vroutes.go do: the reconciler's run goroutine owns them, every reconcile computes
// the wanted rules from the instances' states and fixes the difference, the drift
// check re-lists the kernel's rules so that one deleted from outside comes back, and
// the first pass deletes the rules of kroutesProtocol that no one wants (a crashed
// run's). Rules are marked with FRA_PROTOCOL kroutesProtocol (Linux 4.17 and later),
// as keepalived marks them.

// ruleKey is a rule's every attribute: the kernel keeps two rules that differ in
// any of them, and deletes by them.
type ruleKey = kaconf.Rule

// keyOfRule is r without where it was read, with a zero-length selector written as
// none (the kernel lists "from 0.0.0.0/0" as from all).
func keyOfRule(r kaconf.Rule) ruleKey {
	r.Pos = kaconf.Pos{}
	if r.From.IsValid() && r.From.Bits() == 0 {
		r.From = netip.Prefix{}
	}
	if r.To.IsValid() && r.To.Bits() == 0 {
		r.To = netip.Prefix{}
	}
	return r
}

// listedRule is a rule the kernel lists: ours says it is marked kroutesProtocol.
type listedRule struct {
	r    ruleKey
	ours bool
}

// ruleBackend adds and deletes the director's rules in the kernel.
type ruleBackend interface {
	// Add adds r marked with kroutesProtocol; the director's own rule with r's
	// attributes that is already there is not an error.
	Add(ctx context.Context, r ruleKey) error
	// Delete deletes the director's rule r; one that is absent is not an error.
	Delete(ctx context.Context, r ruleKey) error
	// List returns every IPv4 and IPv6 rule, the director's marked ours.
	List(ctx context.Context) ([]listedRule, error)
	Close() error
}

// heldRule is a rule the director added; inst is its instance, "" for a static
// rule; pos is the line it was read from.
type heldRule struct {
	pos  kaconf.Pos
	inst string
}

// ruleConfig is what the configuration asks for, set by the daemon under
// reconciler.mu.
type ruleConfig struct {
	static  []kaconf.Rule
	virtual map[string][]kaconf.Rule // instance -> virtual_rules
}

// rulesOf returns the rules of cfg by instance, and whether there are any.
func rulesOf(cfg *kaconf.Config) (ruleConfig, bool) {
	rc := ruleConfig{static: cfg.StaticRules, virtual: map[string][]kaconf.Rule{}}
	some := len(cfg.StaticRules) > 0
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		if len(in.VirtualRules) > 0 {
			rc.virtual[in.Name] = in.VirtualRules
			some = true
		}
	}
	return rc, some
}

// setRules gives the reconciler the configuration's rules and their backend (nil:
// none, or keep the one it has). The daemon passes an empty config when it stops,
// so that the last reconcile removes them all.
func (r *reconciler) setRules(rb ruleBackend, cfg ruleConfig) {
	r.mu.Lock()
	if rb != nil {
		r.krules = rb
	}
	r.ruleCfg = cfg
	r.mu.Unlock()
	r.changed()
}

func (r *reconciler) hasRuleBackend() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.krules != nil
}

// closeRules closes the rule backend after the reconciler has stopped.
func (r *reconciler) closeRules() {
	r.mu.Lock()
	rb := r.krules
	r.krules = nil
	r.mu.Unlock()
	if rb != nil {
		rb.Close()
	}
}

// applyRules hands cfg's rules to the reconciler. The backend is opened the first
// time a configuration has rules, and at start whatever the configuration says, so
// that the first pass removes what a crashed run left even when the new
// configuration has no rules (opening it then may fail: that is logged, not an
// error). opMu is held.
func (d *daemon) applyRules(cfg *kaconf.Config) error {
	rc, some := rulesOf(cfg)
	var rb ruleBackend
	if !d.rec.hasRuleBackend() && (some || !d.rulesTried) {
		d.rulesTried = true
		var err error
		switch {
		case d.deps.krules == nil && some:
			return errors.New("director: virtual_rules and static_rules are not supported on this system")
		case d.deps.krules == nil:
		default:
			rb, err = d.deps.krules()
		}
		if err != nil {
			if some {
				return fmt.Errorf("director: rules: %w", err)
			}
			d.log.Warn("rules: cannot look for rules an earlier run left", "err", err)
			rb = nil
		}
	}
	d.rec.setRules(rb, rc)
	return nil
}

// reconcileRules converges the kernel on the wanted rules: the static ones and
// those of every MASTER instance. reread lists the kernel's rules first (the drift
// check), forgetting held rules that are gone so that they are added again. The
// first pass always lists them, to delete what an earlier run left.
func (r *reconciler) reconcileRules(ctx context.Context, view vrrpView, reread bool) error {
	r.mu.Lock()
	rb, cfg := r.krules, r.ruleCfg
	r.mu.Unlock()
	if rb == nil {
		return nil
	}
	fresh := r.rulesHave == nil
	if fresh {
		r.rulesHave = map[ruleKey]heldRule{}
		reread = true
	}
	call := func(f func(ctx context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, r.vipTimeout)
		defer cancel()
		return f(cctx)
	}
	want := map[ruleKey]heldRule{}
	var order []ruleKey
	add := func(rl kaconf.Rule, inst string) {
		k := keyOfRule(rl)
		if _, dup := want[k]; !dup {
			want[k] = heldRule{rl.Pos, inst}
			order = append(order, k)
		}
	}
	for _, rl := range cfg.static {
		add(rl, "")
	}
	for _, iv := range view.insts {
		if iv.state == vrrp.StateMaster {
			for _, rl := range cfg.virtual[iv.name] {
				add(rl, iv.name)
			}
		}
	}

	var errs []error
	var kernel []listedRule
	listed := false
	list := func() bool {
		if listed {
			return true
		}
		if err := call(func(ctx context.Context) (err error) { kernel, err = rb.List(ctx); return err }); err != nil {
			errs = append(errs, fmt.Errorf("director: listing rules: %w", err))
			return false
		}
		listed = true
		return true
	}
	if reread && !list() && fresh {
		// Without the list, a crashed run's rules would never be found: the next
		// pass starts afresh.
		r.rulesHave = nil
		return errors.Join(errs...)
	}
	if reread && listed {
		ours := map[ruleKey]bool{}
		for _, l := range kernel {
			if l.ours {
				ours[l.r] = true
				if _, ok := r.rulesHave[l.r]; fresh && !ok {
					r.rulesHave[l.r] = heldRule{} // an earlier run's, until wanted
				}
			}
		}
		for k, h := range r.rulesHave {
			if ours[k] {
				continue
			}
			delete(r.rulesHave, k)
			if _, ok := want[k]; ok {
				r.log.Warn("rule missing from the kernel; adding it back", "rule", ruleString(k), "instance", h.inst)
			}
		}
	}
	// Remove what is held but no longer wanted.
	held := make([]ruleKey, 0, len(r.rulesHave))
	for k := range r.rulesHave {
		held = append(held, k)
	}
	slices.SortFunc(held, func(a, b ruleKey) int { return strings.Compare(ruleString(a), ruleString(b)) })
	for _, k := range held {
		h := r.rulesHave[k]
		if w, ok := want[k]; ok {
			r.rulesHave[k] = w // the instance may have changed
			continue
		}
		if err := call(func(ctx context.Context) error { return rb.Delete(ctx, k) }); err != nil {
			errs = append(errs, fmt.Errorf("director: deleting rule %s: %w", ruleString(k), err))
			continue
		}
		r.log.Info("rule deleted", "rule", ruleString(k), "instance", h.inst)
		delete(r.rulesHave, k)
	}
	for _, k := range order {
		if _, ok := r.rulesHave[k]; ok {
			continue
		}
		w := want[k]
		// An administrator's rule with the same attributes is not in the kernel's
		// way (it keeps both), but it is in the director's: deleting the director's
		// at a failover would leave it matching. It is kept and reported.
		if list() {
			for _, l := range kernel {
				if !l.ours && l.r == k {
					r.log.Warn("a rule of another protocol has the attributes of a director's rule; it is kept and will still match when the director's goes",
						"rule", ruleString(k), "line", w.pos.String(), "instance", w.inst)
					break
				}
			}
		}
		if err := call(func(ctx context.Context) error { return rb.Add(ctx, k) }); err != nil {
			errs = append(errs, fmt.Errorf("director: adding rule %s (%s): %w", ruleString(k), w.pos, err))
			continue
		}
		r.log.Info("rule added", "rule", ruleString(k), "instance", w.inst)
		r.rulesHave[k] = w
	}
	return errors.Join(errs...)
}

// ruleString writes a rule as a static_rules line would, with its family.
func ruleString(k ruleKey) string {
	if k.V6 && !k.From.IsValid() && !k.To.IsValid() {
		return "inet6 " + k.String()
	}
	return k.String()
}
