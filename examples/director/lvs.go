package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp"
)

// lvsManager keeps the kernel's IPVS table equal to what the virtual_server blocks and
// the health checks want, and runs the IPVS sync daemon.
type lvsManager struct {
	d      *daemon
	client *ipvs.Client
	sched  *health.Scheduler
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	vss    []*vsRun
	owned  map[string]ipvs.Service // services created or adopted, by identity
	syncd  *kaconf.SyncDaemon
	syncID uint32
	syncSt map[ipvs.DaemonState]bool // running sync daemons
	ops    map[ipvs.OpKind]uint64
	opErrs uint64
	rid    string // router_id, for alert mails
}

// vsRun is one virtual_server and its real servers' health.
type vsRun struct {
	cfg      kaconf.VirtualServer
	svc      ipvs.Service
	rss      []*rsRun
	quorumUp bool
}

// rsRun is one real_server.
type rsRun struct {
	cfg    kaconf.RealServer
	names  []string // health check names, one per checker
	up     []bool
	weight int // dynamic weight from MISC_CHECK misc_dynamic, -1 when none
}

func (r *rsRun) alive() bool {
	for _, u := range r.up {
		if !u {
			return false
		}
	}
	return true
}

func (r *rsRun) effWeight() int {
	if r.weight >= 0 {
		return r.weight
	}
	return r.cfg.Weight
}

// serviceOf is the IPVS service of a virtual_server.
func serviceOf(vs *kaconf.VirtualServer) ipvs.Service {
	s := ipvs.Service{Scheduler: ipvs.Scheduler(vs.Scheduler)}
	if vs.FWMark != 0 {
		s.FWMark = vs.FWMark
		s.Family = ipvs.IPv4
		if len(vs.RealServers) > 0 && vs.RealServers[0].Addr.Addr().Is6() {
			s.Family = ipvs.IPv6
		}
	} else {
		s.Address, s.Port = vs.Addr.Addr(), vs.Addr.Port()
		s.Family = ipvs.IPv4
		if s.Address.Is6() {
			s.Family = ipvs.IPv6
		}
		switch vs.Protocol {
		case kaconf.ProtocolUDP:
			s.Protocol = ipvs.UDP
		case kaconf.ProtocolSCTP:
			s.Protocol = ipvs.SCTP
		default:
			s.Protocol = ipvs.TCP
		}
	}
	if vs.PersistenceTimeout > 0 {
		s.Flags |= ipvs.FlagPersistent
		s.Timeout = vs.PersistenceTimeout
		s.Netmask = vs.PersistenceGranularity
	}
	return s
}

func forwardOf(m kaconf.Method) ipvs.ForwardMethod {
	switch m {
	case kaconf.MethodDR:
		return ipvs.DirectRoute
	case kaconf.MethodTUN:
		return ipvs.Tunnel
	}
	return ipvs.Masquerade
}

// checkName names a real server's i-th checker in the health scheduler.
func checkName(vs *kaconf.VirtualServer, rs *kaconf.RealServer, i int) string {
	id := vs.Addr.String()
	if vs.FWMark != 0 {
		id = "fwmark:" + strconv.FormatUint(uint64(vs.FWMark), 10)
	}
	return id + "/" + rs.Addr.String() + "/" + strconv.Itoa(i)
}

// healthCheck builds the scheduler's Check for a keepalived checker.
func healthCheck(c *kaconf.Check, alpha bool) health.Check {
	hc := health.Check{Interval: c.DelayLoop, Timeout: c.ConnectTimeout, Retry: c.Retry,
		RetryDelay: c.DelayBeforeRetry, Warmup: c.Warmup, StartDown: alpha}
	if hc.RetryDelay <= 0 {
		hc.RetryDelay = time.Millisecond
	}
	dial := health.DialConfig{Source: c.BindTo}
	addr := net.JoinHostPort(c.ConnectIP.String(), strconv.Itoa(int(c.ConnectPort)))
	switch c.Type {
	case kaconf.CheckTCP:
		hc.Checker = &health.TCPChecker{Address: addr, Dial: dial}
	case kaconf.CheckHTTP, kaconf.CheckSSL:
		var checkers []health.Checker
		for _, u := range c.URLs {
			h := &health.HTTPChecker{Address: addr, Dial: dial, Path: u.Path, Host: u.Virtualhost, MD5: u.Digest}
			if h.Host == "" {
				h.Host = c.Virtualhost
			}
			for _, r := range u.StatusCodes {
				h.Status = append(h.Status, health.StatusRange{Lo: r.Lo, Hi: r.Hi})
			}
			if c.Type == kaconf.CheckSSL {
				h.TLS = &health.TLSConfig{InsecureSkipVerify: true}
				if c.EnableSNI {
					h.TLS.ServerName = c.SNIName
				}
			}
			checkers = append(checkers, h)
		}
		hc.Checker = allOf(checkers)
	case kaconf.CheckMisc:
		var argv []string
		if c.Misc != nil {
			argv = c.Misc.Args
		}
		hc.Checker = &health.ExecChecker{Argv: argv, Dynamic: c.MiscDynamic}
		hc.Timeout = c.MiscTimeout
	}
	return hc
}

// allOf is a checker that passes when every checker passes, in order (keepalived
// checks every url of an HTTP_GET).
func allOf(cs []health.Checker) health.Checker {
	return health.CheckerFunc(func(ctx context.Context) (health.Result, error) {
		var last health.Result
		for _, c := range cs {
			r, err := c.Check(ctx)
			if err != nil {
				return r, err
			}
			last = r
		}
		return last, nil
	})
}

// applyLVS brings IPVS to cfg: it dials IPVS only when cfg has virtual servers or a
// sync daemon (a VRRP-only file needs no IPVS in the kernel).
func (d *daemon) applyLVS(_, cfg *kaconf.Config) error {
	need := len(cfg.VirtualServers) > 0 || cfg.Global.LVSSyncDaemon != nil
	d.mu.Lock()
	l := d.lvs
	d.mu.Unlock()
	if l == nil {
		if !need {
			return nil
		}
		c, err := d.deps.ipvs()
		if err != nil {
			return fmt.Errorf("director: IPVS: %w", err)
		}
		l = &lvsManager{d: d, client: c, owned: map[string]ipvs.Service{}, ops: map[ipvs.OpKind]uint64{},
			done: make(chan struct{})}
		l.sched = health.NewScheduler(&health.SchedulerConfig{OnTransition: l.onTransition,
			OnAttempt: func(a health.Attempt) { d.m.checkAttempt(a.Err == nil) }})
		ctx, cancel := context.WithCancel(d.ctx)
		l.cancel = cancel
		go func() {
			l.sched.Run(ctx)
			close(l.done)
		}()
		if cfg.Global.LVSSyncDaemon != nil {
			// A run killed with SIGKILL leaves its sync daemons in the kernel, and the
			// kernel refuses to start another of the same state: stop them first.
			if ds, err := c.Daemons(ctx); err != nil {
				d.log.Error("listing IPVS sync daemons", "err", err)
			} else {
				for _, dm := range ds {
					if err := c.StopDaemon(ctx, dm.State); err != nil {
						d.log.Error("stopping a leftover IPVS sync daemon", "state", dm.State.String(), "err", err)
					} else {
						d.log.Info("stopped a leftover IPVS sync daemon", "state", dm.State.String())
					}
				}
			}
		}
		if cfg.Global.LVSFlush {
			if err := c.Flush(ctx); err != nil {
				d.log.Error("lvs_flush", "err", err)
			}
		}
		d.mu.Lock()
		d.lvs = l
		d.mu.Unlock()
	}
	master := false
	if sd := cfg.Global.LVSSyncDaemon; sd != nil {
		d.mu.Lock()
		if in := d.insts[sd.Instance]; in != nil && in.state == vrrp.StateMaster {
			master = true
		}
		d.mu.Unlock()
	}
	return l.configure(cfg, master)
}

// configure replaces the virtual servers, keeping the health state of every real
// server whose checks did not change.
func (l *lvsManager) configure(cfg *kaconf.Config, master bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rid = routerID(&cfg.Global)
	oldRS := map[string]*rsRun{}
	for _, v := range l.vss {
		for _, r := range v.rss {
			oldRS[checkName(&v.cfg, &r.cfg, -1)] = r
		}
	}
	oldVS := map[string]*vsRun{}
	for _, v := range l.vss {
		oldVS[v.svc.String()] = v
	}
	var errs []error
	var vss []*vsRun
	keepChecks := map[string]bool{}
	for i := range cfg.VirtualServers {
		vc := &cfg.VirtualServers[i]
		v := &vsRun{cfg: *vc, svc: serviceOf(vc)}
		for j := range vc.RealServers {
			rc := &vc.RealServers[j]
			key := checkName(vc, rc, -1)
			r := &rsRun{cfg: *rc, weight: -1}
			if o := oldRS[key]; o != nil && sameChecks(o.cfg.Checks, rc.Checks) {
				r.names, r.up, r.weight = o.names, o.up, o.weight
			} else {
				for k := range rc.Checks {
					name := checkName(vc, rc, k)
					hc := healthCheck(&rc.Checks[k], vc.Alpha)
					if _, ok := l.sched.Status(name); ok {
						if err := l.sched.Update(name, hc); err != nil {
							errs = append(errs, err)
						}
					} else if err := l.sched.Add(name, hc); err != nil {
						errs = append(errs, err)
					}
					r.names = append(r.names, name)
					r.up = append(r.up, !vc.Alpha)
				}
			}
			for _, n := range r.names {
				keepChecks[n] = true
			}
			v.rss = append(v.rss, r)
		}
		if o := oldVS[v.svc.String()]; o != nil {
			v.quorumUp = o.quorumUp
			l.updateQuorum(v)
		} else {
			// keepalived (set_quorum_states, update_quorum_state with init): a
			// virtual server starts with quorum when its live weight reaches
			// quorum+hysteresis; starting without it installs the sorry server and
			// runs quorum_down, but only when a sorry server is configured.
			w := v.aliveWeight()
			v.quorumUp = w >= v.cfg.Quorum+v.cfg.Hysteresis
			if !v.quorumUp && v.cfg.SorryServer.IsValid() {
				l.d.log.Warn("starting with quorum down", "virtual_server", v.svc.String(), "alive_weight", w)
				l.d.runAsync(v.cfg.QuorumDown)
			}
		}
		vss = append(vss, v)
	}
	for _, s := range l.sched.Statuses() {
		if !keepChecks[s.Name] {
			l.sched.Remove(s.Name)
		}
	}
	l.vss = vss
	if sd := cfg.Global.LVSSyncDaemon; !reflect.DeepEqual(sd, l.syncd) {
		l.stopSyncDaemon()
		l.syncd = sd
		if sd != nil {
			l.syncID = 0
			if sd.SyncID >= 0 {
				l.syncID = uint32(sd.SyncID)
			} else if in := cfg.Instance(sd.Instance); in != nil {
				l.syncID = uint32(in.VRID)
			}
			switch {
			case sd.Instance == "":
				l.startSyncDaemon(ipvs.DaemonMaster)
				l.startSyncDaemon(ipvs.DaemonBackup)
			case master:
				l.setSyncDaemon(ipvs.DaemonMaster)
			default:
				l.setSyncDaemon(ipvs.DaemonBackup)
			}
		}
	}
	errs = append(errs, l.reconcileLocked())
	return errors.Join(errs...)
}

// sameChecks compares checkers apart from their places in the file, which move when
// lines are added above them.
func sameChecks(a, b []kaconf.Check) bool {
	strip := func(cs []kaconf.Check) []kaconf.Check {
		out := slices.Clone(cs)
		for i := range out {
			out[i].Pos = kaconf.Pos{}
			out[i].URLs = slices.Clone(out[i].URLs)
			for j := range out[i].URLs {
				out[i].URLs[j].Pos = kaconf.Pos{}
			}
		}
		return out
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

func (v *vsRun) aliveWeight() int {
	w := 0
	for _, r := range v.rss {
		if r.alive() {
			w += r.effWeight()
		}
	}
	return w
}

// desired is the IPVS table the virtual servers want now.
func (l *lvsManager) desired() []ipvs.VirtualServer {
	var out []ipvs.VirtualServer
	for _, v := range l.vss {
		vs := ipvs.VirtualServer{Service: v.svc}
		if !v.quorumUp && v.cfg.SorryServer.IsValid() {
			// keepalived (update_quorum_state, perform_quorum_state): losing quorum
			// adds the sorry server and removes the live real servers, so the sorry
			// server serves instead of them, not beside them. Real servers with
			// inhibit_on_failure stay in the table with weight 0, as a removal of
			// one always is.
			vs.Destinations = append(vs.Destinations, ipvs.Destination{Address: v.cfg.SorryServer.Addr(),
				Port: v.cfg.SorryServer.Port(), Forward: forwardOf(v.cfg.Method), Weight: 1})
			for _, r := range v.rss {
				if r.cfg.InhibitOnFailure {
					vs.Destinations = append(vs.Destinations, ipvs.Destination{Address: r.cfg.Addr.Addr(),
						Port: r.cfg.Addr.Port(), Forward: forwardOf(r.cfg.Method), Weight: 0})
				}
			}
		} else {
			for _, r := range v.rss {
				d := ipvs.Destination{Address: r.cfg.Addr.Addr(), Port: r.cfg.Addr.Port(), Forward: forwardOf(r.cfg.Method)}
				switch {
				case r.alive():
					d.Weight = int32(r.effWeight())
				case r.cfg.InhibitOnFailure:
					d.Weight = 0
				default:
					continue
				}
				vs.Destinations = append(vs.Destinations, d)
			}
			if v.cfg.SorryServer.IsValid() && v.cfg.SorryServerInhibit {
				vs.Destinations = append(vs.Destinations, ipvs.Destination{Address: v.cfg.SorryServer.Addr(),
					Port: v.cfg.SorryServer.Port(), Forward: forwardOf(v.cfg.Method), Weight: 0})
			}
		}
		out = append(out, vs)
	}
	return out
}

// reconcileLocked applies the difference between the desired table and the
// kernel's, looking only at the services the director manages (others are left
// alone). l.mu is held.
func (l *lvsManager) reconcileLocked() error {
	ctx := context.WithoutCancel(l.d.ctx)
	want := l.desired()
	snap, err := l.client.Snapshot(ctx)
	if err != nil {
		l.opErrs++
		return fmt.Errorf("director: reading IPVS: %w", err)
	}
	mine := map[string]bool{}
	for k := range l.owned {
		mine[k] = true
	}
	for _, v := range want {
		mine[v.Service.String()] = true
	}
	var cur []ipvs.VirtualServer
	for _, v := range ipvs.Table(snap) {
		if mine[v.Service.String()] {
			cur = append(cur, v)
		}
	}
	ops := ipvs.Diff(want, cur)
	for _, op := range ops {
		l.d.log.Info("IPVS", "op", op.String())
	}
	err = l.client.Apply(ctx, ops)
	failed := map[int]bool{}
	var ae *ipvs.ApplyError
	if errors.As(err, &ae) {
		for _, e := range ae.Errors {
			failed[e.Index] = true
		}
	}
	for i, op := range ops {
		if failed[i] {
			l.opErrs++
		} else {
			l.ops[op.Kind]++
		}
	}
	l.owned = map[string]ipvs.Service{}
	for _, v := range want {
		l.owned[v.Service.String()] = v.Service
	}
	if err != nil {
		return fmt.Errorf("director: IPVS: %w", err)
	}
	return nil
}

// onTransition takes a health check's new state and reconciles IPVS.
func (l *lvsManager) onTransition(t health.Transition) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range l.vss {
		for _, r := range v.rss {
			i := slices.Index(r.names, t.Name)
			if i < 0 {
				continue
			}
			was := r.alive()
			checkWas := r.up[i]
			r.up[i] = t.Up
			if t.WeightSet {
				r.weight = t.Weight
			}
			l.d.log.Info("health check", "check", t.Name, "event", t.Event.String(), "reason", t.Reason, "err", t.Err)
			// smtp_alert: keepalived's checkers mail each change of a checker's state
			// (no_checker_emails is not supported), naming the real server's state.
			if r.cfg.SMTPAlert && checkWas != t.Up && i < len(r.cfg.Checks) {
				l.d.mail.send(checkerMail(l.rid, &v.cfg, &r.cfg, r.cfg.Checks[i].Type, t.Up, r.alive()))
			}
			if now := r.alive(); now != was {
				cmd := r.cfg.NotifyDown
				if now {
					cmd = r.cfg.NotifyUp
				}
				l.d.runAsync(cmd)
			}
			l.updateQuorum(v)
			if err := l.reconcileLocked(); err != nil {
				l.d.log.Error("IPVS reconcile", "err", err)
			}
			return
		}
	}
}

// updateQuorum moves a virtual server's quorum state with keepalived's hysteresis
// (ipwrapper.c update_quorum_state): lost when the live weight falls below
// quorum-hysteresis or to 0, regained when it reaches quorum+hysteresis.
func (l *lvsManager) updateQuorum(v *vsRun) {
	w := v.aliveWeight()
	switch {
	case v.quorumUp && (w == 0 || w < v.cfg.Quorum-v.cfg.Hysteresis):
		v.quorumUp = false
		l.d.log.Warn("quorum lost", "virtual_server", v.svc.String(), "alive_weight", w)
		l.d.runAsync(v.cfg.QuorumDown)
		if v.cfg.SMTPAlert {
			l.d.mail.send(quorumMail(l.rid, &v.cfg, false, v.cfg.Quorum-v.cfg.Hysteresis, w))
		}
	case !v.quorumUp && w >= v.cfg.Quorum+v.cfg.Hysteresis:
		v.quorumUp = true
		l.d.log.Info("quorum regained", "virtual_server", v.svc.String(), "alive_weight", w)
		l.d.runAsync(v.cfg.QuorumUp)
		if v.cfg.SMTPAlert {
			l.d.mail.send(quorumMail(l.rid, &v.cfg, true, v.cfg.Quorum+v.cfg.Hysteresis, w))
		}
	}
}

// vrrpState makes the sync daemon follow the instance it is tied to.
func (l *lvsManager) vrrpState(instance string, s vrrp.State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.syncd == nil || l.syncd.Instance != instance {
		return
	}
	if s == vrrp.StateInit {
		// The instance is shutting down: stopLVS stops the sync daemon. Starting a
		// backup daemon only to stop it at once could leave the stop waiting on the
		// kernel's new receive thread.
		return
	}
	st := ipvs.DaemonBackup
	if s == vrrp.StateMaster {
		st = ipvs.DaemonMaster
	}
	l.setSyncDaemon(st)
}

// setSyncDaemon runs the sync daemon in state st only. l.mu is held.
func (l *lvsManager) setSyncDaemon(st ipvs.DaemonState) {
	if l.syncSt[st] && len(l.syncSt) == 1 {
		return
	}
	l.stopSyncDaemon()
	l.startSyncDaemon(st)
}

func (l *lvsManager) startSyncDaemon(st ipvs.DaemonState) {
	sd := l.syncd
	d := ipvs.Daemon{State: st, Interface: sd.Interface, SyncID: l.syncID, MaxLen: uint16(sd.MaxLen),
		Group: sd.Group, Port: sd.Port, TTL: uint8(sd.TTL)}
	if err := l.client.StartDaemon(context.WithoutCancel(l.d.ctx), d); err != nil {
		l.d.log.Error("starting the IPVS sync daemon", "state", st.String(), "err", err)
		return
	}
	if l.syncSt == nil {
		l.syncSt = map[ipvs.DaemonState]bool{}
	}
	l.syncSt[st] = true
	l.d.log.Info("IPVS sync daemon", "state", st.String(), "interface", sd.Interface, "syncid", l.syncID)
}

func (l *lvsManager) stopSyncDaemon() {
	for st := range l.syncSt {
		if err := l.client.StopDaemon(context.WithoutCancel(l.d.ctx), st); err != nil {
			l.d.log.Error("stopping the IPVS sync daemon", "state", st.String(), "err", err)
		}
		delete(l.syncSt, st)
	}
}

// stopLVS stops the checks and the sync daemon, runs omega's notifiers, and removes
// the services the director manages unless -keep-ipvs.
func (d *daemon) stopLVS() {
	d.mu.Lock()
	l := d.lvs
	d.lvs = nil
	d.mu.Unlock()
	if l == nil {
		return
	}
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range l.vss {
		if !v.cfg.Omega {
			continue
		}
		// omega: on shutdown, run the notify_down of live real servers, then the
		// virtual server's quorum_down, which keepalived (clear_service_vs,
		// update_vs_notifies) runs on every shutdown with omega, whatever the
		// quorum state was.
		for _, r := range v.rss {
			if r.alive() {
				d.runSync(r.cfg.NotifyDown)
				if r.cfg.SMTPAlert {
					d.mail.send(fmt.Sprintf("[%s] Realserver %s of virtual server %s - DOWN", l.rid,
						trio(r.cfg.Addr.Addr().String(), r.cfg.Addr.Port(), v.cfg.Protocol), vsName(&v.cfg)),
						"=> Shutting down <=")
				}
			}
		}
		d.runSync(v.cfg.QuorumDown)
		if v.cfg.SMTPAlert {
			d.mail.send(fmt.Sprintf("[%s] Virtualserver %s - DOWN", l.rid, vsName(&v.cfg)), "=> Shutting down <=")
		}
	}
	l.stopSyncDaemon()
	if !d.keepIPVS {
		ctx := context.WithoutCancel(d.ctx)
		var ops []ipvs.Op
		for _, s := range l.owned {
			ops = append(ops, ipvs.Op{Kind: ipvs.OpDeleteService, Service: s})
		}
		if err := l.client.Apply(ctx, ops); err != nil {
			d.log.Error("removing IPVS services", "err", err)
		}
		for _, op := range ops {
			d.log.Info("IPVS", "op", op.String())
		}
	}
	l.client.Close()
}

// runAsync runs a script in the background, bounded in time.
func (d *daemon) runAsync(c *kaconf.Command) {
	if c == nil || len(c.Args) == 0 {
		return
	}
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		d.runSync(c)
	}()
}

func (d *daemon) runSync(c *kaconf.Command) {
	if c == nil || len(c.Args) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 30*time.Second)
	defer cancel()
	if err := d.deps.exec(ctx, c.Args); err != nil {
		d.log.Warn("script failed", "script", c.Args, "err", err)
	}
}
