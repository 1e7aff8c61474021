package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/health"
)

// MISC_CHECK scripts under the script policy (scriptsec.go), as keepalived 2.2.7
// (check_misc.c check_misc_script_security): a misc_path runs as its user, or
// script_user, or keepalived_script; one that enable_script_security refuses
// (insecure, not found, or an unknown user) is disabled: keepalived frees the
// checker, so it no longer counts for its real server. The director keeps the
// check's place and makes it always pass without running anything, which has the
// same effect on the real server's state. The decision is taken when the check is
// created or changed; a reload that only changes script_user does not recreate an
// unchanged check.

// miscDecisions is the script policy's decision for each MISC_CHECK of a
// configuration, by position.
type miscDecisions map[kaconf.Pos]scriptDecision

// miscDecisionsOf asks decide about every MISC_CHECK of cfg; nil without decide.
// It takes no lock of the runtime's.
func miscDecisionsOf(cfg *kaconf.Config, decide func(argv []string) scriptDecision) miscDecisions {
	if decide == nil {
		return nil
	}
	out := miscDecisions{}
	for i := range cfg.VirtualServers {
		for j := range cfg.VirtualServers[i].RealServers {
			for _, c := range cfg.VirtualServers[i].RealServers[j].Checks {
				if c.Type == kaconf.CheckMisc && c.Misc != nil && len(c.Misc.Args) > 0 {
					out[c.Pos] = decide(c.Misc.Args)
				}
			}
		}
	}
	return out
}

// apply gives a MISC_CHECK's health check its user, or disables it when refused.
func (m miscDecisions) apply(log *slog.Logger, c *kaconf.Check, hc health.Check) health.Check {
	d, ok := m[c.Pos]
	if !ok || c.Type != kaconf.CheckMisc {
		return hc
	}
	if d.refused != nil {
		log.Warn("MISC_CHECK disabled: the script may not run (as keepalived, it no longer counts for its real server)",
			"pos", c.Pos.String(), "script", strings.Join(c.Misc.Args, " "), "err", d.refused)
		hc.Checker = refusedMisc{}
		return hc
	}
	if ec, ok := hc.Checker.(*health.ExecChecker); ok && d.cred != nil {
		cp := *ec
		cp.User = &health.ExecUser{UID: d.cred.UID, GID: d.cred.GID}
		hc.Checker = &cp
	}
	return hc
}

// refusedMisc stands for a disabled MISC_CHECK: it always passes, runs nothing.
type refusedMisc struct{}

func (refusedMisc) Check(context.Context) (health.Result, error) {
	return health.Result{Detail: "MISC_CHECK disabled by script security"}, nil
}
