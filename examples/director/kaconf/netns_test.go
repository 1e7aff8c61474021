package kaconf

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadNetNamespace: net_namespace is a top-level line; the first counts, a later
// one is ignored with a warning, as keepalived 2.2.7 does; Format writes it back.
func TestReadNetNamespace(t *testing.T) {
	c, warns, err := readString("net_namespace blue\nglobal_defs {\n router_id r\n}\nnet_namespace red\n")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(NetNamespace{Pos: at("k.conf", 1), Name: "blue"}, c.NetNamespace); diff != "" {
		t.Errorf("net_namespace (-want +got):\n%s", diff)
	}
	if len(warns) != 1 || warns[0].Pos != at("k.conf", 5) || !strings.Contains(warns[0].Message, "duplicate net_namespace definition red: keepalived 2.2.7 ignores it") {
		t.Errorf("warnings %v, want the duplicate at k.conf:5", warns)
	}
	again, _, err := readString(string(Format(c)))
	if err != nil {
		t.Fatalf("reading Format's output: %v", err)
	}
	if diff := cmp.Diff(c, again, eqNetip, ignorePos); diff != "" {
		t.Errorf("round trip (-first +again):\n%s", diff)
	}
	for _, bad := range []string{"..", "a/b", "x" + strings.Repeat("y", 255)} {
		_, _, err := readString("net_namespace " + bad + "\n")
		if err == nil || !strings.Contains(err.Error(), "k.conf:1: net_namespace: bad value: net_namespace") {
			t.Errorf("net_namespace %.20s: %v, want an error at k.conf:1", bad, err)
		}
	}
	if _, _, err := readString("global_defs {\n net_namespace blue\n}\n"); err == nil || !strings.Contains(err.Error(), "k.conf:2: net_namespace: unknown or unsupported keyword") {
		t.Errorf("net_namespace in global_defs: %v, want an error (keepalived reads it only at the top level)", err)
	}
}
