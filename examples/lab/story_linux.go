package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// narrator prints timestamped lines, relative to the start of the lab.
type narrator struct {
	out   io.Writer
	start time.Time
}

func (n *narrator) say(format string, args ...any) {
	fmt.Fprintf(n.out, "[%7.3fs] %s\n", time.Since(n.start).Seconds(), fmt.Sprintf(format, args...))
}

// probeResult is one request of a probe loop.
type probeResult struct {
	start, end time.Time
	r          reply
	err        error
}

// probe requests the VIP every interval (each on a new connection, with timeout)
// until the returned function is called; that function returns the results.
func (l *lab) probe(ctx context.Context, interval, timeout time.Duration) func() []probeResult {
	return l.probeVIP(ctx, l.c.VIP, interval, timeout)
}

// probeVIP is probe for vip.
func (l *lab) probeVIP(ctx context.Context, vip netip.Addr, interval, timeout time.Duration) func() []probeResult {
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu  sync.Mutex
		res []probeResult
		wg  sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			start := time.Now()
			r, err := l.getVIP(ctx, vip, timeout)
			if ctx.Err() != nil {
				return
			}
			mu.Lock()
			res = append(res, probeResult{start, time.Now(), r, err})
			mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(start.Add(interval))):
			}
		}
	}()
	return func() []probeResult {
		cancel()
		wg.Wait()
		return res
	}
}

// outcome is what a probe loop saw around an event.
type outcome struct {
	Failed, Total int
	// Back reports whether a request succeeded after the last failure; true when
	// nothing failed.
	Back bool
	// Gap is the time from the event to the end of that first success; meaningful
	// only when Failed > 0 and Back.
	Gap time.Duration
	// Served counts the successful requests by real server.
	Served map[string]int
}

// outage summarises probe results around an event at t0: how many requests failed,
// and whether (and when) a request succeeded after the last failure.
func outage(res []probeResult, t0 time.Time) outcome {
	o := outcome{Served: map[string]int{}, Back: true}
	last := -1
	for i, p := range res {
		if p.end.Before(t0) {
			continue
		}
		o.Total++
		if p.err != nil {
			o.Failed++
			last = i
		} else {
			o.Served[p.r.server]++
		}
	}
	if last < 0 {
		return o
	}
	o.Back = false
	for _, p := range res[last+1:] {
		if p.err == nil {
			o.Back, o.Gap = true, p.end.Sub(t0)
			break
		}
	}
	return o
}

// recovery narrates an outcome after event ("the crash"): "no outage", or when the
// service came back, or, when no request succeeded after the last failure, that
// the service was not seen back, with an error: the step has failed.
func (o outcome) recovery(event string) (string, error) {
	switch {
	case o.Failed == 0:
		return "no outage", nil
	case o.Back:
		return fmt.Sprintf("service back %d ms after %s", o.Gap.Milliseconds(), event), nil
	}
	return fmt.Sprintf("service NOT seen back after %s (no request succeeded after the last failure)", event),
		fmt.Errorf("the service was not seen back after %s: %d of %d requests failed and none succeeded after the last failure", event, o.Failed, o.Total)
}

// sample makes n requests in a row, each on a new connection.
func (l *lab) sample(ctx context.Context, n int) ([]reply, error) {
	return l.sampleVIP(ctx, l.c.VIP, n)
}

// sampleVIP makes n requests to vip in a row, each on a new connection.
func (l *lab) sampleVIP(ctx context.Context, vip netip.Addr, n int) ([]reply, error) {
	var rs []reply
	for range n {
		r, err := l.getVIP(ctx, vip, 5*time.Second)
		if err != nil {
			return rs, fmt.Errorf("request %d to %s: %w", len(rs)+1, vip, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func servers(rs []reply) []string {
	var s []string
	for _, r := range rs {
		s = append(s, r.server)
	}
	return s
}

// story runs the seeds' checks on a freshly built lab and narrates them.
func story(ctx context.Context, l *lab, n *narrator) error {
	c := l.c
	n.say("topology: client %s, dir1 %s, dir2 %s, rs1 %s, rs2 %s on one bridge; VIP %s:80 (LVS-DR, %s, %s)",
		l.hosts["client"].addr, l.hosts["dir1"].addr, l.hosts["dir2"].addr, l.hosts["rs1"].addr, l.hosts["rs2"].addr, c.VIP, c.Scheduler, c.Check)
	n.say("rs1 and rs2: realserver put the VIP on lo (arp_ignore=1, arp_announce=2); web servers listen on :80")
	if _, err := l.startDirector(l.hosts["dir1"], 100); err != nil {
		return err
	}
	if _, err := l.startDirector(l.hosts["dir2"], 99); err != nil {
		return err
	}
	n.say("directors started: dir1 priority 100, dir2 priority 99 (VRRP v%d, advert_int %s, lvs_sync_daemon %v)", c.Version, c.AdvertInt, c.SyncDaemon)
	if err := l.waitOwner(ctx, "dir1", 30*time.Second); err != nil {
		return fmt.Errorf("dir1 did not become MASTER with the VIP: %w", err)
	}
	n.say("dir1 is MASTER and holds the VIP; dir2 is BACKUP")
	if err := poll(ctx, 30*time.Second, func() (bool, error) {
		p, err := l.pool(ctx, "dir1")
		return len(p) == 2, err
	}); err != nil {
		return fmt.Errorf("dir1's IPVS service never had both real servers: %w", err)
	}
	pool, _ := l.pool(ctx, "dir1")
	n.say("dir1's IPVS table: %s:80 -> %v", c.VIP, fmtPool(pool))
	table, err := l.directorStatus(ctx, "dir1")
	if err != nil {
		return err
	}
	n.say("`director status` on dir1 (from its SIGUSR1 status file):\n%s", table)

	// 1. Round robin, direct routing.
	capt, err := startCapture(l.hosts["client"].ns, c.VIP)
	if err != nil {
		return err
	}
	rs, err := l.sample(ctx, 6)
	to, from, fromAddr := capt.stop()
	if err != nil {
		return err
	}
	n.say("6 requests to http://%s/: %s", c.VIP, strings.Join(servers(rs), " "))
	for i, r := range rs[1:] {
		if r.server == rs[i].server {
			return fmt.Errorf("rr did not alternate: %v", servers(rs))
		}
	}
	for _, r := range rs {
		if r.local.Addr() != c.VIP || r.remote.Addr() != l.hosts["client"].addr {
			return fmt.Errorf("%s saw %s -> %s; want the client's address to the VIP", r.server, r.remote, r.local)
		}
	}
	n.say("each real server saw the client's own address %s arrive on the VIP (no NAT)", l.hosts["client"].addr)
	n.say("on the client's wire: requests went to %s; replies came from %s with source address %v",
		macNames(l, to), macNames(l, from), slices.Collect(maps.Keys(fromAddr)))
	if names := macSet(l, to); !slices.Equal(names, []string{"dir1"}) {
		return fmt.Errorf("requests went to %v; want dir1's MAC", names)
	}
	if names := macSet(l, from); !slices.Equal(names, []string{"rs1", "rs2"}) {
		return fmt.Errorf("replies came from %v; want rs1's and rs2's MACs (direct routing)", names)
	}
	if len(fromAddr) != 1 || fromAddr[c.VIP] == 0 {
		return fmt.Errorf("replies came from %v; want the VIP only", fromAddr)
	}
	n.say("OK: direct routing -- requests through the director, replies straight from the real servers, from the VIP")

	// 2. The master dies.
	stop := l.probe(ctx, 100*time.Millisecond, time.Second)
	time.Sleep(500 * time.Millisecond)
	t0 := time.Now()
	n.say("dir1 crashes: director SIGKILLed, its link cut (client requests every 100 ms, 1 s timeout)")
	if err := l.crash("dir1"); err != nil {
		stop()
		return err
	}
	err = l.waitOwner(ctx, "dir2", 30*time.Second)
	took := time.Since(t0)
	if err != nil {
		stop()
		return fmt.Errorf("dir2 did not take the VIP: %w", err)
	}
	n.say("dir2 took the VIP after %d ms", took.Milliseconds())
	err = waitServed(ctx, l, 2, 30*time.Second)
	// Time for the probe loop to see the service back too: a request sent before
	// the takeover may wait out its 1 s timeout before the next one starts.
	time.Sleep(1200 * time.Millisecond)
	crash := outage(stop(), t0)
	if err != nil {
		return fmt.Errorf("requests did not resume through dir2: %w", err)
	}
	mac, err := l.neighbour()
	if err != nil {
		return err
	}
	n.say("client's neighbour entry for the VIP: %s (%s)", mac, l.hostByMAC(mac))
	if l.hostByMAC(mac) != "dir2" {
		return fmt.Errorf("the client's neighbour entry for the VIP is %s; want dir2's MAC", mac)
	}
	back, err := crash.recovery("the crash")
	if err != nil {
		n.say("FAILED: failover -- %d of %d requests failed; %s", crash.Failed, crash.Total, back)
		return err
	}
	n.say("OK: failover -- %d of %d requests failed; %s", crash.Failed, crash.Total, back)

	// 3. A web server stops.
	bound := time.Duration(c.DelayLoop*(c.Retry+1)+c.ConnectTimeout) * time.Second
	stop = l.probe(ctx, 100*time.Millisecond, time.Second)
	t0 = time.Now()
	l.stopWeb("rs1")
	n.say("rs1's web server stops accepting (bound: delay_loop %ds x (retry %d + 1) + connect_timeout %ds = %v)", c.DelayLoop, c.Retry, c.ConnectTimeout, bound)
	err = poll(ctx, bound+30*time.Second, func() (bool, error) {
		p, err := l.pool(ctx, "dir2")
		_, in := p["rs1"]
		return !in && len(p) == 1, err
	})
	out := time.Since(t0)
	if err != nil {
		stop()
		return fmt.Errorf("rs1 never left dir2's pool: %w", err)
	}
	time.Sleep(time.Second)
	o := outage(stop(), t0)
	failed, total, served := o.Failed, o.Total, o.Served
	pool, _ = l.pool(ctx, "dir2")
	n.say("rs1 left the pool after %.1f s (%d of %d requests failed meanwhile); pool now %v", out.Seconds(), failed, total, fmtPool(pool))
	rs, err = l.sample(ctx, 4)
	if err != nil {
		return err
	}
	n.say("4 requests: %s", strings.Join(servers(rs), " "))
	if slices.Contains(servers(rs), "rs1") {
		return errors.New("rs1 still served after leaving the pool")
	}
	_ = served
	t0 = time.Now()
	if err := l.startWeb("rs1"); err != nil {
		return err
	}
	n.say("rs1's web server is back")
	err = poll(ctx, bound+30*time.Second, func() (bool, error) {
		p, err := l.pool(ctx, "dir2")
		return len(p) == 2, err
	})
	if err != nil {
		return fmt.Errorf("rs1 never came back into the pool: %w", err)
	}
	n.say("rs1 rejoined the pool after %.1f s", time.Since(t0).Seconds())
	rs, err = l.sample(ctx, 4)
	if err != nil {
		return err
	}
	n.say("4 requests: %s", strings.Join(servers(rs), " "))
	if !slices.Contains(servers(rs), "rs1") {
		return errors.New("rs1 did not serve after rejoining")
	}
	n.say("OK: health checks -- a dead real server leaves the pool and returns")

	// 4. dir1 comes back and takes the VIP again (preemption).
	if err := l.revive("dir1"); err != nil {
		return err
	}
	stop = l.probe(ctx, 100*time.Millisecond, time.Second)
	t0 = time.Now()
	if _, err := l.startDirector(l.hosts["dir1"], 100); err != nil {
		stop()
		return err
	}
	n.say("dir1 is back (link up, director started)")
	err = l.waitOwner(ctx, "dir1", 30*time.Second)
	took = time.Since(t0)
	if err != nil {
		stop()
		return fmt.Errorf("dir1 did not take the VIP back: %w", err)
	}
	err = waitServed(ctx, l, 2, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	o = outage(stop(), t0)
	failed, total = o.Failed, o.Total
	if err != nil {
		return err
	}
	mac, err = l.neighbour()
	if err != nil {
		return err
	}
	if l.hostByMAC(mac) != "dir1" {
		return fmt.Errorf("the client's neighbour entry for the VIP is %s; want dir1's MAC", mac)
	}
	n.say("OK: preemption -- dir1 took the VIP back after %d ms (%d of %d requests failed); client's neighbour entry -> dir1", took.Milliseconds(), failed, total)

	// 5. Graceful stop of the master: it resigns, then cleans up and exits. The
	// client's wire shows the resignation and the successor's first advert.
	advs, err := startAdvertCapture(l.hosts["client"].ns)
	if err != nil {
		return err
	}
	t0 = time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- l.director("dir1").stop(syscall.SIGTERM, 20*time.Second) }()
	err = poll(ctx, 30*time.Second, func() (bool, error) {
		o, err := l.owners()
		return slices.Contains(o, "dir2"), err
	})
	took = time.Since(t0)
	ads, cerr := advs.stop()
	if err != nil {
		return fmt.Errorf("dir2 did not take over from a stopping dir1: %w", err)
	}
	if cerr != nil {
		return cerr
	}
	skew, err := c.skewTime(99)
	if err != nil {
		return err
	}
	resign, first, ok := resignGap(ads, c.VRID, l.hosts["dir1"].addr, l.hosts["dir2"].addr)
	if !ok {
		return fmt.Errorf("the client saw no priority-0 advert from dir1 followed by dir2's advert (%d adverts)", len(ads))
	}
	n.say("OK: graceful stop -- dir1 got SIGTERM and resigned (priority 0); dir2's first advert as MASTER came %d ms after the resignation on the wire (Skew_Time %d ms); dir2 held the VIP %d ms after SIGTERM",
		first.At.Sub(resign.At).Milliseconds(), skew.Milliseconds(), took.Milliseconds())
	if err := <-stopped; err != nil {
		return fmt.Errorf("dir1 did not stop cleanly after SIGTERM: %w", err)
	}
	return nil
}

// waitServed waits until n requests in a row to the VIP succeed.
func waitServed(ctx context.Context, l *lab, n int, within time.Duration) error {
	return waitServedVIP(ctx, l, l.c.VIP, n, within)
}

// waitServedVIP waits until n requests in a row to vip succeed.
func waitServedVIP(ctx context.Context, l *lab, vip netip.Addr, n int, within time.Duration) error {
	ok := 0
	return poll(ctx, within, func() (bool, error) {
		if _, err := l.getVIP(ctx, vip, time.Second); err != nil {
			ok = 0
		} else {
			ok++
		}
		return ok >= n, nil
	})
}

func fmtPool(p map[string]int) string {
	var s []string
	for _, name := range slices.Sorted(maps.Keys(p)) {
		s = append(s, fmt.Sprintf("%s weight %d", name, p[name]))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// macSet names the hosts whose MACs appear in m, sorted.
func macSet(l *lab, m map[string]int) []string {
	set := map[string]bool{}
	for mac := range m {
		name := mac
		for _, h := range l.hosts {
			if h.mac.String() == mac {
				name = h.name
			}
		}
		set[name] = true
	}
	return slices.Sorted(maps.Keys(set))
}

func macNames(l *lab, m map[string]int) string {
	var s []string
	for mac, count := range m {
		name := mac
		for _, h := range l.hosts {
			if h.mac.String() == mac {
				name = h.name + "'s MAC " + mac
			}
		}
		s = append(s, fmt.Sprintf("%s (%d frames)", name, count))
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
