package doccheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMissing(t *testing.T) {
	dir := t.TempDir()
	src := `package p

// Documented is documented.
type Documented struct {
	// A is documented.
	A int
	B int // B has a line comment.
	C int
	d int
}

type Bare int

func (Bare) Method() {}

// Grouped constants share the group's comment.
const (
	X = 1
	Y = 2
)

var Z = 3

func unexported() {}

func Exported() {}
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p_test.go"), []byte("package p\n\nfunc TestX() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Missing(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "p.go")
	want := []string{
		f + ":8:2: Documented.C",
		f + ":12:6: Bare",
		f + ":14:1: Method",
		f + ":22:5: Z",
		f + ":26:1: Exported",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Missing (-want +got):\n%s", diff)
	}
	if _, err := Missing(t.TempDir()); err == nil {
		t.Error("Missing of an empty directory: no error")
	}
}
