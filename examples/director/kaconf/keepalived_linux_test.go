package kaconf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestIntegrationKeepalivedKnowsTheKeywords runs keepalived 2.2.7's own config check on
// testdata/full.conf (every keyword the reader supports) and on the Format output of
// every test file: keepalived must not call any keyword unknown, except the ones the
// reader warns about.
func TestIntegrationKeepalivedKnowsTheKeywords(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived")
	files, _ := filepath.Glob("testdata/*.conf")
	for _, f := range files {
		c, _, err := ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		formatted := filepath.Join(t.TempDir(), "formatted.conf")
		if err := os.WriteFile(formatted, Format(c), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, conf := range []string{f, formatted} {
			abs, _ := filepath.Abs(conf)
			out, _ := exec.Command("keepalived", "-t", "-f", abs, "-l", "-D", "-n").CombinedOutput()
			for _, line := range strings.Split(string(out), "\n") {
				if !strings.Contains(line, "Unknown keyword") {
					continue
				}
				if strings.Contains(line, "'nb_get_retry'") || strings.Contains(line, "'sni_name'") {
					continue // the reader warns about these
				}
				t.Errorf("keepalived -t %s (from %s): %s", conf, f, line)
			}
		}
	}
}
