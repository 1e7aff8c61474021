//go:build linux

package health

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "check.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExecChecker(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		args    []string
		dynamic bool
		wantErr error
		want    Result
	}{
		{name: "exit 0 up", script: "exit 0", want: Result{Detail: "exit status 0"}},
		{name: "exit 1 down", script: "echo not ready; exit 1", wantErr: ErrMismatch},
		{name: "exit 7 down when not dynamic", script: "exit 7", wantErr: ErrMismatch},
		{name: "dynamic exit 1 down", script: "exit 1", dynamic: true, wantErr: ErrMismatch},
		{name: "dynamic exit 0 no weight", script: "exit 0", dynamic: true, want: Result{Detail: "exit status 0"}},
		{name: "dynamic exit 2 weight 0", script: "exit 2", dynamic: true, want: Result{Weight: 0, WeightSet: true, Detail: "exit status 2"}},
		{name: "dynamic exit 255 weight 253", script: "exit 255", dynamic: true, want: Result{Weight: 253, WeightSet: true, Detail: "exit status 255"}},
		{name: "argv without shell", script: `[ "$1" = 'a b;c' ] && [ $# -eq 1 ]`, args: []string{"a b;c"}, want: Result{Detail: "exit status 0"}},
		{name: "killed by signal", script: "kill -9 $$", wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer noLeak(t)()
			c := &ExecChecker{Argv: append([]string{writeScript(t, tt.script)}, tt.args...), Dynamic: tt.dynamic}
			res, err := checkErrLoose(t, c, 5*time.Second, tt.wantErr)
			if err == nil && res != tt.want {
				t.Errorf("Result = %+v, want %+v", res, tt.want)
			}
		})
	}
	t.Run("missing program", func(t *testing.T) {
		_, err := checkErrLoose(t, &ExecChecker{Argv: []string{filepath.Join(t.TempDir(), "nope")}}, 5*time.Second, errAny)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error %v, want os.ErrNotExist", err)
		}
	})
}

// TestExecCheckerKillsProcessGroup runs a script that ignores SIGTERM and leaves a
// child behind; the deadline must kill the whole group on time.
func TestExecCheckerKillsProcessGroup(t *testing.T) {
	defer noLeak(t)()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	script := writeScript(t, "trap '' TERM\necho $$ > "+pidFile+"\nsleep 60 &\nsleep 60\nwait")
	start := time.Now()
	_, err := checkErr(t, &ExecChecker{Argv: []string{script}}, 500*time.Millisecond, ErrTimeout)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("Check returned after %v, want about 500ms", el)
	}
	if err == nil {
		t.Fatal("want a timeout")
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatalf("script never ran: %v", rerr)
	}
	pgid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for {
		live := liveInGroup(pgid)
		if len(live) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has live members: %q", pgid, live)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
