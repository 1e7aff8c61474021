//go:build linux

// Package testenv holds what lvskit's tests share: knowing where they run (the host,
// root or not, or the qemu guest that internal/cmd/vmtest boots) and building network
// namespaces, veth pairs and bridges that are removed when the test ends.
//
// Tests that need privileges are named TestIntegration... and call one of the Require
// functions first, so that `go test ./...` as an ordinary user skips them with a reason.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// GuestEnv is the environment variable that the kernel test harness sets to "1" inside
// the qemu guest. Kernel tests that skip on the host must fail there instead.
const GuestEnv = "LVSKIT_GUEST"

// InGuest reports whether the test runs inside the harness's qemu guest.
func InGuest() bool { return os.Getenv(GuestEnv) == "1" }

// RequireRoot skips t unless the process has CAP_NET_ADMIN (in practice: runs as root).
func RequireRoot(t testing.TB) {
	t.Helper()
	if !hasCap(unix.CAP_NET_ADMIN) {
		t.Skip("needs CAP_NET_ADMIN (run as root); skipped for an unprivileged user")
	}
}

// RequireCommand skips t unless every named program is on PATH. In the guest, where the
// harness is expected to have copied the programs in, a missing one fails the test.
func RequireCommand(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if InGuest() {
				t.Fatalf("%s is not in the guest: pass it to vmtest with -copy", n)
			}
			t.Skipf("needs %s on PATH: %v", n, err)
		}
	}
}

// SkipOrFail skips t with reason on the host, and fails it inside the guest, where every
// kernel feature lvskit uses is expected to be present.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if InGuest() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func hasCap(c int) bool {
	var hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.Geteuid() == 0
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0
}

// Run runs a command and returns its combined output; a failure includes that output.
func Run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || len(out) > 0 {
			return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return string(out), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// MustRun runs a command and fails t if it fails.
func MustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := Run(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
