package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/arpctl"
	"github.com/lvskit/lvskit/ipvs"
)

// The -scenario ecmp lab (issue 16, docs/scale-out.md): a client behind a router
// that spreads flows by ECMP over three active directors, each announcing the VIP by
// BGP from its own BIRD, each scheduling with mh so that all pick the same real
// server for a flow.
//
//	VIP 203.0.113.100:80
//	client 198.51.100.10 --- 198.51.100.1 router 192.0.2.1 --- bridge --- dir1-3 192.0.2.11-13
//	                                                                  \-- rs1-4  192.0.2.21-24
//
// The router runs BIRD with a BGP session (and BFD) to each director and installs
// the VIP's multipath route; the kernel hashes flows by ports too
// (arpctl.ECMPRouter). Each director runs the director program in its scale-out mode
// (-ecmp-table) and a BIRD that learns that table and exports it to the router. The
// real servers answer the client directly through the router (LVS-DR).

var (
	// The VIP is on no link: the router reaches it through the BGP routes only.
	ecmpVIP        = netip.MustParseAddr("203.0.113.100")
	ecmpClientAddr = netip.MustParseAddr("198.51.100.10")
	ecmpRouterUp   = netip.MustParseAddr("198.51.100.1")
	ecmpRouterLAN  = netip.MustParseAddr("192.0.2.1")
	ecmpDirectors  = []string{"dir1", "dir2", "dir3"}
	ecmpServers    = []string{"rs1", "rs2", "rs3", "rs4"}
	ecmpLANAddrs   = map[string]netip.Addr{
		"router": ecmpRouterLAN,
		"dir1":   netip.MustParseAddr("192.0.2.11"),
		"dir2":   netip.MustParseAddr("192.0.2.12"),
		"dir3":   netip.MustParseAddr("192.0.2.13"),
		"rs1":    netip.MustParseAddr("192.0.2.21"),
		"rs2":    netip.MustParseAddr("192.0.2.22"),
		"rs3":    netip.MustParseAddr("192.0.2.23"),
		"rs4":    netip.MustParseAddr("192.0.2.24"),
	}
)

const (
	// ecmpTable is the routing table the directors announce the VIP in.
	ecmpTable = 100
	// ecmpDrain is the directors' -ecmp-drain.
	ecmpDrain = 2 * time.Second
	// ecmpConns is how many long-lived connections the client holds.
	ecmpConns = 3000
	// ecmpRRConns is how many it holds for the rr comparison.
	ecmpRRConns = 900
)

// ecmpCluster is the cluster of the scale-out scenario: four real servers, mh,
// TCP checks every second.
func ecmpCluster(o options) cluster {
	c := defaultCluster()
	c.Check = o.check
	c.SyncDaemon = false
	c.Scheduler = "mh"
	c.VIP = ecmpVIP
	c.RealServers = nil
	for _, name := range ecmpServers {
		c.RealServers = append(c.RealServers, realServer{ecmpLANAddrs[name], 1})
	}
	return c
}

// ecmpDirectorConf is a scale-out director's keepalived.conf: virtual_server
// blocks only (the mode runs no VRRP).
func ecmpDirectorConf(c cluster, name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n}\n\n", name)
	writeVirtualServer(&b, c, c.VIP)
	return b.String()
}

// BFD with BIRD's default timers (100 ms x 5: a dead peer is detected in 0.5 s).
const ecmpBFD = `protocol bfd { interface "eth0" { min rx interval 100 ms; min tx interval 100 ms; multiplier 5; }; }
`

// directorBIRD learns the director's VIP routes from kernel table ecmpTable and
// exports them to the router by eBGP (next hop: the director itself).
func directorBIRD(addr netip.Addr) string {
	return fmt.Sprintf(`router id %s;
protocol device {}
ipv4 table vips;
protocol kernel { kernel table %d; learn; scan time 10; ipv4 { table vips; import all; export none; }; }
%sprotocol bgp uplink {
  local %s as 65001; neighbor %s as 65000;
  bfd on; hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
  ipv4 { table vips; import none; export all; };
}
`, addr, ecmpTable, ecmpBFD, addr, ecmpRouterLAN)
}

// routerBIRD has a BGP session with each director and installs the VIP's route in
// the main table with every equal path as a next hop (merge paths).
func routerBIRD() string {
	var b strings.Builder
	fmt.Fprintf(&b, "router id %s;\nprotocol device {}\n", ecmpRouterLAN)
	b.WriteString("protocol kernel { merge paths on; ipv4 { import none; export all; }; }\n")
	b.WriteString(ecmpBFD)
	// Passive: only the directors connect, so no connection collision resets a
	// session (Cease) just after it came up.
	fmt.Fprintf(&b, "template bgp dirs { local %s as 65000; passive on; bfd on; hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5; ipv4 { import all; export none; }; }\n", ecmpRouterLAN)
	for _, d := range ecmpDirectors {
		fmt.Fprintf(&b, "protocol bgp %s from dirs { neighbor %s as 65001; }\n", d, ecmpLANAddrs[d])
	}
	return b.String()
}

// newECMPLab builds the scale-out topology and starts the router's BIRD and the
// real servers (realserver and a web server each). The directors and their BIRDs
// are started by startECMPDirector.
func newECMPLab(bins binaries, c cluster) (_ *lab, err error) {
	if _, err := exec.LookPath("bird"); err != nil {
		return nil, fmt.Errorf("the ecmp scenario needs BIRD 2 (apt-get install bird2; the lab copies it into the guest): %w", err)
	}
	// 3,000 connections are 6,000 descriptors in this process (client and web
	// servers); the guest's init leaves the hard limit at 4,096.
	lim := syscall.Rlimit{Cur: 65536, Max: 65536}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil, fmt.Errorf("raising the descriptor limit: %w", err)
	}
	l, err := emptyLab(bins, c)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.close())
		}
	}()
	names := append(append([]string{"router"}, ecmpDirectors...), ecmpServers...)
	for _, name := range names {
		if _, err := l.addHost(name, ecmpLANAddrs[name]); err != nil {
			return nil, err
		}
	}
	// The client hangs off the router on a link of its own.
	cl := &host{name: "client", ns: netns(l.tag + "-client"), addr: ecmpClientAddr}
	if err := l.addNS(cl.ns); err != nil {
		return nil, err
	}
	l.hosts["client"] = cl
	router := l.hosts["router"]
	if _, err := command("ip", "link", "add", "eth0", "netns", string(cl.ns), "type", "veth",
		"peer", "name", "eth1", "netns", string(router.ns)); err != nil {
		return nil, err
	}
	steps := []struct {
		ns   netns
		args []string
	}{
		{cl.ns, []string{"addr", "add", ecmpClientAddr.String() + "/24", "dev", "eth0"}},
		{cl.ns, []string{"link", "set", "eth0", "up"}},
		{cl.ns, []string{"route", "add", "default", "via", ecmpRouterUp.String()}},
		{router.ns, []string{"addr", "add", ecmpRouterUp.String() + "/24", "dev", "eth1"}},
		{router.ns, []string{"link", "set", "eth1", "up"}},
	}
	for _, name := range append(slices.Clone(ecmpDirectors), ecmpServers...) {
		// DR: the real servers' replies go straight to the client, through the
		// router; the directors route back through it too.
		steps = append(steps, struct {
			ns   netns
			args []string
		}{l.hosts[name].ns, []string{"route", "add", "default", "via", ecmpRouterLAN.String()}})
	}
	for _, s := range steps {
		if _, err := s.ns.ip(s.args...); err != nil {
			return nil, err
		}
	}
	if cl.mac, err = linkMAC(cl.ns, "eth0"); err != nil {
		return nil, err
	}
	ac, err := arpctl.New(&arpctl.Config{NetNS: router.ns.path()})
	if err != nil {
		return nil, err
	}
	if _, err := ac.Apply(arpctl.ECMPRouter()); err != nil {
		return nil, err
	}
	if _, err := l.startBIRD("router", routerBIRD()); err != nil {
		return nil, err
	}
	for _, name := range ecmpServers {
		if err := l.startRealServer(l.hosts[name]); err != nil {
			return nil, err
		}
		if err := l.startWeb(name); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// startBIRD writes name's bird.conf and runs BIRD in the foreground in its
// namespace, with its control socket in the lab's directory.
func (l *lab) startBIRD(name, conf string) (*proc, error) {
	file := filepath.Join(l.dir, name+"-bird.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return l.start(l.hosts[name], "bird", "bird", "-f", "-c", file,
		"-s", filepath.Join(l.dir, name+"-bird.ctl"), "-P", filepath.Join(l.dir, name+"-bird.pid"))
}

// ecmpDirector is a scale-out director's two processes.
type ecmpDirector struct {
	director, bird *proc
}

// startECMPDirector starts name's BIRD and its director in the scale-out mode.
func (l *lab) startECMPDirector(name string) (ecmpDirector, error) {
	var d ecmpDirector
	h := l.hosts[name]
	var err error
	if d.bird, err = l.startBIRD(name, directorBIRD(h.addr)); err != nil {
		return d, err
	}
	conf := filepath.Join(l.dir, name+".conf")
	if err := os.WriteFile(conf, []byte(ecmpDirectorConf(l.c, name)), 0o644); err != nil {
		return d, err
	}
	d.director, err = l.start(h, "director", l.bins.director, "-f", conf,
		"-status-file", filepath.Join(l.dir, name+".json"),
		"-ecmp-table", fmt.Sprint(ecmpTable), "-ecmp-drain", ecmpDrain.String())
	if err != nil {
		return d, err
	}
	l.mu.Lock()
	l.directors[name] = d.director
	l.mu.Unlock()
	return d, nil
}

// nextHops returns the directors the router's route to the VIP goes through.
func (l *lab) nextHops() ([]string, error) {
	out, err := l.hosts["router"].ns.ip("-j", "-4", "route", "show", l.c.VIP.String()+"/32")
	if err != nil {
		return nil, err
	}
	var routes []struct {
		Gateway  string `json:"gateway"`
		Nexthops []struct {
			Gateway string `json:"gateway"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal([]byte(out), &routes); err != nil {
		return nil, fmt.Errorf("ip route: %w: %q", err, out)
	}
	var names []string
	for _, r := range routes {
		if r.Gateway != "" {
			names = append(names, l.nameOfString(r.Gateway))
		}
		for _, nh := range r.Nexthops {
			names = append(names, l.nameOfString(nh.Gateway))
		}
	}
	slices.Sort(names)
	return names, nil
}

func (l *lab) nameOfString(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	return l.nameOf(a)
}

// waitNextHops waits until the router's route to the VIP goes through exactly want,
// polling every 10 ms, and returns how long that took.
func (l *lab) waitNextHops(ctx context.Context, want []string, within time.Duration) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(within)
	for {
		got, err := l.nextHops()
		if err != nil {
			return 0, err
		}
		if slices.Equal(got, want) {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the router's next hops for %s are %v, not %v, after %v", l.c.VIP, got, want, within)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// flow is one long-lived connection of the client, with the real server that
// answered its first request.
type flow struct {
	conn   net.Conn
	br     *bufio.Reader
	server string
	broken bool
}

// openFlows opens n connections to the VIP, 32 at a time, each with one request.
func (l *lab) openFlows(ctx context.Context, n int) ([]*flow, error) {
	flows := make([]*flow, n)
	errs := make([]error, n)
	work := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				conn, err := l.hosts["client"].ns.dial(dctx, netip.AddrPortFrom(l.c.VIP, 80).String())
				cancel()
				if err != nil {
					errs[i] = err
					continue
				}
				f := &flow{conn: conn, br: bufio.NewReader(conn)}
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				r, err := exchangeBuffered(conn, f.br)
				if err != nil {
					conn.Close()
					errs[i] = err
					continue
				}
				f.server = r.server
				flows[i] = f
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	var ok []*flow
	var failed []error
	for i, f := range flows {
		if f != nil {
			ok = append(ok, f)
		} else {
			failed = append(failed, errs[i])
		}
	}
	if len(failed) > 0 {
		closeFlows(ok)
		return nil, fmt.Errorf("%d of %d connections failed; the first: %w", len(failed), n, failed[0])
	}
	return ok, nil
}

func closeFlows(flows []*flow) {
	for _, f := range flows {
		f.conn.Close()
	}
}

// exercise makes one more request on every flow not yet broken, 64 at a time, and
// marks broken those whose request fails or that another real server answers. It
// returns how many broke in this round, and of them how many had first gone to
// each real server.
func exercise(flows []*flow) (broken int, byServer map[string]int) {
	var mu sync.Mutex
	byServer = map[string]int{}
	work := make(chan *flow)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				f.conn.SetDeadline(time.Now().Add(3 * time.Second))
				r, err := exchangeBuffered(f.conn, f.br)
				if err == nil && r.server == f.server {
					continue
				}
				mu.Lock()
				f.broken = true
				broken++
				byServer[f.server]++
				mu.Unlock()
			}
		}()
	}
	for _, f := range flows {
		if !f.broken {
			work <- f
		}
	}
	close(work)
	wg.Wait()
	return broken, byServer
}

// perServer counts flows by the real server that answered them.
func perServer(flows []*flow) map[string]int {
	m := map[string]int{}
	for _, f := range flows {
		m[f.server]++
	}
	return m
}

// activeConns returns, per director, the active connections of its VIP service
// and the service's scheduler.
func (l *lab) activeConns(ctx context.Context, names []string) (map[string]int, map[string]string, error) {
	conns, scheds := map[string]int{}, map[string]string{}
	for _, name := range names {
		c, err := ipvs.Dial(&ipvs.Config{NetNS: l.hosts[name].ns.path()})
		if err != nil {
			return nil, nil, err
		}
		snap, err := c.Snapshot(ctx)
		c.Close()
		if err != nil {
			return nil, nil, err
		}
		for _, s := range snap {
			if s.Service.Address != l.c.VIP || s.Service.Port != 80 {
				continue
			}
			scheds[name] = string(s.Service.Scheduler)
			for _, d := range s.Destinations {
				conns[name] += int(d.ActiveConns)
			}
		}
	}
	return conns, scheds, nil
}

func fmtCounts(m map[string]int, names []string) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, m[n]))
	}
	return strings.Join(parts, ", ")
}

// ecmpStory is the -scenario ecmp lab.
func ecmpStory(ctx context.Context, l *lab, n *narrator) error {
	c := l.c
	n.say("topology: client %s -- router %s/%s -- bridge: dir1-3 %s-%s, rs1-4 %s-%s; VIP %s:80, LVS-DR, lb_algo %s (mh-port), table %d",
		ecmpClientAddr, ecmpRouterUp, ecmpRouterLAN, ecmpLANAddrs["dir1"], ecmpLANAddrs["dir3"], ecmpLANAddrs["rs1"], ecmpLANAddrs["rs4"],
		c.VIP, c.Scheduler, ecmpTable)
	n.say("router: BIRD, eBGP to each director with BFD (100 ms x 5), merge paths; fib_multipath_hash_policy=1 (arpctl.ECMPRouter)")
	dirs := map[string]ecmpDirector{}
	for _, name := range ecmpDirectors {
		d, err := l.startECMPDirector(name)
		if err != nil {
			return err
		}
		dirs[name] = d
	}
	n.say("directors started: director -ecmp-table %d -ecmp-drain %v and BIRD each", ecmpTable, ecmpDrain)
	took, err := l.waitNextHops(ctx, ecmpDirectors, 60*time.Second)
	if err != nil {
		return err
	}
	n.say("the router's route to %s has next hops dir1, dir2, dir3 (%.1f s after the start)", c.VIP, took.Seconds())
	if err := poll(ctx, 30*time.Second, func() (bool, error) {
		for _, name := range ecmpDirectors {
			p, err := l.pool(ctx, name)
			if err != nil || len(p) != len(ecmpServers) {
				return false, err
			}
			for _, w := range p {
				if w == 0 {
					return false, nil
				}
			}
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("the directors' pools never had every real server up: %w", err)
	}

	// 1. Spread.
	flows, err := l.openFlows(ctx, ecmpConns)
	if err != nil {
		return err
	}
	defer func() { closeFlows(flows) }()
	active, _, err := l.activeConns(ctx, ecmpDirectors)
	if err != nil {
		return err
	}
	n.say("%d long-lived connections opened; per director (IPVS ActiveConn): %s; per real server: %s",
		len(flows), fmtCounts(active, ecmpDirectors), fmtCounts(perServer(flows), ecmpServers))
	for _, name := range ecmpDirectors {
		if active[name] == 0 {
			return fmt.Errorf("%s carries no connection: the router does not spread", name)
		}
	}
	broken, _ := exercise(flows)
	n.say("a second request on every connection, nothing changed: %d broken (ECMP and mh are sticky)", broken)
	if broken > 0 {
		return fmt.Errorf("%d connections broke with no event", broken)
	}

	// 2. dir3 dies silently.
	res, err := silentDeath(ctx, l, n, dirs, "dir3", flows)
	if err != nil {
		return err
	}
	if res > 0 {
		return fmt.Errorf("%d connections broke when dir3 died (mh, sloppy_tcp): want 0", res)
	}

	// 3. dir3 is back.
	if dirs["dir3"], err = l.startECMPDirector("dir3"); err != nil {
		return err
	}
	took, err = l.waitNextHops(ctx, ecmpDirectors, 60*time.Second)
	if err != nil {
		return err
	}
	broken, _ = exercise(flows)
	n.say("dir3 started again: next hop back after %.1f s; a request on every connection: %d broken", took.Seconds(), broken)
	if broken > 0 {
		return fmt.Errorf("%d connections broke when dir3 came back: want 0", broken)
	}
	n.say("OK: a director added breaks no connection")

	// 4. dir2 drains (SIGTERM).
	t0 := time.Now()
	_ = dirs["dir2"].director.cmd.Process.Signal(syscall.SIGTERM)
	took, err = l.waitNextHops(ctx, []string{"dir1", "dir3"}, 10*time.Second)
	if err != nil {
		return err
	}
	brokenDuring, _ := exercise(flows)
	if err := dirs["dir2"].director.stop(syscall.SIGTERM, ecmpDrain+15*time.Second); err != nil {
		return err
	}
	stopped := time.Since(t0)
	brokenAfter, _ := exercise(flows)
	n.say("dir2 SIGTERM: route withdrawn after %d ms, director exited after %.1f s; requests on every connection: %d broken while it drained, %d after it stopped",
		took.Milliseconds(), stopped.Seconds(), brokenDuring, brokenAfter)
	if brokenDuring+brokenAfter > 0 {
		return fmt.Errorf("%d connections broke when dir2 drained: want 0", brokenDuring+brokenAfter)
	}
	n.say("OK: a drained director breaks no connection")
	if dirs["dir2"], err = l.startECMPDirector("dir2"); err != nil {
		return err
	}
	if took, err = l.waitNextHops(ctx, ecmpDirectors, 60*time.Second); err != nil {
		return err
	}
	broken, _ = exercise(flows)
	n.say("dir2 started again: next hop back after %.1f s; a request on every connection: %d broken", took.Seconds(), broken)
	if broken > 0 {
		return fmt.Errorf("%d connections broke when dir2 came back: want 0", broken)
	}

	// 5. rs4 fails.
	t0 = time.Now()
	l.stopWeb("rs4")
	if err := poll(ctx, 30*time.Second, func() (bool, error) {
		for _, name := range ecmpDirectors {
			p, err := l.pool(ctx, name)
			if err != nil || p["rs4"] != 0 {
				return false, err
			}
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("rs4 never left every director's pool: %w", err)
	}
	took = time.Since(t0)
	broken, by := exercise(flows)
	others := broken - by["rs4"]
	n.say("rs4's web server stops accepting (open connections stay): weight 0 on dir1, dir2 and dir3 after %.1f s; a request on every connection: %d broken to rs1-rs3, %d of %d to rs4",
		took.Seconds(), others, by["rs4"], perServer(flows)["rs4"])
	if others > 0 {
		return fmt.Errorf("%d connections to the healthy real servers broke when rs4 failed: want 0", others)
	}
	n.say("OK: a failed real server leaves the others' connections alone")

	// 6. The same silent death with rr.
	closeFlows(flows)
	flows = nil
	rr := c
	rr.Scheduler = "rr"
	for _, name := range ecmpDirectors {
		if err := os.WriteFile(filepath.Join(l.dir, name+".conf"), []byte(ecmpDirectorConf(rr, name)), 0o644); err != nil {
			return err
		}
		_ = dirs[name].director.cmd.Process.Signal(syscall.SIGHUP)
	}
	if err := poll(ctx, 30*time.Second, func() (bool, error) {
		_, s, err := l.activeConns(ctx, ecmpDirectors)
		return err == nil && s["dir1"] == "rr" && s["dir2"] == "rr" && s["dir3"] == "rr", err
	}); err != nil {
		return fmt.Errorf("the directors did not switch to rr: %w", err)
	}
	if flows, err = l.openFlows(ctx, ecmpRRConns); err != nil {
		return err
	}
	n.say("lb_algo rr on every director (SIGHUP); %d new connections: per real server %s", len(flows), fmtCounts(perServer(flows), ecmpServers))
	if _, err := silentDeath(ctx, l, n, dirs, "dir1", flows); err != nil {
		return err
	}
	n.say("rr: connections that ECMP moved are scheduled afresh on their new director and reset by the real server that never saw them")
	return nil
}

// silentDeath kills name's director with SIGKILL and freezes its BIRD with SIGSTOP
// (a hung machine: no TCP FIN, no more BFD), its link left up, and measures how long
// the router takes to drop the next hop and how many of flows break. BIRD is
// killed afterwards.
func silentDeath(ctx context.Context, l *lab, n *narrator, dirs map[string]ecmpDirector, name string, flows []*flow) (int, error) {
	var rest []string
	for _, d := range ecmpDirectors {
		if d != name {
			rest = append(rest, d)
		}
	}
	d := dirs[name]
	_ = d.bird.cmd.Process.Signal(syscall.SIGSTOP)
	_ = d.director.stop(syscall.SIGKILL, 5*time.Second)
	took, err := l.waitNextHops(ctx, rest, 10*time.Second)
	_ = d.bird.cmd.Process.Signal(syscall.SIGKILL)
	_ = d.bird.stop(syscall.SIGKILL, 5*time.Second)
	if err != nil {
		return 0, err
	}
	broken, by := exercise(flows)
	n.say("%s dies silently (director SIGKILLed, BIRD frozen, link up): the router dropped its next hop after %d ms (BFD); a request on every connection: %d of %d broken (by first real server: %s)",
		name, took.Milliseconds(), broken, len(flows), fmtCounts(by, ecmpServers))
	return broken, nil
}

// emptyLab creates the lab's directory and its hub namespace with the bridge br0.
func emptyLab(bins binaries, c cluster) (_ *lab, err error) {
	var b [3]byte
	rand.Read(b[:])
	l := &lab{
		tag: "lab" + hex.EncodeToString(b[:]), bins: bins, c: c,
		hosts: map[string]*host{}, directors: map[string]*proc{}, webs: map[string]*webServer{},
	}
	if l.dir, err = os.MkdirTemp("", "lvskit-lab-"); err != nil {
		return nil, err
	}
	l.hub = netns(l.tag + "-hub")
	if err := l.addNS(l.hub); err != nil {
		return nil, errors.Join(err, l.close())
	}
	for _, args := range [][]string{
		{"link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"},
		{"link", "set", "br0", "up"},
	} {
		if _, err := l.hub.ip(args...); err != nil {
			return nil, errors.Join(err, l.close())
		}
	}
	return l, nil
}
