package vrrp_test

import (
	"fmt"
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

// keepalived runs keepalived 2.2.7 VRRP-only in ns with conf, and returns its process.
type keepalived struct {
	cmd *exec.Cmd
	log string
}

func startKeepalived(t *testing.T, ns *testenv.NetNS, conf string) *keepalived {
	t.Helper()
	dir := t.TempDir()
	cf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf := filepath.Join(dir, "keepalived.log")
	out, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns.Name, "keepalived", "-f", cf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"),
		"-n", "-l", "-D", "--vrrp")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	k := &keepalived{cmd: cmd, log: logf}
	t.Cleanup(func() {
		k.cmd.Process.Kill()
		k.cmd.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf)
			lines := strings.Split(string(b), "\n")
			t.Logf("keepalived log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	return k
}

// stop sends SIGTERM (keepalived resigns with priority 0) and waits for the exit.
func (k *keepalived) stop(t *testing.T) {
	t.Helper()
	k.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { k.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("keepalived did not exit on SIGTERM")
	}
}

// hasVIP reports whether keepalived in ns holds vip, i.e. is MASTER.
func hasVIP(t *testing.T, ns *testenv.NetNS, vip netip.Addr) bool {
	out, err := ns.Exec("ip", "addr", "show", "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(out, " "+vip.String()+"/")
}

// eventually polls cond every 20 ms until it holds or within passes.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIntegrationKeepalived runs lvskit against keepalived 2.2.7 in namespaces, in four
// protocol settings. Each one checks, in order: lvskit MASTER with keepalived BACKUP;
// lvskit resigning (priority 0) and keepalived taking over; lvskit preempting
// keepalived; keepalived preempting lvskit (keepalived MASTER, lvskit BACKUP);
// keepalived resigning on SIGTERM and lvskit taking over after Skew_Time.
func TestIntegrationKeepalived(t *testing.T) {
	if testenv.InGuest() {
		t.Skip("keepalived interop runs on the host (namespaces suffice), not in the kernel-test guest")
	}
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived", "ip")
	tests := []struct {
		name     string
		v6       bool
		version  int
		interval time.Duration
		kInt     string
		pass     string
		l, k     netip.Addr
		vip      netip.Addr
		unicast  bool
	}{
		{"v2", false, 2, time.Second, "1", "", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.100"), false},
		{"v2 PASS", false, 2, time.Second, "1", "1111", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.100"), false},
		{"v3 IPv4", false, 3, 100 * time.Millisecond, "0.1", "", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.100"), false},
		{"v3 IPv6", true, 3, 100 * time.Millisecond, "0.1", "", netip.MustParseAddr("fe80::a"), netip.MustParseAddr("fe80::b"), netip.MustParseAddr("2001:db8::100"), false},
		// Unicast: keepalived's pseudo-header holds the real unicast destination.
		{"v3 IPv4 unicast", false, 3, 100 * time.Millisecond, "0.1", "", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.100"), true},
		{"v2 unicast PASS", false, 2, time.Second, "1", "1111", netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.100"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seg := testenv.NewSegment(t)
			nsL, nsK := testenv.NewNetNS(t), testenv.NewNetNS(t)
			seg.Attach(t, nsL, "eth0")
			seg.Attach(t, nsK, "eth0")
			for _, x := range []struct {
				ns   *testenv.NetNS
				addr netip.Addr
			}{{nsL, tt.l}, {nsK, tt.k}} {
				if tt.v6 {
					// Only the chosen link-local address, usable at once (no DAD).
					x.ns.MustExec(t, "ip", "-6", "addr", "flush", "dev", "eth0", "scope", "link")
					x.ns.MustExec(t, "ip", "addr", "add", x.addr.String()+"/64", "dev", "eth0", "nodad")
				} else {
					x.ns.MustExec(t, "ip", "addr", "add", x.addr.String()+"/24", "dev", "eth0")
				}
			}
			auth := ""
			if tt.pass != "" {
				auth = fmt.Sprintf("    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", tt.pass)
			}
			if tt.unicast {
				auth += fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n", tt.k, tt.l)
			}
			plen := 24
			if tt.v6 {
				plen = 64
			}
			conf := fmt.Sprintf(`global_defs {
    router_id lvskit_test
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 42
    version %d
    priority 100
    advert_int %s
%s    virtual_ipaddress {
        %s/%d
    }
}
`, tt.version, tt.kInt, auth, tt.vip, plen)
			lcfg := vrrp.Config{Name: "lvskit", VRID: 42, Version: tt.version, Priority: 150, AdvertInterval: tt.interval,
				Primary: tt.l, Addrs: []netip.Addr{tt.vip}, AuthPass: tt.pass}
			tc := vrrp.TransportConfig{Interface: "eth0", IPv6: tt.v6}
			if tt.unicast {
				lcfg.Peers = []netip.Addr{tt.k}
				tc.Peers = []netip.Addr{tt.k}
			}
			slack := 15 * time.Second // CI is loaded and runs -race
			mdi := vrrp.MasterDownInterval(tt.version, 100, tt.interval)

			k := startKeepalived(t, nsK, conf)
			l := startNS(t, nsL, tc, lcfg)

			// 1. lvskit (150) MASTER, keepalived (100) BACKUP.
			waitState(t, l, vrrp.StateMaster, mdi+slack)
			// (keepalived started first and may have become MASTER before lvskit's
			// first advert; then lvskit preempts it.)
			eventually(t, "keepalived follows lvskit", mdi+slack, func() bool { return !hasVIP(t, nsK, tt.vip) })
			time.Sleep(mdi + tt.interval) // keepalived would have taken over by now if it did not hear us
			if hasVIP(t, nsK, tt.vip) {
				t.Fatal("keepalived BACKUP took the address from the lvskit MASTER")
			}

			// 2. lvskit resigns: keepalived takes over after its Skew_Time, long before
			// its Master_Down_Interval.
			stopped := time.Now()
			l.stop(t)
			eventually(t, "keepalived MASTER after lvskit resigned", mdi+slack, func() bool { return hasVIP(t, nsK, tt.vip) })
			t.Logf("keepalived took over %v after lvskit resigned (its down interval %v)", time.Since(stopped).Round(time.Millisecond), mdi)

			// 3. lvskit (150) comes back and preempts keepalived (100).
			l = startNS(t, nsL, tc, lcfg)
			ev := waitState(t, l, vrrp.StateMaster, mdi+slack)
			if ev.Reason != vrrp.ReasonTimeout {
				t.Errorf("lvskit preempted with reason %v", ev.Reason)
			}
			eventually(t, "keepalived steps down to BACKUP", slack, func() bool { return !hasVIP(t, nsK, tt.vip) })
			if s := l.r.Snapshot()[0]; s.State != vrrp.StateMaster {
				t.Fatalf("lvskit lost MASTER: %+v", s)
			}

			// 4. lvskit drops to 50: keepalived (100) preempts it; lvskit is BACKUP.
			if err := l.r.SetPriority("lvskit", 50); err != nil {
				t.Fatal(err)
			}
			ev = waitState(t, l, vrrp.StateBackup, mdi+slack)
			if ev.Reason != vrrp.ReasonPreempted {
				t.Errorf("lvskit stepped down with reason %v", ev.Reason)
			}
			eventually(t, "keepalived MASTER", slack, func() bool { return hasVIP(t, nsK, tt.vip) })
			if s := l.r.Snapshot()[0]; s.MasterAddr != tt.k {
				t.Errorf("lvskit follows %v, want keepalived at %v", s.MasterAddr, tt.k)
			}

			// 5. keepalived resigns on SIGTERM: lvskit takes over after Skew_Time.
			k.stop(t)
			ev = waitState(t, l, vrrp.StateMaster, slack)
			if ev.Reason != vrrp.ReasonPeerResigned {
				t.Errorf("lvskit took over with reason %v, want %v", ev.Reason, vrrp.ReasonPeerResigned)
			}
			if c := l.r.Counters(); c.RxAdverts == 0 {
				t.Errorf("lvskit accepted no keepalived adverts: %+v", c)
			} else {
				var drops []string
				for r, n := range c.Drops {
					if n > 0 {
						drops = append(drops, fmt.Sprintf("%v=%d", vrrp.DropReason(r), n))
					}
				}
				t.Logf("lvskit counters: rx %d adverts %d tx %d drops %v", c.RxPackets, c.RxAdverts, c.TxPackets, drops)
			}
		})
	}
}
