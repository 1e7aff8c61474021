package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

// errFound is what run returns with -once when it found a problem.
var errFound = errors.New("splitbrain: problem found")

// event is one report to log and pass to the alarm command.
type event struct {
	kind    string // split-brain, healed, vip-conflict, vip-ok
	vrid    uint8
	masters []netip.Addr
	vip     netip.Addr
	holders []net.HardwareAddr
}

func (e event) problem() bool { return e.kind == "split-brain" || e.kind == "vip-conflict" }

func (e event) env() []string {
	env := []string{
		"SPLITBRAIN_EVENT=" + e.kind,
		"SPLITBRAIN_VRID=" + strconv.Itoa(int(e.vrid)),
		"SPLITBRAIN_MASTERS=" + joinAddrs(e.masters),
	}
	if e.vip.IsValid() {
		hs := make([]string, len(e.holders))
		for i, h := range e.holders {
			hs[i] = h.String()
		}
		env = append(env, "SPLITBRAIN_VIP="+e.vip.String(), "SPLITBRAIN_HOLDERS="+strings.Join(hs, " "))
	}
	return env
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

// watcher holds what the goroutines of run share.
type watcher struct {
	cfg *config
	log *slog.Logger

	mu  sync.Mutex
	det *detector
	// vipGroup maps a VIP to the VRID of the last IPv4 advert that listed it.
	vipGroup map[netip.Addr]uint8
	// conflicts debounces the VIP checks; only the VIP loop uses it.
	conflicts *conflictFilter

	alarms chan event
	found  chan struct{} // closed at the first problem
	once   sync.Once
}

// run watches until ctx is done, -for passes, or (with -once) a problem is found.
func run(ctx context.Context, c *config, log *slog.Logger) error {
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	w := &watcher{
		cfg: c, log: log,
		det:       newDetector(detectorConfig{Window: c.window, Confirm: c.confirm}),
		vipGroup:  make(map[netip.Addr]uint8),
		conflicts: newConflictFilter(c.vipConfirm),
		alarms:    make(chan event, 64),
		found:     make(chan struct{}),
	}
	var trs []*vrrp.IPTransport
	defer func() {
		for _, tr := range trs {
			tr.Close()
		}
	}()
	for _, v6 := range []bool{false, true} {
		if (v6 && !c.ipv6) || (!v6 && !c.ipv4) {
			continue
		}
		tr, err := vrrp.ListenIP(&vrrp.TransportConfig{Interface: c.iface, IPv6: v6})
		if err != nil {
			return fmt.Errorf("splitbrain: %w", err)
		}
		trs = append(trs, tr)
	}
	var prober *arpProber
	if len(c.vips) > 0 {
		var err error
		if prober, err = newARPProber(c.iface); err != nil {
			return err
		}
		defer prober.Close()
	}
	log.Info("watching VRRP adverts", "interface", c.iface, "ipv4", c.ipv4, "ipv6", c.ipv6, "vips", c.vips)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, tr := range trs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.read(tr)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.expire(ctx)
	}()
	alarmsDone := make(chan struct{})
	go func() {
		defer close(alarmsDone)
		w.runAlarms()
	}()
	if prober != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.checkVIPs(ctx, prober)
		}()
	}
	stopOn := w.found
	if !c.once {
		stopOn = nil // keep watching after a problem
	}
	found := false
	select {
	case <-ctx.Done():
	case <-stopOn:
		found = true
	}
	cancel()
	for _, tr := range trs {
		tr.Close() // unblocks the readers
	}
	// The readers end with their transports, the other loops with ctx; after them
	// nothing queues alarms, and the queued ones still run.
	wg.Wait()
	close(w.alarms)
	<-alarmsDone
	if found {
		return errFound
	}
	return nil
}

// read feeds the detector with every valid advert from tr until tr is closed.
func (w *watcher) read(tr *vrrp.IPTransport) {
	b := make([]byte, 1500)
	var adv vrrp.Advert
	for {
		n, info, err := tr.ReadFrom(b)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				w.log.Error("reading adverts", "err", err)
			}
			return
		}
		if info.TTL != 255 {
			w.log.Debug("advert dropped", "src", info.Src, "reason", vrrp.DropTTL)
			continue
		}
		if err := vrrp.Parse(b[:n], info.Src, info.Dst, &adv); err != nil {
			w.log.Debug("advert dropped", "src", info.Src, "err", err)
			continue
		}
		w.log.Debug("advert", "src", info.Src, "advert", adv.String())
		o := observation{Time: time.Now(), Source: info.Src, VRID: adv.VRID, Priority: adv.Priority,
			Interval: time.Duration(adv.Interval) * 10 * time.Millisecond}
		w.mu.Lock()
		if info.Src.Is4() && adv.Priority > 0 {
			for _, a := range adv.Addrs {
				w.vipGroup[a] = adv.VRID
			}
		}
		reports := w.det.observe(o)
		w.mu.Unlock()
		w.reports(reports)
	}
}

// expire ticks the detector so that silent routers expire without adverts.
func (w *watcher) expire(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			w.mu.Lock()
			reports := w.det.tick(now)
			w.mu.Unlock()
			w.reports(reports)
		}
	}
}

func (w *watcher) reports(rs []report) {
	for _, r := range rs {
		fam := "IPv4"
		if r.Group.IPv6 {
			fam = "IPv6"
		}
		if r.Kind == splitBrain {
			w.log.Error("SPLIT BRAIN: several routers advertise as MASTER", "vrid", r.Group.VRID, "family", fam, "masters", r.Masters)
			w.raise(event{kind: "split-brain", vrid: r.Group.VRID, masters: r.Masters})
		} else {
			w.log.Info("split brain healed: one master again", "vrid", r.Group.VRID, "family", fam, "masters", r.Masters)
			w.raise(event{kind: "healed", vrid: r.Group.VRID, masters: r.Masters})
		}
	}
}

// raise queues e for the alarm command and records a problem for -once.
func (w *watcher) raise(e event) {
	if e.problem() {
		w.once.Do(func() { close(w.found) })
	}
	if len(w.cfg.alarm) == 0 {
		return
	}
	select {
	case w.alarms <- e:
	default:
		w.log.Error("alarm queue full: alarm dropped", "event", e.kind)
	}
}

// runAlarms runs the alarm command for each queued event, one at a time.
func (w *watcher) runAlarms() {
	for e := range w.alarms {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, w.cfg.alarm[0], w.cfg.alarm[1:]...)
		cmd.Env = append(os.Environ(), e.env()...)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			w.log.Error("alarm command failed", "event", e.kind, "err", err, "output", strings.TrimSpace(string(out)))
		}
	}
}

// checkVIPs asks by ARP who holds each VIP, every arp-interval, until ctx is done.
func (w *watcher) checkVIPs(ctx context.Context, p *arpProber) {
	t := time.NewTicker(w.cfg.arpInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, v := range w.cfg.vips {
			if ctx.Err() != nil {
				return
			}
			w.checkVIP(p, v)
		}
	}
}

func (w *watcher) checkVIP(p *arpProber, v netip.Addr) {
	w.mu.Lock()
	vrid, ok := w.vipGroup[v]
	var masters []netip.Addr
	if ok {
		masters = w.det.Masters(group{VRID: vrid})
	}
	w.mu.Unlock()
	if len(masters) == 0 {
		w.log.Debug("no advertising master lists the VIP", "vip", v)
		return
	}
	var macs []net.HardwareAddr
	for _, m := range masters {
		ms, err := p.resolve(m, w.cfg.arpWait)
		if err != nil {
			w.log.Error("ARP", "err", err)
			return
		}
		macs = append(macs, ms...)
	}
	if len(macs) == 0 {
		w.log.Warn("no master answers ARP", "masters", masters)
		return
	}
	holders, err := p.resolve(v, w.cfg.arpWait)
	if err != nil {
		w.log.Error("ARP", "err", err)
		return
	}
	rogue := rogueHolders(macs, holders)
	if len(rogue) > 0 {
		w.log.Debug("a non-master answers for the VIP", "vip", v, "masters", masters, "other_holders", rogue)
	}
	raise, cleared := w.conflicts.observe(v, len(rogue) > 0)
	switch {
	case raise:
		w.log.Error("VIP CONFLICT: a node that is not MASTER answers for the VIP", "vip", v, "vrid", vrid,
			"masters", masters, "master_macs", macs, "other_holders", rogue)
		w.raise(event{kind: "vip-conflict", vrid: vrid, masters: masters, vip: v, holders: rogue})
	case cleared:
		w.log.Info("VIP conflict cleared: only the master answers for the VIP", "vip", v, "vrid", vrid)
		w.raise(event{kind: "vip-ok", vrid: vrid, masters: masters, vip: v, holders: holders})
	}
}
