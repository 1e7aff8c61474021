package main

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// The README shows this program in full; the copy there must not drift from the code
// that compiles and runs here.
func TestREADMEShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+string(src)+"```\n") {
		t.Error("README.md does not hold examples/minidirector/main.go verbatim in a ```go block: copy it again")
	}
}

// TestIntegrationMiniDirector runs the program in a namespace on a real IPVS kernel: alone
// on its segment it becomes MASTER, holds the VIP and installs the service; stopping it
// removes the VIP.
func TestIntegrationMiniDirector(t *testing.T) {
	seg := testenv.NewSegment(t)
	ns := testenv.NewNetNS(t)
	seg.Attach(t, ns, "eth0")
	ns.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
	if err := ns.Do(func() error {
		c, err := ipvs.Dial(nil)
		if err != nil {
			return err
		}
		return c.Close()
	}); errors.Is(err, ipvs.ErrUnavailable) {
		testenv.SkipOrFail(t, "no IPVS in this kernel: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ns.Do(func() error { return run(ctx, "eth0", netip.MustParseAddr("192.0.2.1")) }) }()

	waitFor(t, "the VIP on eth0", func() bool {
		out, _ := ns.Exec("ip", "-4", "addr", "show", "dev", "eth0")
		return strings.Contains(out, "192.0.2.100/32")
	})
	waitFor(t, "the IPVS service with both real servers", func() bool {
		var n int
		_ = ns.Do(func() error {
			c, err := ipvs.Dial(nil)
			if err != nil {
				return err
			}
			defer c.Close()
			snap, err := c.Snapshot(context.Background())
			if err == nil && len(snap) == 1 {
				n = len(snap[0].Destinations)
			}
			return err
		})
		return n == 2
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if out := ns.MustExec(t, "ip", "-4", "addr", "show", "dev", "eth0"); strings.Contains(out, "192.0.2.100") {
		t.Errorf("VIP still on eth0 after stop:\n%s", out)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
