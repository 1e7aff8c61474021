package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// secureDir returns a directory every element of which keepalived's check accepts
// when the test runs as root: t.TempDir() under /tmp (sticky) made 0755.
func secureDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: a secure script path is owned by root")
	}
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeScript(t *testing.T, path string, mode os.FileMode, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestCheckScriptSecure(t *testing.T) {
	dir := secureDir(t)
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	sticky := filepath.Join(dir, "sticky")
	if err := os.Mkdir(sticky, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	writeScript(t, filepath.Join(dir, "ok.sh"), 0o755, "exit 0\n")
	writeScript(t, filepath.Join(dir, "world.sh"), 0o757, "exit 0\n")
	writeScript(t, filepath.Join(dir, "group.sh"), 0o775, "exit 0\n")
	writeScript(t, filepath.Join(open, "in-open.sh"), 0o755, "exit 0\n")
	writeScript(t, filepath.Join(sticky, "in-sticky.sh"), 0o755, "exit 0\n")
	groupRoot := filepath.Join(dir, "grouproot.sh")
	writeScript(t, groupRoot, 0o775, "exit 0\n")
	if err := os.Chown(groupRoot, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, "group.sh"), 0, 65534); err != nil {
		t.Fatal(err)
	}
	owned := filepath.Join(dir, "owned.sh")
	writeScript(t, owned, 0o755, "exit 0\n")
	if err := os.Chown(owned, 65534, 0); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.sh")
	if err := os.Symlink(filepath.Join(open, "in-open.sh"), link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		insecure   bool // refused for permissions
		missing    bool // refused because it cannot be found
	}{
		{name: "root 0755", path: filepath.Join(dir, "ok.sh")},
		{name: "world-writable file", path: filepath.Join(dir, "world.sh"), insecure: true},
		{name: "group-writable, non-root group", path: filepath.Join(dir, "group.sh"), insecure: true},
		{name: "group-writable, group root", path: groupRoot},
		{name: "owned by nobody", path: owned, insecure: true},
		{name: "world-writable directory", path: filepath.Join(open, "in-open.sh"), insecure: true},
		{name: "sticky world-writable directory", path: filepath.Join(sticky, "in-sticky.sh")},
		{name: "link into a world-writable directory", path: link, insecure: true},
		{name: "missing", path: filepath.Join(dir, "nope.sh"), missing: true},
		{name: "path search", path: "sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkScriptSecure(tt.path)
			if got := errors.Is(err, errInsecureScript); got != tt.insecure {
				t.Errorf("checkScriptSecure(%s) = %v, insecure %v, want %v", tt.path, err, got, tt.insecure)
			}
			if tt.missing != (err != nil && !tt.insecure) {
				t.Errorf("checkScriptSecure(%s) = %v, want refused as missing: %v", tt.path, err, tt.missing)
			}
		})
	}
}

// fakeUsers knows nobody (65534:65534) and keepalived_script only when asked to.
func fakeUsers(withDefault bool) userDB {
	return userDB{
		user: func(name string) (uint32, uint32, error) {
			switch {
			case name == "nobody":
				return 65534, 65534, nil
			case name == "root":
				return 0, 0, nil
			case name == defaultScriptUser && withDefault:
				return 998, 997, nil
			}
			return 0, 0, user.UnknownUserError(name)
		},
		group: func(name string) (uint32, error) {
			if name == "nogroup" {
				return 65533, nil
			}
			return 0, user.UnknownGroupError(name)
		},
		root: func() bool { return true },
	}
}

func scriptConf(t *testing.T, dir, text string) (string, *kaconf.Config) {
	t.Helper()
	name := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := kaconf.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return name, cfg
}

func TestScriptPolicyUsers(t *testing.T) {
	dir := t.TempDir()
	_, cfg := scriptConf(t, dir, `global_defs {
	script_user nobody
}
vrrp_script a {
	script "/bin/a"
}
vrrp_script b {
	script "/bin/b"
	user root
}
vrrp_script c {
	script "/bin/c"
	user nobody nogroup
}
vrrp_script d {
	script "/bin/d"
	user ghost
}
`)
	p, errs, _ := newScriptPolicy(cfg, fakeUsers(true))
	want := map[string]*scriptCred{
		"/bin/a": {65534, 65534},
		"/bin/b": nil,
		"/bin/c": {65534, 65533},
	}
	for prog, w := range want {
		d := p.lookup([]string{prog, "extra"})
		if d.refused != nil || (d.cred == nil) != (w == nil) || (w != nil && *d.cred != *w) {
			t.Errorf("%s: cred %+v refused %v, want %+v", prog, d.cred, d.refused, w)
		}
	}
	if d := p.lookup([]string{"/bin/d"}); d.refused == nil {
		t.Errorf("/bin/d with an unknown user is not refused")
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "keepalived.conf:15: vrrp_script d") {
		t.Errorf("errs = %v, want one naming keepalived.conf:15", errs)
	}

	// Without script_user: keepalived_script when it exists, else root with a warning.
	_, cfg = scriptConf(t, dir, "vrrp_script a {\n\tscript /bin/a\n}\n")
	p, _, warns := newScriptPolicy(cfg, fakeUsers(true))
	if d := p.lookup([]string{"/bin/a"}); d.cred == nil || *d.cred != (scriptCred{998, 997}) {
		t.Errorf("default user: cred %+v, want keepalived_script's 998:997", d.cred)
	}
	if !strings.Contains(strings.Join(warns, "\n"), "SECURITY VIOLATION") {
		t.Errorf("warnings %q lack keepalived's SECURITY VIOLATION warning", warns)
	}
	p, _, warns = newScriptPolicy(cfg, fakeUsers(false))
	if d := p.lookup([]string{"/bin/a"}); d.cred != nil || d.refused != nil {
		t.Errorf("no keepalived_script: cred %+v refused %v, want root", d.cred, d.refused)
	}
	if !strings.Contains(strings.Join(warns, "\n"), "default user 'keepalived_script' for script execution does not exist") {
		t.Errorf("warnings %q lack the missing default user", warns)
	}
}

// TestCheckFileRefusesInsecureScript: with enable_script_security, -t names the
// file:line of a world-writable script, and of one in a world-writable directory,
// and fails; the runner does not run them.
func TestCheckFileRefusesInsecureScript(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	world := filepath.Join(dir, "world.sh")
	writeScript(t, world, 0o777, "exit 0\n")
	inOpen := filepath.Join(open, "notify.sh")
	writeScript(t, inOpen, 0o755, "exit 0\n")
	name, cfg := scriptConf(t, dir, `global_defs {
	enable_script_security
	script_user root
}
vrrp_script chk {
	script "`+world+`"
}
vrrp_instance VI_1 {
	interface lo
	virtual_router_id 1
	notify_master "`+inOpen+`"
	track_script {
		chk
	}
	virtual_ipaddress {
		192.0.2.1
	}
}
`)
	var stdout, stderr bytes.Buffer
	err := checkFile(context.Background(), name, "", &stdout, &stderr)
	if err == nil {
		t.Fatalf("checkFile accepted insecure scripts; stderr:\n%s", stderr.String())
	}
	for _, want := range []string{
		name + ":5: vrrp_script chk: unsafe permissions found for script",
		name + ":8: vrrp_instance VI_1 notify_master: unsafe permissions found for script",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}

	// The runner refuses both: no vrrp_script loop, no notify script.
	var ran []string
	exec := func(_ context.Context, argv []string) error { ran = append(ran, argv[0]); return nil }
	probe := func(_ context.Context, argv []string) bool { ran = append(ran, argv[0]); return true }
	s := newScriptRunner(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), exec, probe)
	s.users = fakeUsers(false)
	s.restartLoops(cfg, func(string, bool) { t.Error("refused vrrp_script was fed") })
	s.notify("VI_1", []string{inOpen})
	s.runSync(&kaconf.Command{Args: []string{world}})
	s.close()
	if len(ran) != 0 {
		t.Errorf("refused scripts ran: %v", ran)
	}
}

// TestIntegrationScriptUser runs a vrrp_script with "user nobody" through the runner
// and runCommand: the script writes id -u where only nobody can write.
func TestIntegrationScriptUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a script as another user")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	dir := secureDir(t)
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	if err := os.Chown(out, uid, gid); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "whoami.sh")
	writeScript(t, script, 0o755, "id -u > "+filepath.Join(out, "uid")+"\n")
	_, cfg := scriptConf(t, dir, `global_defs {
	enable_script_security
}
vrrp_script whoami {
	script "`+script+`"
	user nobody
}
vrrp_instance VI_1 {
	interface lo
	virtual_router_id 1
	track_script {
		whoami
	}
	virtual_ipaddress {
		192.0.2.1
	}
}
`)
	probe := func(ctx context.Context, argv []string) bool { return runCommand(ctx, argv) == nil }
	s := newScriptRunner(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), runCommand, probe)
	fed := make(chan bool, 16)
	s.restartLoops(cfg, func(_ string, ok bool) { fed <- ok })
	defer s.close()
	select {
	case ok := <-fed:
		if !ok {
			t.Fatal("the script failed as nobody")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the script never ran")
	}
	got, err := os.ReadFile(filepath.Join(out, "uid"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != nobody.Uid {
		t.Errorf("script ran as uid %q, want nobody's %s", strings.TrimSpace(string(got)), nobody.Uid)
	}
}
