package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigIDFlag: -i selects the "@ID" lines as keepalived's -i does: a line for
// another ID is skipped, a line for this one is read (here a keyword the reader
// refuses, so that -t shows which lines it read).
func TestConfigIDFlag(t *testing.T) {
	f := filepath.Join(t.TempDir(), "keepalived.conf")
	conf := "global_defs {\n    @alpha router_id A\n    @beta not_a_keyword 1\n    @^alpha router_id notalpha\n}\n"
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		ok   bool
		want string
	}{
		{"alpha", true, "configuration OK"},
		{"beta", false, "keepalived.conf:3: not_a_keyword: unknown or unsupported keyword"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"-t", "-i", tc.id, "-f", f}, &stdout, &stderr)
		out := stdout.String() + stderr.String()
		if (err == nil) != tc.ok || !strings.Contains(out, tc.want) {
			t.Errorf("-i %s: %v\n%s\nwant ok=%v and %q", tc.id, err, out, tc.ok, tc.want)
		}
	}
}
