package kaconf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
)

// corpusDir finds the keepalived.conf corpus: $KACONF_CORPUS, or shared/keepalived-corpus
// in the nearest directory above this one that has it (../shared beside the
// repository). The corpus is read where it is, never copied in.
func corpusDir(t *testing.T) string {
	if d := os.Getenv("KACONF_CORPUS"); d != "" {
		return d
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		c := filepath.Join(dir, "shared", "keepalived-corpus")
		if _, err := os.Stat(c); err == nil {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// keepalivedDrops are the messages with which keepalived 2.2.7's -t says it drops or
// rejects something the file's author wrote (it then runs without it): the oracle's
// "refused". Messages about the environment (missing scripts or users, script
// security, interfaces) and adjustments keepalived makes on purpose are not among them.
// keepalivedEnv are messages about this machine, not the file (no keepalived_script
// user here, script files absent), even where they say "removing".
var keepalivedEnv = regexp.MustCompile(`Unable to set|not found/accessible|SECURITY VIOLATION|doesn't exist`)

var keepalivedDrops = regexp.MustCompile(`Unknown keyword|unknown \[|is invalid|Invalid |invalid IP|outside range|must be in \[|Extra '}'|Missing '|at least one is required|- removing$|- skipping`)

// corpusKnown lists, per file, the deliberate differences from keepalived 2.2.7 that
// the migration guide documents: the reader refuses (refuse) or warns where keepalived
// drops a line (warn). The value is a substring of the reader's first error, or of one
// of its warnings.
var corpusKnown = map[string]struct {
	refuse, warn string
	why          string
}{
	// Features the director does not implement (guide: Rejected keywords), refused by
	// name rather than run without.
	"realworld/rw01_zillow_linuxgateway.conf": {refuse: "garp_master_delay: unknown or unsupported keyword: not a keyword of global_defs", why: "invalid for keepalived too; use_vmac also (guide)"},
	// keepalived drops the line; the reader reads it as its author meant, with a
	// warning (guide: Where the reader reads a file differently).
	"realworld/rw19_zhangzuoqiang_DevOps.conf": {warn: "keepalived 2.2.7 rejects nb_get_retry in TCP_CHECK", why: "nb_get_retry in TCP_CHECK read as retry"},
	"upstream/etc.keepalived.conf":             {warn: "vrrp_garp_interval: keepalived 2.2.7 rejects 0", why: "vrrp_garp_interval 0 read as no delay"},
	"upstream/etc.keepalived.conf.sample.in":   {warn: "vrrp_garp_interval: keepalived 2.2.7 rejects 0", why: "vrrp_garp_interval 0 read as no delay"},
}

// corpusConfigID is the -i a file is meant to run with (its first comment says so).
var corpusConfigID = map[string]string{
	"upstream/keepalived.conf.conditional_conf": "high",
}

// interfaceRE finds the interface names a file uses, so that the namespace has them.
var interfaceRE = regexp.MustCompile(`(?m)(?:\binterface|\bdev|lvs_sync_daemon(?:_interface)?|default_interface)[ \t]+([A-Za-z][A-Za-z0-9_.-]*)`)

// TestIntegrationCorpus runs every file of the corpus through keepalived 2.2.7's -t, in a
// network namespace that has the interfaces the files name, and through the reader:
// where keepalived runs a file as written, the reader accepts it; where keepalived drops
// or rejects part of it, the reader refuses it with file:line; the deliberate
// differences are listed in corpusKnown.
func TestIntegrationCorpus(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived", "ip")
	dir := corpusDir(t)
	if fi, err := os.Stat(dir); dir == "" || err != nil || !fi.IsDir() {
		t.Skipf("no keepalived.conf corpus at %q (set KACONF_CORPUS)", dir)
	}
	var files []string
	for _, pat := range []string{"upstream/*", "realworld/*.conf", "realworld/*/keepalived.conf"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no files in %s", dir)
	}
	ifnames := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		for _, m := range interfaceRE.FindAllSubmatch(b, -1) {
			if n := string(m[1]); len(n) <= 15 && n != "lo" {
				ifnames[n] = true
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ns := testenv.NewNetNS(t)
	names := make([]string, 0, len(ifnames))
	for n := range ifnames {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, n := range names {
		peer := fmt.Sprintf("kcp%d", i)
		ns.MustExec(t, "ip", "link", "add", n, "type", "veth", "peer", "name", peer)
		ns.MustExec(t, "ip", "link", "set", n, "up")
		ns.MustExec(t, "ip", "link", "set", peer, "up")
	}
	seen := map[string]bool{}
	for _, abs := range files {
		rel, _ := filepath.Rel(dir, abs)
		seen[rel] = true
		t.Run(rel, func(t *testing.T) {
			args := []string{"-t", "-l", "-n", "-f", abs}
			if id := corpusConfigID[rel]; id != "" {
				args = append(args, "-i", id)
			}
			out, _ := ns.Exec("keepalived", args...) // exits 5 for warnings too: read the output
			var drops []string
			for _, l := range strings.Split(out, "\n") {
				if keepalivedDrops.MatchString(l) && !keepalivedEnv.MatchString(l) {
					drops = append(drops, l)
				}
			}
			_, warns, err := read(context.Background(), osSource{}, abs, corpusConfigID[rel])
			known, isKnown := corpusKnown[rel]
			switch {
			case isKnown && known.refuse != "":
				if err == nil || !strings.Contains(err.Error(), known.refuse) {
					t.Errorf("reader: err = %v, want the documented refusal %q (%s)", err, known.refuse, known.why)
				}
			case isKnown:
				if err != nil {
					t.Fatalf("reader refused a file it documents reading: %v", err)
				}
				found := false
				for _, w := range warns {
					found = found || strings.Contains(w.String(), known.warn)
				}
				if !found {
					t.Errorf("reader warnings %v, want one with %q (%s)", warns, known.warn, known.why)
				}
				if len(drops) == 0 {
					t.Errorf("keepalived no longer drops anything (%q): the entry in corpusKnown is stale", known.why)
				}
			case len(drops) > 0:
				if err == nil {
					t.Errorf("keepalived drops part of the file but the reader accepts it:\n%s", strings.Join(drops, "\n"))
					return
				}
				for _, e := range errorTexts(err) {
					var ke *Error
					if !errors.As(err, &ke) || !regexp.MustCompile(`^kaconf: [^:]+:[0-9]+: `).MatchString(e) {
						t.Errorf("refusal without file:line: %s", e)
					}
				}
				t.Logf("refused, as keepalived drops %q; reader: %s", drops[0], errorTexts(err)[0])
			default:
				if err != nil {
					t.Errorf("keepalived runs the file as written (-t output:\n%s)\nbut the reader refuses it: %v", out, err)
				}
			}
		})
	}
	for rel := range corpusKnown {
		if !seen[rel] {
			t.Errorf("corpusKnown names %s, which is not in the corpus", rel)
		}
	}
}
