//go:build linux

package testenv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/netns"
	"golang.org/x/sys/unix"
)

// NetNS is a named network namespace that a test created with `ip netns add`. It is
// deleted, with every link and process inside it, when the test ends.
type NetNS struct {
	// Name is the namespace's name under /run/netns.
	Name string
}

// NewNetNS creates a network namespace whose name starts with "lvskit-" and brings its
// loopback up. It skips t when the caller lacks privileges or has no ip command.
func NewNetNS(t testing.TB) *NetNS {
	t.Helper()
	RequireRoot(t)
	RequireCommand(t, "ip")
	name := fmt.Sprintf("lvskit-%08x", rand.Uint32())
	MustRun(t, "ip", "netns", "add", name)
	ns := &NetNS{Name: name}
	t.Cleanup(func() {
		// Kill what the test left running inside, then delete the namespace.
		if out, err := Run("ip", "netns", "pids", name); err == nil {
			for _, p := range strings.Fields(out) {
				var pid int
				// Never the test binary itself: a thread of ours that a bug left inside
				// the namespace must fail that test, not kill the whole run.
				if _, err := fmt.Sscan(p, &pid); err == nil && pid != os.Getpid() {
					_ = unix.Kill(pid, unix.SIGKILL)
				} else if pid == os.Getpid() {
					t.Errorf("cleanup: this test process still has a thread in netns %s", name)
				}
			}
		}
		if _, err := Run("ip", "netns", "del", name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	ns.MustExec(t, "ip", "link", "set", "lo", "up")
	return ns
}

// Path is the namespace's file, for APIs that take a namespace by path or descriptor.
func (ns *NetNS) Path() string { return "/run/netns/" + ns.Name }

// Exec runs a command inside the namespace and returns its combined output.
func (ns *NetNS) Exec(name string, args ...string) (string, error) {
	return Run("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// MustExec runs a command inside the namespace and fails t if it fails.
func (ns *NetNS) MustExec(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := ns.Exec(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Do runs fn on an OS thread switched into the namespace. Sockets that fn opens belong to
// the namespace and keep working after Do returns. fn must not start goroutines that
// expect to be in the namespace: they run on other threads.
func (ns *NetNS) Do(fn func() error) error {
	runtime.LockOSThread()
	return netns.DoLocked("testenv", ns.Path(), fn)
}

// Veth links namespace a (interface aName) and b (interface bName) with a veth pair and
// brings both ends up. Deleting either namespace removes the pair.
func Veth(t testing.TB, a *NetNS, aName string, b *NetNS, bName string) {
	t.Helper()
	tmp := fmt.Sprintf("lvt%08x", rand.Uint32())
	MustRun(t, "ip", "link", "add", tmp, "netns", a.Name, "type", "veth", "peer", "name", tmp+"p", "netns", b.Name)
	a.MustExec(t, "ip", "link", "set", tmp, "name", aName)
	b.MustExec(t, "ip", "link", "set", tmp+"p", "name", bName)
	a.MustExec(t, "ip", "link", "set", aName, "up")
	b.MustExec(t, "ip", "link", "set", bName, "up")
}

// Segment is an Ethernet segment: a bridge inside its own namespace, with one veth port
// per attached host namespace.
type Segment struct {
	hub *NetNS
	n   int
}

// NewSegment creates a bridge in a fresh namespace.
func NewSegment(t testing.TB) *Segment {
	t.Helper()
	hub := NewNetNS(t)
	hub.MustExec(t, "ip", "link", "add", "br0", "type", "bridge")
	// No STP and no forwarding delay, so attached ports pass traffic at once.
	hub.MustExec(t, "ip", "link", "set", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
	hub.MustExec(t, "ip", "link", "set", "br0", "up")
	return &Segment{hub: hub}
}

// Attach connects ns to the segment through an interface called ifName inside ns, and
// returns the name of the bridge port in the hub (which a test can take down to cut ns off).
func (s *Segment) Attach(t testing.TB, ns *NetNS, ifName string) string {
	t.Helper()
	s.n++
	port := fmt.Sprintf("port%d", s.n)
	Veth(t, ns, ifName, s.hub, port)
	s.hub.MustExec(t, "ip", "link", "set", port, "master", "br0")
	return port
}

// Hub is the namespace that holds the bridge.
func (s *Segment) Hub() *NetNS { return s.hub }
