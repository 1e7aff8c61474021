package kaconf

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestIntegrationKeepalivedReadsRules runs keepalived 2.2.7's -t, the oracle, on
// rulesConf and on its Format output, in a namespace that has the file's
// interfaces: keepalived refuses no rule or address of either, and the preferences
// it gives rules without one are the reader's, at the same lines.
func TestIntegrationKeepalivedReadsRules(t *testing.T) {
	testenv.RequireCommand(t, "keepalived")
	ns := testenv.NewNetNS(t)
	for i, n := range []string{"eth0", "eth1", "eth9"} {
		peer := "kr" + string(rune('0'+i))
		ns.MustExec(t, "ip", "link", "add", n, "type", "veth", "peer", "name", peer)
		ns.MustExec(t, "ip", "link", "set", n, "up")
	}
	c, warns, err := readString(rulesConf)
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, w := range warns {
		if m := regexp.MustCompile(`set to (\d+)`).FindStringSubmatch(w.Message); m != nil {
			ours = append(ours, strings.TrimPrefix(w.Pos.String(), "k.conf:")+" "+m[1])
		}
	}
	prio := regexp.MustCompile(`Line (\d+)\) Rule has no preference specified - setting to (\d+)`)
	refused := regexp.MustCompile(`(?i)invalid|unknown|cannot|mixed|skipping|ignoring`)
	dir := t.TempDir()
	for name, text := range map[string]string{"k.conf": rulesConf, "formatted.conf": string(Format(c))} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := ns.Exec("keepalived", "-t", "-l", "-n", "-f", path)
		var theirs []string
		for _, l := range strings.Split(out, "\n") {
			if m := prio.FindStringSubmatch(l); m != nil {
				theirs = append(theirs, m[1]+" "+m[2])
				continue
			}
			if refused.MatchString(l) && !strings.Contains(l, "SECURITY") {
				t.Errorf("keepalived -t %s: %s", name, l)
			}
		}
		want := ours
		if name == "formatted.conf" {
			want = nil // every preference is written
		}
		if !slices.Equal(want, theirs) {
			t.Errorf("%s: keepalived gives preferences %q, the reader %q", name, theirs, want)
		}
	}
}
