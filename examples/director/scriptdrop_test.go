package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadConfigDropsRefusedScripts: with enable_script_security and no
// keepalived_script user, keepalived 2.2.7 removes every vrrp_script without a user
// of its own (corpus rw15_Rendanic_oracleToolbox.conf); the director does too, so the
// instance has no tracker for it (one never fed would hold its initial state: here
// +50 for good). A script with a user it can resolve stays.
func TestLoadConfigDropsRefusedScripts(t *testing.T) {
	name := filepath.Join(t.TempDir(), "k.conf")
	src := `global_defs {
   enable_script_security
}
vrrp_script gone {
   script "/bin/true"
   weight 50
}
vrrp_script kept {
   script "/bin/false"
   user root
}
vrrp_instance V {
   interface eth0
   virtual_router_id 1
   virtual_ipaddress {
      192.0.2.1
   }
   track_script {
      gone
      kept
   }
}
`
	if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfigUsers(context.Background(), name, "", slog.New(slog.NewTextHandler(io.Discard, nil)), fakeUsers(false))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range trackers(cfg, &cfg.Instances[0]) {
		names = append(names, tr.cfg.Name)
	}
	if diff := cmp.Diff([]string{"script:kept"}, names); diff != "" {
		t.Errorf("trackers (-want +got):\n%s", diff)
	}
	_, errs, _ := newScriptPolicy(readMeaningConf(t, src), fakeUsers(false))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "unable to set default user keepalived_script") {
		t.Errorf("policy errors %v, want the missing default user named once", errs)
	}
	// With keepalived_script present, both stay.
	cfg, err = loadConfigUsers(context.Background(), name, "", slog.New(slog.NewTextHandler(io.Discard, nil)), fakeUsers(true))
	if err != nil {
		t.Fatal(err)
	}
	if len(trackers(cfg, &cfg.Instances[0])) != 2 {
		t.Errorf("with keepalived_script: trackers %v, want both scripts", trackers(cfg, &cfg.Instances[0]))
	}
}

// TestMissingScriptWarnsWhatKeepalivedDoes: keepalived 2.2.7 disables a script it
// cannot find even without enable_script_security; the director runs it, and its
// warning says so at the script's line.
func TestMissingScriptWarnsWhatKeepalivedDoes(t *testing.T) {
	cfg := readMeaningConf(t, "vrrp_script s {\n   script \"/nonexistent/lvskit-check\"\n}\n")
	_, errs, warns := newScriptPolicy(cfg, fakeUsers(false))
	if len(errs) != 0 {
		t.Errorf("errs = %v, want none without enable_script_security", errs)
	}
	want := `k.conf:1: vrrp_script s: could not find script "/nonexistent/lvskit-check"`
	found := false
	for _, w := range warns {
		found = found || (strings.Contains(w, want) && strings.Contains(w, "keepalived 2.2.7 disables it"))
	}
	if !found {
		t.Errorf("warnings %q lack %q with what keepalived does", warns, want)
	}
}
