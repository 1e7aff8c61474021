package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// node is one running vipfailover in a namespace.
type node struct {
	name string
	vip  string
	ns   *testenv.NetNS
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startNode(t *testing.T, bin, name, vip string, ns *testenv.NetNS, dir string, args ...string) *node {
	t.Helper()
	n := &node{name: name, vip: vip, ns: ns, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(n.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n.cmd = exec.Command("ip", append([]string{"netns", "exec", ns.Name, bin}, args...)...)
	n.cmd.Stdout, n.cmd.Stderr = f, f
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		n.stop(t)
		if t.Failed() {
			b, _ := os.ReadFile(n.log)
			t.Logf("log of %s:\n%s", name, b)
		}
	})
	return n
}

// stop sends SIGTERM and waits (generously) for the program to resign and exit.
func (n *node) stop(t *testing.T) {
	select {
	case <-n.done:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop within 20 s of SIGTERM; killing it", n.name)
		n.cmd.Process.Kill()
		<-n.done
	}
}

// hasVIP reports whether the node's eth0 holds the VIP.
func (n *node) hasVIP(t *testing.T) bool {
	t.Helper()
	out := n.ns.MustExec(t, "ip", "-o", "addr", "show", "dev", "eth0")
	return strings.Contains(out, " "+n.vip+"/")
}

// waitLinkLocal waits until eth0's IPv6 link-local address in ns has left duplicate
// address detection, so that VRRP can send from it.
func waitLinkLocal(t *testing.T, ns *testenv.NetNS) {
	t.Helper()
	waitFor(t, 20*time.Second, "a usable link-local address", func() bool {
		out := ns.MustExec(t, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
		return strings.Contains(out, "fe80:") && !strings.Contains(out, "tentative")
	})
}

// waitFor polls cond every 50 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// holds waits until exactly owner (of a and b) holds the VIP.
func holds(t *testing.T, owner, other *node) {
	t.Helper()
	waitFor(t, 20*time.Second, owner.name+" holds the VIP and "+other.name+" does not", func() bool {
		return owner.hasVIP(t) && !other.hasVIP(t)
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// TestIntegrationFailover runs two vipfailover nodes on one segment, A preferred. A's
// "service" is a file the test removes: a restart that brings it back keeps the VIP on
// A; a restart that does not hands the VIP to B (by FAULT with weight 0, or by the
// priority dropping below B's with a weight); the service coming back returns the VIP
// to A; and A's graceful stop hands it to B. It runs by multicast and by unicast over
// IPv4, and by multicast over IPv6.
func TestIntegrationFailover(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.SkipInGuest(t)
	testenv.RequireCommand(t, "ip", "sh", "touch", "test")
	bin := testenv.BuildProgram(t, "vipfailover")
	for _, tc := range []struct {
		name    string
		weight  string
		v6      bool
		unicast bool
	}{
		{name: "fault", weight: "0"},
		{name: "weight", weight: "-60"},
		{name: "unicast", weight: "0", unicast: true},
		{name: "ipv6", weight: "-60", v6: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			weight := tc.weight
			vip, vipPrefix := "192.0.2.100", "192.0.2.100/24"
			if tc.v6 {
				vip, vipPrefix = "2001:db8::100", "2001:db8::100/64"
			}
			seg := testenv.NewSegment(t)
			nsA, nsB := testenv.NewNetNS(t), testenv.NewNetNS(t)
			seg.Attach(t, nsA, "eth0")
			seg.Attach(t, nsB, "eth0")
			nsA.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
			nsB.MustExec(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")
			if tc.v6 {
				waitLinkLocal(t, nsA)
				waitLinkLocal(t, nsB)
			}
			dir := t.TempDir()
			for _, f := range []string{"a.up", "b.up", "a.fixable", "b.fixable"} {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := func(name, prio, peer string) []string {
				up := filepath.Join(dir, name+".up")
				restart := fmt.Sprintf("echo restart >> %s/%s.restarts; if test -f %s/%s.fixable; then touch %s; fi",
					dir, name, dir, name, up)
				// A generous check timeout: on a loaded CI machine even `test -f` can
				// take longer than the 200 ms interval, which would count as a failure.
				args := []string{
					"-interface", "eth0", "-vip", vipPrefix, "-vrid", "51", "-priority", prio,
					"-advert-int", "500ms", "-check-interval", "200ms", "-check-timeout", "10s", "-fall", "2", "-rise", "2",
					"-weight", weight, "-check", "test -f " + up, "-restart", "sh -c '" + restart + "'",
				}
				if tc.unicast {
					args = append(args, "-peer", peer)
				}
				return args
			}
			a := startNode(t, bin, "A", vip, nsA, dir, args("a", "150", "192.0.2.2")...)
			b := startNode(t, bin, "B", vip, nsB, dir, args("b", "100", "192.0.2.1")...)
			holds(t, a, b)

			// The service dies and the restart brings it back: the VIP stays on A.
			if err := os.Remove(filepath.Join(dir, "a.up")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "A restarts its service", func() bool { return exists(filepath.Join(dir, "a.restarts")) })
			waitFor(t, 10*time.Second, "the restart recreates a.up", func() bool { return exists(filepath.Join(dir, "a.up")) })
			// Ten check intervals and three advert intervals: B never takes over.
			for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				if !a.hasVIP(t) || b.hasVIP(t) {
					t.Fatalf("after a successful restart: A has VIP %v, B has VIP %v; want A only", a.hasVIP(t), b.hasVIP(t))
				}
			}
			if n := lines(t, filepath.Join(dir, "a.restarts")); n != 1 {
				t.Errorf("A restarted %d times, want 1", n)
			}

			// The service dies and stays down after the restart: B takes the VIP.
			if err := os.Remove(filepath.Join(dir, "a.fixable")); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, "a.up")); err != nil {
				t.Fatal(err)
			}
			holds(t, b, a)
			if n := lines(t, filepath.Join(dir, "a.restarts")); n != 2 {
				t.Errorf("A restarted %d times in all, want 2", n)
			}
			wantLog := "to=FAULT"
			if weight != "0" {
				wantLog = "to=BACKUP reason=preempted priority=90"
			}
			if b, _ := os.ReadFile(a.log); !strings.Contains(string(b), wantLog) {
				t.Errorf("A's log has no %q", wantLog)
			}
			if exists(filepath.Join(dir, "b.restarts")) {
				t.Error("B ran its restart command although its service never failed")
			}

			// The service comes back: A takes part again and, preferred, takes the VIP back.
			if err := os.WriteFile(filepath.Join(dir, "a.up"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			holds(t, a, b)

			// A graceful stop resigns and removes the VIP; B takes over.
			a.stop(t)
			holds(t, b, a)
			if tc.name != "fault" {
				return
			}

			// SIGKILL leaves B's VIP behind; the next run removes it at start (it is
			// marked as vipfailover's) before it takes part again.
			b.cmd.Process.Kill()
			<-b.done
			if !b.hasVIP(t) {
				t.Fatal("B's VIP is gone after SIGKILL; the test needs it left behind")
			}
			b2 := startNode(t, bin, "B2", vip, nsB, dir, args("b", "100", "192.0.2.1")...)
			waitFor(t, 20*time.Second, "the new run removes the VIP left behind", func() bool {
				out, _ := os.ReadFile(b2.log)
				return strings.Contains(string(out), "removed a VIP left behind by an earlier run")
			})
			holds(t, b2, a)
		})
	}
}
