package arpctl

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// fakeTree builds a /proc/sys lookalike with the given interfaces (besides all and
// default), every Key set to 0 except those in vals, and returns its root.
func fakeTree(t *testing.T, ifaces []string, vals map[Setting]int) string {
	t.Helper()
	root := t.TempDir()
	scopes := append([]string{"all", "default"}, ifaces...)
	for _, sc := range scopes {
		dir := filepath.Join(root, "net/ipv4/conf", sc)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, k := range Keys() {
			if k == IPForward {
				continue
			}
			writeFile(t, filepath.Join(dir, string(k)), vals[Setting{Scope(sc), k}])
		}
	}
	writeFile(t, filepath.Join(root, "net/ipv4/ip_forward"), vals[Setting{Key: IPForward}])
	return root
}

func writeFile(t *testing.T, path string, v int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strconv.Itoa(v)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// dumpTree reads every setting of every scope under root.
func dumpTree(t *testing.T, c *Client) map[Setting]int {
	t.Helper()
	ifs, err := c.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	out := map[Setting]int{}
	for _, sc := range append([]string{"all", "default"}, ifs...) {
		for _, k := range Keys() {
			if k == IPForward {
				continue
			}
			s := Setting{Scope(sc), k}
			v, err := c.Get(s)
			if err != nil {
				t.Fatal(err)
			}
			out[s] = v
		}
	}
	v, err := c.Get(Setting{Key: IPForward})
	if err != nil {
		t.Fatal(err)
	}
	out[Setting{Key: IPForward}] = v
	return out
}

func newFake(t *testing.T, ifaces []string, vals map[Setting]int) *Client {
	t.Helper()
	c, err := New(&Config{Root: fakeTree(t, ifaces, vals)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
