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
			// What an operator reads: `director status` shows dir1 MASTER of VI_1 and
			// both real servers.
			table, err := l.directorStatus(context.Background(), "dir1")
			if err != nil {
				t.Fatal(err)
			}
			master := false
			for _, line := range strings.Split(table, "\n") {
				if f := strings.Fields(line); len(f) > 1 && f[0] == "VI_1" && f[1] == "MASTER" {
					master = true
				}
			}
			if !master {
				t.Errorf("director status does not show VI_1 MASTER:\n%s", table)
			}
			for _, want := range []string{l.c.VIP.String(), l.hosts["rs1"].addr.String(), l.hosts["rs2"].addr.String()} {
				if !strings.Contains(table, want) {
					t.Errorf("director status lacks %s:\n%s", want, table)
				}
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
	// Time for the probe loop to see the service back too: a request sent before
	// the takeover may wait out its 1 s timeout before the next one starts.
	time.Sleep(1200 * time.Millisecond)
	o := outage(stop(), t0)
	if err != nil {
		t.Fatalf("requests did not resume: %v", err)
	}
	back, berr := o.recovery("the crash")
	t.Logf("failover: dir2 holds the VIP %v after the crash; %d of %d requests failed; %s", took.Round(time.Millisecond), o.Failed, o.Total, back)
	if berr != nil {
		t.Error(berr)
	}
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

	// Graceful stop: dir1 resigns (priority 0) and dir2 takes over after its
	// Skew_Time, well before the master-down interval (3 x 1 s + skew) a crash costs.
	// Measured on the client's wire with kernel timestamps: from dir1's priority-0
	// advert to dir2's first advert as MASTER.
	capt, err := startAdvertCapture(l.hosts["client"].ns)
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	go l.director("dir1").stop(syscall.SIGTERM, 20*time.Second)
	if err := poll(ctx, 30*time.Second, func() (bool, error) {
		o, err := l.owners()
		return slices.Contains(o, "dir2"), err
	}); err != nil {
		capt.stop()
		t.Fatalf("dir2 did not take over from a stopped dir1: %v", err)
	}
	took = time.Since(t0)
	ads, err := capt.stop()
	if err != nil {
		t.Fatal(err)
	}
	checkResignGap(t, l, ads, l.c.VRID, "dir1", "dir2", 99)
	t.Logf("graceful stop: dir2 holds the VIP %v after SIGTERM to dir1 (ip addr polling)", took.Round(time.Millisecond))
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

// resignAllowance is what the emulated guest may add to Skew_Time between a
// resigning master's priority-0 advert and its successor's first advert: the
// successor's wakeup, its timer and its send, under qemu's software emulation on a
// loaded machine. A lost resignation would cost the master-down interval (3 adverts
// plus Skew_Time), at least two advert intervals more than Skew_Time.
const resignAllowance = 400 * time.Millisecond

// checkResignGap checks, in adverts captured on the client, that successor (of
// priority prio) sent its first advert for vrid between Skew_Time and Skew_Time +
// resignAllowance after resigner's priority-0 advert, and logs the gap.
func checkResignGap(t *testing.T, l *lab, ads []advert, vrid int, resigner, successor string, prio int) {
	t.Helper()
	skew, err := l.c.skewTime(prio)
	if err != nil {
		t.Fatal(err)
	}
	resign, first, ok := resignGap(ads, vrid, l.hosts[resigner].addr, l.hosts[successor].addr)
	if !ok {
		t.Fatalf("no priority-0 advert from %s followed by an advert from %s for VRID %d among the adverts captured on the client: %s", resigner, successor, vrid, summary(ads))
	}
	gap := first.At.Sub(resign.At)
	t.Logf("graceful stop: %s's first advert as MASTER (priority %d) came %v after %s's priority-0 advert (Skew_Time %v, VRRP v%d, advert_int %s)",
		successor, first.Priority, gap.Round(100*time.Microsecond), resigner, skew.Round(100*time.Microsecond), l.c.Version, l.c.AdvertInt)
	// The successor cannot start its Skew_Time before the resignation reached the
	// client's segment; a millisecond covers the two veths' timestamps.
	if gap < skew-time.Millisecond {
		t.Errorf("%s took over %v after the resignation, before its Skew_Time %v (RFC 9568 6.4.2: Master_Down_Timer = Skew_Time)", successor, gap, skew)
	}
	if gap > skew+resignAllowance {
		t.Errorf("%s took over %v after the resignation; want at most Skew_Time %v + %v emulation allowance", successor, gap, skew, resignAllowance)
	}
	if first.Priority != prio {
		t.Errorf("%s advertised priority %d as MASTER; want %d", successor, first.Priority, prio)
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

// TestIntegrationActiveActive: the active-active ("双主热备") cluster, two instances
// and two VIPs, dir1 MASTER of VI_1 (192.0.2.100) and dir2 of VI_2 (192.0.2.101).
// Both VIPs serve at once, each through its home director; when dir1 dies dir2
// holds both and both keep serving; when dir1 returns VI_1 goes home, or, with
// nopreempt on VI_1, stays on dir2.
func TestIntegrationActiveActive(t *testing.T) {
	for _, nopreempt := range []bool{false, true} {
		t.Run(fmt.Sprintf("nopreempt=%v", nopreempt), func(t *testing.T) {
			l := newTestLab(t, func(c *cluster) {
				activeActive(c)
				c.Nopreempt = nopreempt
			})
			ctx := context.Background()
			vip1, vip2 := l.c.VIP, l.c.VIP2
			home := map[netip.Addr]string{vip1: "dir1", vip2: "dir2"}
			for _, n := range []string{"dir1", "dir2"} {
				// dir1 is given priority 100 in VI_1, dir2 99; VI_2 mirrors them.
				if _, err := l.startDirector(l.hosts[n], map[string]int{"dir1": 100, "dir2": 99}[n]); err != nil {
					t.Fatal(err)
				}
			}
			waitHome(t, l, home)

			// Both at once: the requests alternate between the VIPs, each VIP's go to
			// its home director's MAC, and both real servers answer on each VIP.
			capts := map[netip.Addr]*capture{}
			for _, vip := range l.c.vips() {
				c, err := startCapture(l.hosts["client"].ns, vip)
				if err != nil {
					t.Fatal(err)
				}
				capts[vip] = c
			}
			got := map[netip.Addr][]reply{}
			var sampleErr error
			for range 4 {
				for _, vip := range l.c.vips() {
					r, err := l.getVIP(ctx, vip, 5*time.Second)
					if err != nil {
						sampleErr = err
					}
					got[vip] = append(got[vip], r)
				}
			}
			// Each capture sees the replies of both VIPs (it matches them by source
			// port only); the destination MACs of requests are per VIP.
			for _, vip := range l.c.vips() {
				to, from, fromAddr := capts[vip].stop()
				if diff := cmp.Diff(map[netip.Addr]bool{vip1: true, vip2: true}, setOf(fromAddr)); diff != "" {
					t.Errorf("source addresses of replies (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]string{home[vip]}, macSet(l, to)); diff != "" {
					t.Errorf("%s: destination MACs of requests (-want +got):\n%s", vip, diff)
				}
				if diff := cmp.Diff([]string{"rs1", "rs2"}, macSet(l, from)); diff != "" {
					t.Errorf("%s: source MACs of replies (-want +got):\n%s", vip, diff)
				}
				if diff := cmp.Diff(map[string]int{"rs1": 2, "rs2": 2}, count(got[vip])); diff != "" {
					t.Errorf("%s: requests per real server (-want +got):\n%s", vip, diff)
				}
				for _, r := range got[vip] {
					if r.local.Addr() != vip {
						t.Errorf("%s: %s answered on %s", vip, r.server, r.local)
					}
				}
			}
			if sampleErr != nil {
				t.Fatal(sampleErr)
			}
			checkNeighbours(t, l, home)

			// dir1 dies: dir2 takes VI_1 and keeps VI_2; both VIPs keep serving.
			advs, err := startAdvertCapture(l.hosts["client"].ns)
			if err != nil {
				t.Fatal(err)
			}
			stops := map[netip.Addr]func() []probeResult{}
			for _, vip := range l.c.vips() {
				stops[vip] = l.probeVIP(ctx, vip, 100*time.Millisecond, time.Second)
			}
			stopProbes := func() map[netip.Addr][]probeResult {
				res := map[netip.Addr][]probeResult{}
				for vip, stop := range stops {
					res[vip] = stop()
				}
				return res
			}
			// Two of dir1's adverts (every 0.5 s) reach the capture before the crash.
			time.Sleep(time.Second)
			t0 := time.Now()
			if err := l.crash("dir1"); err != nil {
				stopProbes()
				advs.stop()
				t.Fatal(err)
			}
			err = l.waitOwnerOf(ctx, vip1, "dir2", 30*time.Second)
			took := time.Since(t0)
			if err != nil {
				stopProbes()
				advs.stop()
				t.Fatalf("dir2 did not take %s: %v", vip1, err)
			}
			err = waitServedVIP(ctx, l, vip1, 3, 30*time.Second)
			// Time for the probe loop to see the service back too: a request sent
			// before the takeover may wait out its 1 s timeout before the next starts.
			time.Sleep(1200 * time.Millisecond)
			res := stopProbes()
			ads, aerr := advs.stop()
			if err != nil {
				t.Fatalf("%s did not serve again: %v", vip1, err)
			}
			if aerr != nil {
				t.Fatal(aerr)
			}
			o1, o2 := outage(res[vip1], t0), outage(res[vip2], t0)
			failed1, total1, failed2, total2, served2 := o1.Failed, o1.Total, o2.Failed, o2.Total, o2.Served
			back1, berr := o1.recovery("the crash")
			if berr != nil {
				t.Errorf("%s: %v", vip1, berr)
			}
			wire := fmt.Sprintf("no advert pair captured: %s", summary(ads))
			if last, first, ok := takeoverGap(ads, l.c.VRID, l.hosts["dir1"].addr, l.hosts["dir2"].addr); ok {
				mdi, err := l.c.masterDownInterval(99)
				if err != nil {
					t.Fatal(err)
				}
				wire = fmt.Sprintf("dir1's last advert to dir2's first: %v, master-down interval %v", first.At.Sub(last.At).Round(time.Millisecond), mdi.Round(time.Millisecond))
			}
			t.Logf("active-active failover: dir2 holds %s %v after the crash (%s); %s: %d of %d requests failed, %s; %s: %d of %d requests failed (served by %v)",
				vip1, took.Round(time.Millisecond), wire, vip1, failed1, total1, back1, vip2, failed2, total2, served2)
			if failed2 > 0 {
				t.Errorf("%s, whose director did not fail, lost %d of %d requests during dir1's failover", vip2, failed2, total2)
			}
			if o, err := l.ownersOf(vip2); err != nil || !slices.Equal(o, []string{"dir2"}) {
				t.Errorf("%s owners after dir1 died: %v, %v; want dir2", vip2, o, err)
			}
			both := map[netip.Addr]string{vip1: "dir2", vip2: "dir2"}
			checkNeighbours(t, l, both)
			for _, vip := range l.c.vips() {
				rs, err := l.sampleVIP(ctx, vip, 4)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(map[string]int{"rs1": 2, "rs2": 2}, count(rs)); diff != "" {
					t.Errorf("%s through dir2 alone: requests per real server (-want +got):\n%s", vip, diff)
				}
			}

			// dir1 returns.
			if err := l.revive("dir1"); err != nil {
				t.Fatal(err)
			}
			p, err := l.startDirector(l.hosts["dir1"], 100)
			if err != nil {
				t.Fatal(err)
			}
			if !nopreempt {
				waitHome(t, l, home)
				checkNeighbours(t, l, home)
				return
			}
			if err := waitLog(p, "to=BACKUP", 30*time.Second); err != nil {
				t.Fatal(err)
			}
			// Three master-down intervals (3 x 0.5 s + skew) for a wrong preemption to
			// show.
			time.Sleep(6 * time.Second)
			for _, vip := range l.c.vips() {
				if o, err := l.ownersOf(vip); err != nil || !slices.Equal(o, []string{"dir2"}) {
					t.Errorf("%s owners: %v, %v; want dir2 alone (nopreempt)", vip, o, err)
				}
				if err := waitServedVIP(ctx, l, vip, 2, 30*time.Second); err != nil {
					t.Errorf("%s does not serve: %v", vip, err)
				}
			}
			checkNeighbours(t, l, both)
			if b, _ := os.ReadFile(p.log); strings.Contains(string(b), "to=MASTER") {
				t.Errorf("dir1 became MASTER with nopreempt:\n%s", b)
			}
		})
	}
}

// waitHome waits until each VIP is held by its director alone, is in that
// director's IPVS table with every real server, and serves.
func waitHome(t *testing.T, l *lab, home map[netip.Addr]string) {
	t.Helper()
	ctx := context.Background()
	for _, vip := range l.c.vips() {
		if err := l.waitOwnerOf(ctx, vip, home[vip], 60*time.Second); err != nil {
			o, _ := l.ownersOf(vip)
			t.Fatalf("%s never held %s alone (owners %v): %v", home[vip], vip, o, err)
		}
		if err := poll(ctx, 60*time.Second, func() (bool, error) {
			p, err := l.poolOf(ctx, home[vip], vip)
			return len(p) == len(l.c.RealServers), err
		}); err != nil {
			t.Fatalf("%s's pool for %s never had every real server: %v", home[vip], vip, err)
		}
		if err := waitServedVIP(ctx, l, vip, 2, 30*time.Second); err != nil {
			t.Fatalf("%s does not serve: %v", vip, err)
		}
	}
}

// checkNeighbours checks that the client's neighbour entry for each VIP is the MAC
// of the director that holds it.
func checkNeighbours(t *testing.T, l *lab, owner map[netip.Addr]string) {
	t.Helper()
	for _, vip := range l.c.vips() {
		mac, err := l.neighbourOf(vip)
		if err != nil {
			t.Error(err)
			continue
		}
		if got := l.hostByMAC(mac); got != owner[vip] {
			t.Errorf("client's neighbour entry for %s: %s (%s); want %s's MAC", vip, mac, got, owner[vip])
		}
	}
}

func setOf[K comparable](m map[K]int) map[K]bool {
	s := map[K]bool{}
	for k := range m {
		s[k] = true
	}
	return s
}

// summary describes captured adverts for a failure message.
func summary(ads []advert) string {
	var s []string
	for _, a := range ads {
		s = append(s, fmt.Sprintf("%s %s vrid %d prio %d", a.At.Format("15:04:05.000"), a.From, a.VRID, a.Priority))
	}
	return fmt.Sprintf("%d adverts [%s]", len(ads), strings.Join(s, "; "))
}
