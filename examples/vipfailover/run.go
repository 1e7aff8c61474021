package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

// proto marks the addresses vipfailover adds, distinct from vip.DefaultProto, so that
// its start-up cleanup never touches another lvskit daemon's VIPs.
const proto = 0x66 // 'f'

// instance is the name of the single VRRP instance.
const instance = "vipfailover"

// run runs the node until ctx is done, then resigns and removes the VIPs.
func run(ctx context.Context, c *config, log *slog.Logger) error {
	vips := make([]vip.Address, len(c.vips))
	addrs := make([]netip.Addr, len(c.vips))
	for i, p := range c.vips {
		vips[i] = vip.Address{Interface: c.iface, Prefix: p}
		addrs[i] = p.Addr()
	}
	primary := c.src
	if !primary.IsValid() {
		var err error
		if primary, err = vrrp.InterfaceAddr(c.iface, c.ipv6()); err != nil {
			return fmt.Errorf("vipfailover: source address: %w", err)
		}
	}
	tracker := vrrp.TrackerConfig{Name: "check", Weight: -c.weight}
	inst := vrrp.Config{
		Name:           instance,
		Version:        c.version,
		VRID:           c.vrid,
		Priority:       c.priority,
		AdvertInterval: c.advertInt,
		Primary:        primary,
		Addrs:          addrs,
		Peers:          c.peers,
		NoPreempt:      c.noPreempt,
		Trackers:       []vrrp.TrackerConfig{tracker},
	}
	if err := inst.Validate(); err != nil {
		return err
	}

	vc, err := vip.Dial(&vip.Config{Proto: proto})
	if err != nil {
		return fmt.Errorf("vipfailover: %w", err)
	}
	defer vc.Close()
	if err := removeStale(vc, vips, log); err != nil {
		return err
	}
	ann, err := vc.NewAnnouncer(&vip.AnnouncerConfig{Interface: c.iface})
	if err != nil {
		return fmt.Errorf("vipfailover: %w", err)
	}
	defer ann.Close()
	tr, err := vrrp.ListenIP(&vrrp.TransportConfig{Interface: c.iface, IPv6: c.ipv6(), Peers: c.peers})
	if err != nil {
		return fmt.Errorf("vipfailover: %w", err)
	}
	r, err := vrrp.NewRouter(&vrrp.RouterConfig{Instances: []vrrp.Config{inst}, Transport: tr})
	if err != nil {
		tr.Close()
		return fmt.Errorf("vipfailover: %w", err)
	}
	log.Info("starting", "interface", c.iface, "vrid", c.vrid, "priority", c.priority,
		"primary", primary, "vips", c.vips, "check", c.check, "restart", c.restart)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		followState(r.Events(), vc, ann, vips, addrs, log)
	}()
	go func() {
		defer wg.Done()
		newSupervisor(c, r, log).run(ctx)
	}()
	err = r.Run(ctx)
	cancel()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("vipfailover: %w", err)
	}
	return nil
}

// vipCallTimeout bounds each rtnetlink call, so that a kernel that never answers
// cannot hang the failover.
const vipCallTimeout = 5 * time.Second

// removeStale removes the VIPs among ours that a killed run left behind: those with
// vipfailover's ownership mark. Other owned addresses (another vipfailover's) stay.
func removeStale(vc *vip.Client, vips []vip.Address, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), vipCallTimeout)
	defer cancel()
	owned, err := vc.Owned(ctx)
	if err != nil {
		return fmt.Errorf("vipfailover: %w", err)
	}
	for _, o := range owned {
		o.Owned = false
		if !slices.Contains(vips, o) {
			continue
		}
		if err := vc.Remove(ctx, o); err != nil {
			return fmt.Errorf("vipfailover: removing stale VIP: %w", err)
		}
		log.Info("removed a VIP left behind by an earlier run", "vip", o.Prefix)
	}
	return nil
}

// followState adds and announces the VIPs when the instance becomes MASTER and removes
// them when it leaves MASTER, until events is closed (the Router stopped), when it
// removes them for good.
func followState(events <-chan vrrp.Event, vc *vip.Client, ann *vip.Announcer, vips []vip.Address, addrs []netip.Addr, log *slog.Logger) {
	stopAnnounce := func() {}
	var announcing sync.WaitGroup
	remove := func() {
		stopAnnounce()
		announcing.Wait()
		for _, a := range vips {
			ctx, cancel := context.WithTimeout(context.Background(), vipCallTimeout)
			err := vc.Remove(ctx, a)
			cancel()
			if err != nil {
				log.Error("removing VIP", "vip", a.Prefix, "err", err)
			}
		}
	}
	for ev := range events {
		log.Info("vrrp state", "from", ev.From, "to", ev.To, "reason", ev.Reason, "priority", ev.Priority)
		if ev.To != vrrp.StateMaster {
			if ev.From == vrrp.StateMaster {
				remove()
				log.Info("VIPs removed", "vips", addrs)
			}
			continue
		}
		for _, a := range vips {
			ctx, cancel := context.WithTimeout(context.Background(), vipCallTimeout)
			err := vc.Add(ctx, a)
			cancel()
			if err != nil {
				log.Error("adding VIP", "vip", a.Prefix, "err", err)
			}
		}
		log.Info("VIPs added", "vips", addrs)
		stopAnnounce()
		announcing.Wait()
		actx, cancel := context.WithCancel(context.Background())
		stopAnnounce = cancel
		announcing.Add(1)
		go func() {
			defer announcing.Done()
			if err := ann.Announce(actx, vip.KeepalivedPolicy(), addrs...); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("announcing VIPs", "err", err)
			}
		}()
	}
	remove()
}

// supervisor runs the check every interval, restarts the service when its monitor
// asks, and reports the service's state changes to track.
type supervisor struct {
	check   health.Checker
	restart health.Checker // nil: no restart command
	// interval separates the end of one round from the next check; timeout and
	// restartTimeout bound the check and the restart.
	interval, timeout, restartTimeout time.Duration
	mon                               *monitor
	// track receives every change of the service's state.
	track func(up bool)
	// weight is only for the log: 0 means the change puts the node in FAULT.
	weight int
	log    *slog.Logger
}

func newSupervisor(c *config, r *vrrp.Router, log *slog.Logger) *supervisor {
	s := &supervisor{
		check:    &health.ExecChecker{Argv: c.check},
		interval: c.interval, timeout: c.timeout, restartTimeout: c.restartTO,
		mon: newMonitor(monitorConfig{Fall: c.fall, Rise: c.rise, Restart: len(c.restart) > 0, RestartBackoff: c.backoff}),
		track: func(up bool) {
			if err := r.Track(instance, 0, up); err != nil && !errors.Is(err, vrrp.ErrRouterClosed) {
				log.Error("tracker", "err", err)
			}
		},
		weight: c.weight,
		log:    log,
	}
	if len(c.restart) > 0 {
		s.restart = &health.ExecChecker{Argv: c.restart}
	}
	return s
}

// run supervises until ctx is done.
func (s *supervisor) run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		res, err := s.check.Check(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("check failed", "err", err)
		} else {
			s.log.Debug("check passed", "detail", res.Detail)
		}
		d := s.mon.observe(time.Now(), err == nil)
		if d.Restart && s.restart != nil {
			s.log.Warn("restarting the service")
			rctx, cancel := context.WithTimeout(ctx, s.restartTimeout)
			_, rerr := s.restart.Check(rctx)
			cancel()
			if rerr != nil {
				s.log.Error("restart command failed", "err", rerr)
			} else {
				s.log.Info("restart command finished")
			}
		}
		if d.Changed {
			switch {
			case d.Up:
				s.log.Info("service is up: taking part in the election again")
			case s.weight == 0:
				s.log.Error("service is down: giving up the VIPs (FAULT)")
			default:
				s.log.Error("service is down: lowering the priority", "by", s.weight)
			}
			s.track(d.Up)
		}
		t.Reset(s.interval)
	}
}
