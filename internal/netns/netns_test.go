//go:build linux

package netns

import (
	"errors"
	"os"
	"testing"
)

func TestDoEmptyPathRunsHere(t *testing.T) {
	want := errors.New("from fn")
	if err := Do("x", "", func() error { return want }); err != want {
		t.Fatalf("Do = %v, want fn's error unchanged", err)
	}
}

func TestDoMissingNamespace(t *testing.T) {
	ran := false
	err := Do("x", "/nonexistent/netns", func() error { ran = true; return nil })
	if !errors.Is(err, os.ErrNotExist) || ran {
		t.Fatalf("Do = %v (fn ran: %v), want os.ErrNotExist and fn not run", err, ran)
	}
	if got := err.Error(); len(got) < 3 || got[:3] != "x: " {
		t.Errorf("error %q does not start with the caller's package name", got)
	}
}

// Entering the namespace the thread is already in needs no privilege beyond setns's
// own, so it shows the round trip as root; elsewhere it checks the permission error.
func TestDoOwnNamespace(t *testing.T) {
	var inside string
	err := Do("x", "/proc/self/ns/net", func() (err error) {
		inside, err = os.Readlink("/proc/thread-self/ns/net")
		return err
	})
	if errors.Is(err, os.ErrPermission) {
		t.Skipf("setns needs CAP_SYS_ADMIN: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	outside, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if inside != outside {
		t.Errorf("fn ran in %s, want %s", inside, outside)
	}
}
