package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
)

// The end-to-end tests build the lab's topology (examples/lab) on a kernel with
// IPVS, which means inside vmtest's qemu guest on lvskit's machines. They need the
// director and realserver programs: $LVSKIT_DIRECTOR_BIN and $LVSKIT_REALSERVER_BIN,
// else director and realserver on PATH (/bin in the guest, copied there with vmtest
// -file), else, outside the guest, built with go build.

var (
	binOnce sync.Once
	binDir  string
	bins    binaries
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func testBinaries(t *testing.T) binaries {
	t.Helper()
	binOnce.Do(func() {
		find := func(name, env string) (string, error) {
			if v := os.Getenv(env); v != "" {
				return v, nil
			}
			if p, err := exec.LookPath(name); err == nil {
				return p, nil
			}
			if testenv.InGuest() {
				return "", fmt.Errorf("%s is not in the guest: pass it to vmtest with -file BIN:/bin/%s (built with CGO_ENABLED=0)", name, name)
			}
			if _, err := exec.LookPath("go"); err != nil {
				return "", fmt.Errorf("no %s: set $%s or put it on PATH", name, env)
			}
			if binDir == "" {
				if binDir, binErr = os.MkdirTemp("", "lab-test-bin-"); binErr != nil {
					return "", binErr
				}
			}
			return buildCommand(context.Background(), binDir, name)
		}
		if bins.director, binErr = find("director", "LVSKIT_DIRECTOR_BIN"); binErr != nil {
			return
		}
		bins.realserver, binErr = find("realserver", "LVSKIT_REALSERVER_BIN")
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return bins
}

// newTestLab builds the lab with the default cluster changed by mod, and removes it
// at the end of the test, checking that nothing is left behind.
func newTestLab(t *testing.T, mod func(*cluster)) *lab {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ip")
	if err := ipvsAvailable(); err != nil {
		testenv.SkipOrFail(t, "the kernel has no IPVS (run these tests with go run ./internal/cmd/vmtest): %v", err)
	}
	b := testBinaries(t)
	c := defaultCluster()
	c.RealServers = slices.Clone(c.RealServers)
	if mod != nil {
		mod(&c)
	}
	l, err := newLab(b, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range l.procs {
				t.Logf("--- last lines of %s:\n%s", p.name, tail(p.log, 25))
			}
		}
		start := time.Now()
		if err := l.close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		t.Logf("cleanup took %v", time.Since(start).Round(time.Millisecond))
		left, err := l.namespaces()
		if err != nil || len(left) > 0 {
			t.Errorf("left behind: namespaces %v (%v)", left, err)
		}
		if _, err := os.Stat(l.dir); !os.IsNotExist(err) {
			t.Errorf("left behind: %s (%v)", l.dir, err)
		}
	})
	return l
}

// startDirectors starts the named directors (dir1 priority 100, dir2 99) and waits
// for first to hold the VIP with every real server in its pool.
func startDirectors(t *testing.T, l *lab, first string, names ...string) {
	t.Helper()
	prio := map[string]int{"dir1": 100, "dir2": 99}
	for _, n := range names {
		if _, err := l.startDirector(l.hosts[n], prio[n]); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if err := l.waitOwner(ctx, first, 60*time.Second); err != nil {
		t.Fatalf("%s never held the VIP alone: %v", first, err)
	}
	if err := poll(ctx, 60*time.Second, func() (bool, error) {
		p, err := l.pool(ctx, first)
		return len(p) == len(l.c.RealServers), err
	}); err != nil {
		t.Fatalf("%s's pool never had every real server: %v", first, err)
	}
	if err := waitServed(ctx, l, 2, 30*time.Second); err != nil {
		t.Fatalf("the VIP does not serve: %v", err)
	}
}

func count(rs []reply) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		m[r.server]++
	}
	return m
}

// TestIntegrationDirectRouting: both real servers serve in the scheduler's
// proportions, the client's address reaches them unchanged on the VIP, and the
// replies come straight from their MACs with the VIP as source.
func TestIntegrationDirectRouting(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*cluster)
		n       int
		want    map[string]int
		wantMAC []string
	}{
		{"rr", func(c *cluster) { c.Scheduler = "rr" }, 10, map[string]int{"rs1": 5, "rs2": 5}, []string{"rs1", "rs2"}},
		{"wrr 1:3", func(c *cluster) {
			c.Scheduler, c.Check = "wrr", "HTTP_GET"
			c.RealServers[1].Weight = 3
		}, 12, map[string]int{"rs1": 3, "rs2": 9}, []string{"rs1", "rs2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLab(t, tt.mod)
			startDirectors(t, l, "dir1", "dir1")
			capt, err := startCapture(l.hosts["client"].ns, l.c.VIP)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := l.sample(context.Background(), tt.n)
			to, from, fromAddr := capt.stop()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, count(rs)); diff != "" {
				t.Errorf("requests per real server (-want +got):\n%s\nsequence %v", diff, servers(rs))
			}
			for _, r := range rs {
				if r.peer.Addr() != l.c.VIP || r.local.Addr() != l.c.VIP || r.remote.Addr() != l.hosts["client"].addr {
					t.Errorf("%s: client connected to %s, server saw %s -> %s; want %s -> %s", r.server, r.peer, r.remote, r.local, l.hosts["client"].addr, l.c.VIP)
				}
			}
			if diff := cmp.Diff([]string{"dir1"}, macSet(l, to)); diff != "" {
				t.Errorf("destination MACs of requests (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMAC, macSet(l, from)); diff != "" {
				t.Errorf("source MACs of replies (-want +got):\n%s", diff)
			}
			if len(fromAddr) != 1 || fromAddr[l.c.VIP] == 0 {
				t.Errorf("source addresses of replies: %v; want only %s", fromAddr, l.c.VIP)
			}
		})
	}
}

// TestIntegrationPersistence: with persistence_timeout one client sticks to one real
// server although rr would alternate.
func TestIntegrationPersistence(t *testing.T) {
	l := newTestLab(t, func(c *cluster) { c.Persistence = 50 })
	startDirectors(t, l, "dir1", "dir1")
	rs, err := l.sample(context.Background(), 8)
	if err != nil {
		t.Fatal(err)
	}
	if got := count(rs); len(got) != 1 {
		t.Errorf("requests per real server: %v; want all on one", got)
	}
}

// syncedConn reports whether director name's IPVS connection table holds the
// connection from the client's local port.
func syncedConn(l *lab, name string, local netip.AddrPort) (bool, error) {
	var b []byte
	err := l.hosts[name].ns.do(func() error {
		var err error
		b, err = os.ReadFile("/proc/thread-self/net/ip_vs_conn")
		return err
	})
	a := local.Addr().As4()
	return strings.Contains(string(b), fmt.Sprintf("TCP %02X%02X%02X%02X %04X ", a[0], a[1], a[2], a[3], local.Port())), err
}

// TestIntegrationFailover: the master is killed (and cut off); the backup takes the
// VIP and announces it, the client's neighbour entry moves, requests resume, and an
// established connection carries on (the sync daemon gave the backup its state).
// dir1 then comes back and preempts, and a graceful stop hands over at once.
func TestIntegrationFailover(t *testing.T) {
	l := newTestLab(t, func(c *cluster) { c.AdvertInt = "1" })
	ctx := context.Background()
	startDirectors(t, l, "dir1", "dir1", "dir2")

	// An established connection, known to dir2 through the sync daemon.
	conn, err := l.hosts["client"].ns.dial(ctx, netip.AddrPortFrom(l.c.VIP, 80).String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Minute))
	br := bufio.NewReader(conn)
	before, err := exchangeBuffered(conn, br)
	if err != nil {
		t.Fatal(err)
	}
	local := netip.MustParseAddrPort(conn.LocalAddr().String())
	if err := poll(ctx, 30*time.Second, func() (bool, error) { return syncedConn(l, "dir2", local) }); err != nil {
		t.Fatalf("the backup never got the connection from the sync daemon: %v", err)
	}

	stop := l.probe(ctx, 100*time.Millisecond, time.Second)
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	if err := l.crash("dir1"); err != nil {
		stop()
		t.Fatal(err)
	}
	err = l.waitOwner(ctx, "dir2", 30*time.Second)
	took := time.Since(t0)
	if err != nil {
		stop()
		t.Fatalf("dir2 did not take the VIP: %v", err)
	}
	err = waitServed(ctx, l, 3, 30*time.Second)
	failed, total, gap, _ := outage(stop(), t0)
	if err != nil {
		t.Fatalf("requests did not resume: %v", err)
	}
	t.Logf("failover: dir2 holds the VIP %v after the crash; %d of %d requests failed; service back after %v", took.Round(time.Millisecond), failed, total, gap.Round(time.Millisecond))
	mac, err := l.neighbour()
	if err != nil {
		t.Fatal(err)
	}
	if got := l.hostByMAC(mac); got != "dir2" {
		t.Errorf("client's neighbour entry for the VIP: %s (%s); want dir2's MAC (gratuitous ARP)", mac, got)
	}
	after, err := exchangeBuffered(conn, br)
	if err != nil {
		t.Errorf("the established connection did not survive the failover: %v", err)
	} else if after.server != before.server {
		t.Errorf("the established connection moved from %s to %s", before.server, after.server)
	}

	// dir1 returns and takes the VIP back (preempt is keepalived's default).
	if err := l.revive("dir1"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.startDirector(l.hosts["dir1"], 100); err != nil {
		t.Fatal(err)
	}
	if err := l.waitOwner(ctx, "dir1", 30*time.Second); err != nil {
		t.Fatalf("dir1 did not preempt: %v", err)
	}
	if err := waitServed(ctx, l, 2, 30*time.Second); err != nil {
		t.Fatalf("the VIP does not serve after preemption: %v", err)
	}
	if mac, err := l.neighbour(); err != nil || l.hostByMAC(mac) != "dir1" {
		t.Errorf("client's neighbour entry after preemption: %s, %v; want dir1's MAC", mac, err)
	}

	// Graceful stop: dir1 resigns (priority 0) and dir2 takes over after its skew
	// time, well before the master-down interval (3 x 1 s + skew) a crash costs.
	t0 = time.Now()
	go l.director("dir1").stop(syscall.SIGTERM, 20*time.Second)
	if err := poll(ctx, 30*time.Second, func() (bool, error) {
		o, err := l.owners()
		return slices.Contains(o, "dir2"), err
	}); err != nil {
		t.Fatalf("dir2 did not take over from a stopped dir1: %v", err)
	}
	took = time.Since(t0)
	t.Logf("graceful stop: dir2 holds the VIP %v after SIGTERM to dir1", took.Round(time.Millisecond))
	if took > 2500*time.Millisecond {
		t.Errorf("takeover after a graceful stop took %v; want under 2.5 s (skew time 0.61 s; a missed resignation costs 3.6 s)", took)
	}
	if err := l.director("dir1").stop(syscall.SIGTERM, 20*time.Second); err != nil {
		t.Errorf("dir1 did not stop cleanly: %v", err)
	}
	if o, err := l.owners(); err != nil || slices.Contains(o, "dir1") {
		t.Errorf("VIP owners after dir1 stopped: %v, %v; want dir1's VIP removed", o, err)
	}
	// A director started after a crash finds the killed one's IPVS service and sync
	// daemon in the kernel, takes them over, and removes the service when it stops.
	if p, err := l.pool(ctx, "dir1"); err != nil || p != nil {
		t.Errorf("dir1 (restarted after SIGKILL) left its IPVS service at a graceful stop: %v, %v", fmtPool(p), err)
	}
	if err := l.director("dir2").stop(syscall.SIGTERM, 20*time.Second); err != nil {
		t.Errorf("dir2 did not stop cleanly: %v", err)
	} else if p, err := l.pool(ctx, "dir2"); err != nil || p != nil {
		t.Errorf("dir2's IPVS service after a graceful stop: %v, %v; want none", p, err)
	}
	if o, err := l.owners(); err != nil || len(o) > 0 {
		t.Errorf("VIP owners after both directors stopped: %v, %v; want none", o, err)
	}
}

// TestIntegrationNopreempt: with nopreempt a recovered higher-priority director stays
// BACKUP.
func TestIntegrationNopreempt(t *testing.T) {
	l := newTestLab(t, func(c *cluster) { c.Nopreempt = true })
	ctx := context.Background()
	startDirectors(t, l, "dir1", "dir1", "dir2")
	if err := l.crash("dir1"); err != nil {
		t.Fatal(err)
	}
	if err := l.waitOwner(ctx, "dir2", 30*time.Second); err != nil {
		t.Fatalf("dir2 did not take the VIP: %v", err)
	}
	if err := l.revive("dir1"); err != nil {
		t.Fatal(err)
	}
	p, err := l.startDirector(l.hosts["dir1"], 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitLog(p, "to=BACKUP", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// Three master-down intervals (3 x 0.5 s + skew) for a wrong preemption to show.
	time.Sleep(6 * time.Second)
	if o, err := l.owners(); err != nil || !slices.Equal(o, []string{"dir2"}) {
		t.Errorf("VIP owners: %v, %v; want dir2 alone (nopreempt)", o, err)
	}
	if b, _ := os.ReadFile(p.log); strings.Contains(string(b), "to=MASTER") {
		t.Errorf("dir1 became MASTER with nopreempt:\n%s", b)
	}
}

// TestIntegrationHealthCheck: a real server whose web server stops leaves the pool
// within delay_loop x (retry + 1) + connect_timeout and comes back; with
// inhibit_on_failure it stays with weight 0 and its open connections go on.
func TestIntegrationHealthCheck(t *testing.T) {
	for _, inhibit := range []bool{false, true} {
		t.Run(fmt.Sprintf("inhibit=%v", inhibit), func(t *testing.T) {
			l := newTestLab(t, func(c *cluster) { c.Inhibit = inhibit })
			ctx := context.Background()
			startDirectors(t, l, "dir1", "dir1")
			c := l.c
			bound := time.Duration(c.DelayLoop*(c.Retry+1)+c.ConnectTimeout) * time.Second

			// An open connection to rs1.
			var conn net.Conn
			var br *bufio.Reader
			for range 4 {
				cn, err := l.hosts["client"].ns.dial(ctx, netip.AddrPortFrom(c.VIP, 80).String())
				if err != nil {
					t.Fatal(err)
				}
				defer cn.Close()
				cn.SetDeadline(time.Now().Add(3 * time.Minute))
				b := bufio.NewReader(cn)
				r, err := exchangeBuffered(cn, b)
				if err != nil {
					t.Fatal(err)
				}
				if r.server == "rs1" {
					conn, br = cn, b
					break
				}
			}
			if conn == nil {
				t.Fatal("no connection landed on rs1")
			}

			t0 := time.Now()
			l.stopWeb("rs1")
			wantDown := map[string]int{"rs2": 1}
			if inhibit {
				wantDown = map[string]int{"rs1": 0, "rs2": 1}
			}
			var got map[string]int
			err := poll(ctx, bound+30*time.Second, func() (bool, error) {
				var err error
				got, err = l.pool(ctx, "dir1")
				return cmp.Equal(wantDown, got), err
			})
			took := time.Since(t0)
			if err != nil {
				t.Fatalf("pool after rs1 failed: %v; want %v (%v)", got, wantDown, err)
			}
			t.Logf("rs1 out of the pool after %v (bound %v)", took.Round(time.Millisecond), bound)
			// Polling and the emulated guest's slowness get two seconds of slack.
			if took > bound+2*time.Second {
				t.Errorf("rs1 left the pool after %v; want within %v", took, bound)
			}
			rs, err := l.sample(ctx, 4)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]int{"rs2": 4}, count(rs)); diff != "" {
				t.Errorf("new requests with rs1 down (-want +got):\n%s", diff)
			}
			if inhibit {
				if r, err := exchangeBuffered(conn, br); err != nil || r.server != "rs1" {
					t.Errorf("the open connection to rs1 after inhibit: %+v, %v; want served by rs1", r, err)
				}
			}

			t0 = time.Now()
			if err := l.startWeb("rs1"); err != nil {
				t.Fatal(err)
			}
			wantUp := map[string]int{"rs1": 1, "rs2": 1}
			if err := poll(ctx, bound+30*time.Second, func() (bool, error) {
				var err error
				got, err = l.pool(ctx, "dir1")
				return cmp.Equal(wantUp, got), err
			}); err != nil {
				t.Fatalf("pool after rs1 recovered: %v; want %v (%v)", got, wantUp, err)
			}
			t.Logf("rs1 back in the pool after %v", time.Since(t0).Round(time.Millisecond))
			rs, err = l.sample(ctx, 4)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]int{"rs1": 2, "rs2": 2}, count(rs)); diff != "" {
				t.Errorf("requests after rs1 recovered (-want +got):\n%s", diff)
			}
		})
	}
}
