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
			if k.Global() {
				continue
			}
			writeFile(t, filepath.Join(dir, string(k)), vals[Setting{Scope(sc), k}])
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "net/ipv6"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		if k.Global() && !k.ipvs() {
			s := Setting{Key: k}
			writeFile(t, filepath.Join(root, s.path()), vals[s])
		}
	}
	return root
}

// withIPVS adds the net/ipv4/vs sysctls that loading ip_vs creates to the tree at root,
// set from vals (0 when absent).
func withIPVS(t *testing.T, root string, vals map[Setting]int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "net/ipv4/vs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		if k.ipvs() {
			s := Setting{Key: k}
			writeFile(t, filepath.Join(root, s.path()), vals[s])
		}
	}
}

// hasIPVS reports whether the tree behind c has the IPVS sysctls.
func hasIPVS(c *Client) bool {
	_, err := os.Stat(filepath.Join(c.root, "net/ipv4/vs"))
	return err == nil
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
			if k.Global() {
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
	for _, k := range Keys() {
		if !k.Global() || (k.ipvs() && !hasIPVS(c)) {
			continue
		}
		v, err := c.Get(Setting{Key: k})
		if err != nil {
			t.Fatal(err)
		}
		out[Setting{Key: k}] = v
	}
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
