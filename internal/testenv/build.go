//go:build linux

package testenv

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// SkipInGuest skips t inside the kernel-test guest, which has no Go toolchain (so it
// cannot build programs) and need not repeat tests that the host kernel runs.
func SkipInGuest(t testing.TB) {
	t.Helper()
	if InGuest() {
		t.Skip("the kernel-test guest has no Go toolchain to build the program with")
	}
}

// BuildProgram builds the main package in the test's working directory into a
// temporary directory and returns the binary's path. It skips t in the guest and where
// the go command is missing.
func BuildProgram(t testing.TB, name string) string {
	t.Helper()
	SkipInGuest(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("needs the go command to build the program: %v", err)
	}
	bin := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
