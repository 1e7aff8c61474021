package arpctl

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkApplyRestoreDR(b *testing.B) {
	c := benchTree(b, b.TempDir())
	b.ReportAllocs()
	for b.Loop() {
		snap, err := c.Apply(DRRealServer())
		if err != nil {
			b.Fatal(err)
		}
		if err := snap.Restore(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEffective(b *testing.B) {
	c := benchTree(b, b.TempDir())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Effective("lo", ARPIgnore); err != nil {
			b.Fatal(err)
		}
	}
}

func benchTree(b *testing.B, root string) *Client {
	b.Helper()
	for _, sc := range []string{"all", "default", "lo"} {
		dir := filepath.Join(root, "net/ipv4/conf", sc)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for _, k := range Keys()[:8] {
			if err := os.WriteFile(filepath.Join(dir, string(k)), []byte("0\n"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	c, err := New(&Config{Root: root})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
