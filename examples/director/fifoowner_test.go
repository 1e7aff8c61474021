package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// TestFIFOOwner: the owner of a FIFO the director creates is keepalived's: the
// USER [GROUP] after the path, else script_user, else keepalived_script when the
// system has it, else the director's own user; an unknown user is an error.
func TestFIFOOwner(t *testing.T) {
	for _, tc := range []struct {
		name    string
		g       kaconf.Global
		f       kaconf.NotifyFIFO
		withDef bool
		want    *scriptCred
		err     string
	}{
		{name: "explicit user", f: kaconf.NotifyFIFO{User: "nobody"}, withDef: true, want: &scriptCred{65534, 65534}},
		{name: "explicit user and group", f: kaconf.NotifyFIFO{User: "nobody", Group: "nogroup"}, want: &scriptCred{65534, 65533}},
		{name: "explicit root", f: kaconf.NotifyFIFO{User: "root"}, withDef: true, want: nil},
		{name: "script_user", g: kaconf.Global{ScriptUser: "nobody"}, withDef: true, want: &scriptCred{65534, 65534}},
		{name: "keepalived_script", withDef: true, want: &scriptCred{998, 997}},
		{name: "no default user", want: nil},
		{name: "unknown user", f: kaconf.NotifyFIFO{User: "ghost"}, err: "unknown script user ghost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fifoOwner(fakeUsers(tc.withDef), &tc.g, &tc.f)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("owner (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIntegrationNotifyFIFOChown: a FIFO the director creates belongs to its
// user (here script_user nobody); one that exists keeps its owner; one whose user
// is unknown is not created.
func TestIntegrationNotifyFIFOChown(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	dir := t.TempDir()
	made, there, ghost := filepath.Join(dir, "made"), filepath.Join(dir, "there"), filepath.Join(dir, "ghost")
	if err := syscall.Mkfifo(there, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	n := newNotifyFIFOs(slog.New(slog.NewTextHandler(&logs, nil)))
	n.users = fakeUsers(false)
	g := &kaconf.Global{ScriptUser: "nobody", NotifyFIFO: kaconf.NotifyFIFO{Path: made},
		VRRPNotifyFIFO: kaconf.NotifyFIFO{Path: there}, LVSNotifyFIFO: kaconf.NotifyFIFO{Path: ghost, User: "ghost"}}
	n.configure(context.Background(), g)
	defer n.close()
	owner := func(p string) (uint32, uint32) {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid, st.Gid
	}
	if u, gid := owner(made); u != 65534 || gid != 65534 {
		t.Errorf("created FIFO owned by %d:%d, want 65534:65534", u, gid)
	}
	if u, gid := owner(there); u != 0 || gid != 0 {
		t.Errorf("existing FIFO owned by %d:%d, want it left 0:0", u, gid)
	}
	if _, err := os.Lstat(ghost); !os.IsNotExist(err) {
		t.Errorf("the FIFO of an unknown user was created: %v", err)
	}
	if !strings.Contains(logs.String(), "unknown script user ghost") {
		t.Errorf("the unknown user was not reported:\n%s", logs.String())
	}
}
