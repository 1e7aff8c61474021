package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/health"
)

// TestMiscCheckScriptSecurity: under enable_script_security with script_user, a
// MISC_CHECK whose script is secure runs as script_user, and one in a directory any
// user can write to is disabled (always passes, runs nothing).
func TestMiscCheckScriptSecurity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "check.sh")
	if err := os.WriteFile(bad, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := `global_defs {
    enable_script_security
    script_user nobody nogroup
}
virtual_server 192.0.2.100 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.0.2.21 80 {
        MISC_CHECK {
            misc_path "/bin/true"
        }
    }
    real_server 192.0.2.22 80 {
        MISC_CHECK {
            misc_path "BAD"
        }
    }
}
`
	cfg := readConf(t, strings.ReplaceAll(text, "BAD", bad))
	p, _, _ := newScriptPolicy(cfg, fakeUsers(false))
	m := miscDecisionsOf(cfg, p.lookup)
	log := slog.New(slog.DiscardHandler)
	rss := cfg.VirtualServers[0].RealServers

	good := m.apply(log, &rss[0].Checks[0], healthCheck(&rss[0].Checks[0], false))
	ec, ok := good.Checker.(*health.ExecChecker)
	if !ok {
		t.Fatalf("secure MISC_CHECK: checker %T, want *health.ExecChecker", good.Checker)
	}
	if ec.User == nil || *ec.User != (health.ExecUser{UID: 65534, GID: 65533}) {
		t.Errorf("secure MISC_CHECK runs as %+v, want script_user nobody:nogroup (65534:65533)", ec.User)
	}
	if strings.Join(ec.Argv, " ") != "/bin/true" {
		t.Errorf("argv %q", ec.Argv)
	}

	refused := m.apply(log, &rss[1].Checks[0], healthCheck(&rss[1].Checks[0], false))
	if _, ok := refused.Checker.(refusedMisc); !ok {
		t.Fatalf("insecure MISC_CHECK: checker %T, want it disabled", refused.Checker)
	}
	if _, err := refused.Checker.Check(t.Context()); err != nil {
		t.Errorf("a disabled MISC_CHECK fails: %v", err)
	}

	// Without a policy (no decide hook) nothing changes.
	plain := miscDecisionsOf(cfg, nil).apply(log, &rss[1].Checks[0], healthCheck(&rss[1].Checks[0], false))
	if ec, ok := plain.Checker.(*health.ExecChecker); !ok || ec.User != nil {
		t.Errorf("without a policy: %T %+v", plain.Checker, plain.Checker)
	}
}
