package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// logWriter passes the narration to t.Log line by line.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestIntegrationECMP runs the -scenario ecmp story: three directors behind a BIRD
// router's ECMP route with BFD, mh with mh-port and sloppy_tcp. It fails unless a
// silent director death, a director's return, a drain with SIGTERM and a failed real
// server break none of the client's connections they must keep (the story checks
// each), and logs the measurements (docs/benchmarks/lab.md).
func TestIntegrationECMP(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip", "bird", "birdc")
	if err := ipvsAvailable(); err != nil {
		testenv.SkipOrFail(t, "the kernel has no IPVS (run these tests with go run ./internal/cmd/vmtest): %v", err)
	}
	l, err := newECMPLab(testBinaries(t), ecmpCluster(options{check: "TCP_CHECK"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range l.procs {
				t.Logf("--- last lines of %s:\n%s", p.name, tail(p.log, 25))
			}
		}
		if err := l.close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		left, err := l.namespaces()
		if err != nil || len(left) > 0 {
			t.Errorf("left behind: namespaces %v (%v)", left, err)
		}
		if _, err := os.Stat(l.dir); !os.IsNotExist(err) {
			t.Errorf("left behind: %s (%v)", l.dir, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := ecmpStory(ctx, l, &narrator{out: logWriter{t}, start: time.Now()}); err != nil {
		t.Fatal(err)
	}
}
