package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/vrrp"
)

// startRouter runs an lvskit VRRP router with one instance for VRID 51 on eth0 of ns.
func startRouter(t *testing.T, ns *testenv.NetNS, primary string, prio uint8) *vrrp.Router {
	t.Helper()
	p := netip.MustParseAddr(primary)
	vipAddr := netip.MustParseAddr("192.0.2.100")
	if p.Is6() {
		vipAddr = netip.MustParseAddr("2001:db8::100")
	}
	var tr *vrrp.IPTransport
	if err := ns.Do(func() (err error) {
		tr, err = vrrp.ListenIP(&vrrp.TransportConfig{Interface: "eth0", IPv6: p.Is6()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r, err := vrrp.NewRouter(&vrrp.RouterConfig{Transport: tr, Instances: []vrrp.Config{{
		VRID: 51, Priority: prio, AdvertInterval: 500 * time.Millisecond,
		Primary: p, Addrs: []netip.Addr{vipAddr},
	}}})
	if err != nil {
		tr.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router %s: %v", primary, err)
		}
	})
	return r
}

// waitMaster waits (generously: CI is loaded and runs -race) until r is MASTER.
func waitMaster(t *testing.T, r *vrrp.Router, within time.Duration) {
	t.Helper()
	waitFor(t, within, "router becomes MASTER", func() bool { return r.Snapshot()[0].State == vrrp.StateMaster })
}

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

// program is a running splitbrain.
type program struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startProgram(t *testing.T, ns *testenv.NetNS, bin, log string, args ...string) *program {
	t.Helper()
	p := &program{log: log, done: make(chan struct{})}
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns.Name, bin}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(20 * time.Second):
				t.Errorf("%s did not stop within 20 s of SIGTERM", bin)
				p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(log)
			t.Logf("%s:\n%s", filepath.Base(log), b)
		}
	})
	return p
}

func macOf(t *testing.T, ns *testenv.NetNS) net.HardwareAddr {
	t.Helper()
	var mac net.HardwareAddr
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err == nil {
			mac = ifi.HardwareAddr
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return mac
}

// TestIntegrationSplitBrain puts two lvskit VRRP routers and the watcher on one bridge
// whose router ports are isolated from each other (but not from the watcher's), so both
// routers become MASTER: the watcher reports the split brain (and -once exits with
// status 3). Lifting the isolation heals it, and the watcher says so. Then the VIP is
// put on the master and also on the backup: the watcher reports that a non-master
// answers ARP for it, and that the conflict clears when the backup drops it.
func TestIntegrationSplitBrain(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.SkipInGuest(t)
	testenv.RequireCommand(t, "ip", "bridge", "sh")
	bin := testenv.BuildProgram(t, "splitbrain")

	seg := testenv.NewSegment(t)
	nsA, nsB, nsW := testenv.NewNetNS(t), testenv.NewNetNS(t), testenv.NewNetNS(t)
	portA := seg.Attach(t, nsA, "eth0")
	portB := seg.Attach(t, nsB, "eth0")
	seg.Attach(t, nsW, "eth0")
	nsA.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
	nsB.MustExec(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")
	nsW.MustExec(t, "ip", "addr", "add", "192.0.2.50/24", "dev", "eth0")
	isolate := func(on string) {
		for _, p := range []string{portA, portB} {
			seg.Hub().MustExec(t, "bridge", "link", "set", "dev", p, "isolated", on)
		}
	}
	isolate("on")

	dir := t.TempDir()
	// With no router running, -once -for ends cleanly: status 0.
	quiet := startProgram(t, nsW, bin, filepath.Join(dir, "quiet.log"), "-interface", "eth0", "-once", "-for", "1s")
	select {
	case <-quiet.done:
		if quiet.err != nil {
			t.Errorf("splitbrain -once -for 1s on a quiet segment: %v, want exit status 0", quiet.err)
		}
	case <-time.After(20 * time.Second):
		t.Error("splitbrain -once -for 1s did not exit within 20 s")
	}

	alarms := filepath.Join(dir, "alarms")
	startProgram(t, nsW, bin, filepath.Join(dir, "watch.log"), "-debug", "-interface", "eth0", "-vip", "192.0.2.100",
		"-arp-interval", "300ms", "-arp-wait", "200ms",
		"-alarm", `sh -c 'echo "$SPLITBRAIN_EVENT $SPLITBRAIN_VRID $SPLITBRAIN_MASTERS $SPLITBRAIN_HOLDERS" >> `+alarms+`'`)
	once := startProgram(t, nsW, bin, filepath.Join(dir, "once.log"), "-interface", "eth0", "-family", "4", "-once", "-for", "60s")

	a := startRouter(t, nsA, "192.0.2.1", 200)
	b := startRouter(t, nsB, "192.0.2.2", 100)
	waitMaster(t, a, 20*time.Second)
	waitMaster(t, b, 20*time.Second)

	alarmed := func(line string) func() bool {
		return func() bool {
			out, _ := os.ReadFile(alarms)
			return strings.Contains(string(out), line+"\n")
		}
	}
	waitFor(t, 20*time.Second, "the split brain is reported", alarmed("split-brain 51 192.0.2.1 192.0.2.2 "))
	select {
	case <-once.done:
		var ee *exec.ExitError
		if !errors.As(once.err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("splitbrain -once exited with %v, want exit status 3", once.err)
		}
	case <-time.After(20 * time.Second):
		t.Error("splitbrain -once did not exit within 20 s of the split brain")
	}

	// Heal: the routers hear each other, B (lower) steps down and falls silent.
	isolate("off")
	waitFor(t, 20*time.Second, "B steps down", func() bool { return b.Snapshot()[0].State == vrrp.StateBackup })
	waitFor(t, 20*time.Second, "the healing is reported", alarmed("healed 51 192.0.2.1 "))

	// The master holds the VIP: no conflict. The backup takes it too: a conflict naming
	// the backup's MAC. The backup drops it: cleared.
	nsA.MustExec(t, "ip", "addr", "add", "192.0.2.100/24", "dev", "eth0")
	time.Sleep(time.Second) // a few ARP rounds with only the master answering
	nsB.MustExec(t, "ip", "addr", "add", "192.0.2.100/24", "dev", "eth0")
	waitFor(t, 20*time.Second, "the VIP conflict is reported", alarmed("vip-conflict 51 192.0.2.1 "+macOf(t, nsB).String()))
	nsB.MustExec(t, "ip", "addr", "del", "192.0.2.100/24", "dev", "eth0")
	waitFor(t, 20*time.Second, "the VIP conflict clears", alarmed("vip-ok 51 192.0.2.1 "+macOf(t, nsA).String()))

	out, _ := os.ReadFile(alarms)
	want := "split-brain 51 192.0.2.1 192.0.2.2 \nhealed 51 192.0.2.1 \nvip-conflict 51 192.0.2.1 " +
		macOf(t, nsB).String() + "\nvip-ok 51 192.0.2.1 " + macOf(t, nsA).String() + "\n"
	if string(out) != want {
		t.Errorf("alarms:\n%s\nwant exactly:\n%s", out, want)
	}
}

// TestIntegrationSplitBrainIPv6 is the split brain over IPv6: two VRRPv3 routers on
// isolated bridge ports advertise to ff02::12 from their link-local addresses, and the
// watcher reports them both, then the healing.
func TestIntegrationSplitBrainIPv6(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.SkipInGuest(t)
	testenv.RequireCommand(t, "ip", "bridge", "sh")
	bin := testenv.BuildProgram(t, "splitbrain")

	seg := testenv.NewSegment(t)
	nsA, nsB, nsW := testenv.NewNetNS(t), testenv.NewNetNS(t), testenv.NewNetNS(t)
	ports := []string{seg.Attach(t, nsA, "eth0"), seg.Attach(t, nsB, "eth0")}
	seg.Attach(t, nsW, "eth0")
	isolate := func(on string) {
		for _, p := range ports {
			seg.Hub().MustExec(t, "bridge", "link", "set", "dev", p, "isolated", on)
		}
	}
	isolate("on")
	// The routers need their link-local addresses out of duplicate address detection.
	linkLocal := func(ns *testenv.NetNS) string {
		var a netip.Addr
		waitFor(t, 20*time.Second, "a usable link-local address", func() bool {
			out := ns.MustExec(t, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
			f := strings.Fields(out)
			if len(f) < 4 || strings.Contains(out, "tentative") {
				return false
			}
			p, err := netip.ParsePrefix(f[3])
			a = p.Addr()
			return err == nil
		})
		return a.String()
	}
	llA, llB := linkLocal(nsA), linkLocal(nsB)
	if netip.MustParseAddr(llB).Less(netip.MustParseAddr(llA)) {
		// Reports list masters in address order.
		llA, llB = llB, llA
		nsA, nsB = nsB, nsA
	}

	dir := t.TempDir()
	alarms := filepath.Join(dir, "alarms")
	startProgram(t, nsW, bin, filepath.Join(dir, "watch.log"), "-debug", "-interface", "eth0", "-family", "6",
		"-alarm", `sh -c 'echo "$SPLITBRAIN_EVENT $SPLITBRAIN_VRID $SPLITBRAIN_MASTERS" >> `+alarms+`'`)
	a := startRouter(t, nsA, llA, 200)
	b := startRouter(t, nsB, llB, 100)
	waitMaster(t, a, 20*time.Second)
	waitMaster(t, b, 20*time.Second)
	alarmed := func(line string) func() bool {
		return func() bool {
			out, _ := os.ReadFile(alarms)
			return strings.Contains(string(out), line+"\n")
		}
	}
	waitFor(t, 20*time.Second, "the split brain is reported", alarmed("split-brain 51 "+llA+" "+llB))
	isolate("off")
	waitFor(t, 20*time.Second, "B steps down", func() bool { return b.Snapshot()[0].State == vrrp.StateBackup })
	waitFor(t, 20*time.Second, "the healing is reported", alarmed("healed 51 "+llA))
	out, _ := os.ReadFile(alarms)
	if want := "split-brain 51 " + llA + " " + llB + "\nhealed 51 " + llA + "\n"; string(out) != want {
		t.Errorf("alarms:\n%s\nwant exactly:\n%s", out, want)
	}
}

// startKeepalived runs keepalived VRRP-only in ns with conf until the test ends.
func startKeepalived(t *testing.T, ns *testenv.NetNS, conf string) {
	t.Helper()
	dir := t.TempDir()
	cf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startProgram(t, ns, "keepalived", filepath.Join(dir, "keepalived.log"), "-f", cf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"-n", "-l", "-D", "--vrrp")
}

// seedConf is the seeds' Nginx + keepalived instance (VRRPv2, simple password, 1 s).
const seedConf = `global_defs {
   router_id %s
}
vrrp_instance VI_1 {
   state %s
   interface eth0
   mcast_src_ip %s
   virtual_router_id 51
   priority %d
   advert_int 1
   authentication {
      auth_type PASS
      auth_pass 1111
   }
   virtual_ipaddress {
      192.0.2.100/24
   }
}
`

// TestIntegrationSplitBrainKeepalived watches the seeds' pair of keepalived 2.2.7
// instances (VRRPv2 with a password): cut apart, both become MASTER and both hold the
// VIP, which the watcher reports as a split brain (and not as a VIP conflict: both
// holders advertise); joined again, the BACKUP steps down and the watcher reports the
// healing.
func TestIntegrationSplitBrainKeepalived(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.SkipInGuest(t)
	testenv.RequireCommand(t, "ip", "bridge", "sh", "keepalived")
	bin := testenv.BuildProgram(t, "splitbrain")

	seg := testenv.NewSegment(t)
	nsA, nsB, nsW := testenv.NewNetNS(t), testenv.NewNetNS(t), testenv.NewNetNS(t)
	ports := []string{seg.Attach(t, nsA, "eth0"), seg.Attach(t, nsB, "eth0")}
	seg.Attach(t, nsW, "eth0")
	nsA.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
	nsB.MustExec(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")
	nsW.MustExec(t, "ip", "addr", "add", "192.0.2.50/24", "dev", "eth0")
	isolate := func(on string) {
		for _, p := range ports {
			seg.Hub().MustExec(t, "bridge", "link", "set", "dev", p, "isolated", on)
		}
	}
	isolate("on")

	dir := t.TempDir()
	alarms := filepath.Join(dir, "alarms")
	startProgram(t, nsW, bin, filepath.Join(dir, "watch.log"), "-debug", "-interface", "eth0", "-family", "4",
		"-vip", "192.0.2.100", "-arp-interval", "300ms", "-arp-wait", "200ms",
		"-alarm", `sh -c 'echo "$SPLITBRAIN_EVENT $SPLITBRAIN_VRID $SPLITBRAIN_MASTERS" >> `+alarms+`'`)
	startKeepalived(t, nsA, fmt.Sprintf(seedConf, "LVS_1", "MASTER", "192.0.2.1", 100))
	startKeepalived(t, nsB, fmt.Sprintf(seedConf, "LVS_2", "BACKUP", "192.0.2.2", 90))
	holdsVIP := func(ns *testenv.NetNS) bool {
		return strings.Contains(ns.MustExec(t, "ip", "-o", "-4", "addr", "show", "dev", "eth0"), " 192.0.2.100/")
	}
	waitFor(t, 20*time.Second, "both keepalived instances hold the VIP", func() bool { return holdsVIP(nsA) && holdsVIP(nsB) })

	alarmed := func(line string) func() bool {
		return func() bool {
			out, _ := os.ReadFile(alarms)
			return strings.Contains(string(out), line+"\n")
		}
	}
	waitFor(t, 20*time.Second, "the split brain is reported", alarmed("split-brain 51 192.0.2.1 192.0.2.2"))
	isolate("off")
	waitFor(t, 20*time.Second, "the BACKUP gives the VIP up", func() bool { return holdsVIP(nsA) && !holdsVIP(nsB) })
	waitFor(t, 20*time.Second, "the healing is reported", alarmed("healed 51 192.0.2.1"))
	time.Sleep(time.Second) // a few more ARP rounds: still no VIP conflict
	out, _ := os.ReadFile(alarms)
	if want := "split-brain 51 192.0.2.1 192.0.2.2\nhealed 51 192.0.2.1\n"; string(out) != want {
		t.Errorf("alarms:\n%s\nwant exactly:\n%s", out, want)
	}
}
