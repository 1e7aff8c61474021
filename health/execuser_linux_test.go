//go:build linux

package health

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestExecCheckerUser runs the program as another user and group, without
// supplementary groups; it needs root.
func TestExecCheckerUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch users")
	}
	// /bin/sh -c rather than a script in TempDir, which the other user may not reach.
	run := func(test string) error {
		c := &ExecChecker{Argv: []string{"/bin/sh", "-c", test}, User: &ExecUser{UID: 65534, GID: 65533}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.Check(ctx)
		return err
	}
	if err := run(`[ "$(id -u)" = 65534 ] && [ "$(id -g)" = 65533 ] && [ "$(id -G)" = 65533 ]`); err != nil {
		t.Errorf("as 65534:65533: %v", err)
	}
	if err := run(`[ "$(id -u)" = 0 ]`); err == nil {
		t.Error("the program ran as root")
	}
}
