package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
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

// lvsHooks are what the LVS runtime tells the rest of the director, given at
// construction; the runtime holds no pointer to the daemon.
type lvsHooks struct {
	// changed marks the director dirty: the table the runtime wants has changed.
	changed func()
	// runAsync runs a script in the background; runSync runs one and waits.
	runAsync, runSync func(*kaconf.Command)
	// mail queues an alert mail; it never blocks.
	mail func(subject, body string)
	// fifo, when set, writes a line to the LVS notify FIFOs; it never blocks.
	fifo func(line string)
	// decide, when set, is the script policy's decision for a MISC_CHECK's command
	// line (miscsec.go). It takes the script runner's lock.
	decide func(argv []string) scriptDecision
}

// lvsRuntime owns the LVS side: the model of the virtual servers (real servers'
// health, quorum), the health scheduler, and the kernel's IPVS table and sync
// daemons, which only converge changes, called by the reconciler. Health
// transitions update the model and mark the director dirty: a burst of them is one
// reconcile, and the kernel's table is re-read only when the runtime's view of it
// may be stale (the first convergence, after an error, the drift check).
type lvsRuntime struct {
	log      *slog.Logger
	client   *ipvs.Client
	sched    *health.Scheduler
	m        *metrics
	h        lvsHooks
	keepIPVS bool
	cancel   context.CancelFunc
	done     chan struct{} // closed when the scheduler has stopped

	// mu guards everything below. It is a leaf lock: no generic netlink call,
	// script or mail is made while it is held.
	mu       sync.Mutex
	vss      []*vsRun
	gen      uint64 // bumped on every change to what is wanted
	applied  uint64 // gen last converged without error
	stopping bool   // the director is stopping: remove what it manages
	fresh    bool   // nothing converged yet: stop leftover sync daemons, lvs_flush
	flush    bool   // lvs_flush
	stale    bool   // view may differ from the kernel: re-read it
	view     []ipvs.VirtualServer
	owned    map[string]ipvs.Service // services created or adopted, by identity
	syncd    *kaconf.SyncDaemon      // wanted
	syncRun  *kaconf.SyncDaemon      // the configuration the running daemons have
	syncID   uint32
	syncSt   map[ipvs.DaemonState]bool // running sync daemons
	ops      map[ipvs.OpKind]uint64
	opErrs   uint64
	reads    uint64 // kernel table reads (Snapshot)
	rid      string // router_id, for alert mails
	// noCheckerMail is no_checker_emails: mail a checker's change only when it
	// changes its real server's state.
	noCheckerMail bool
	// flushOnStop is lvs_flush_on_stop (bare): the stop flushes the whole table.
	flushOnStop bool
	// scaleOut is the scale-out mode (ecmp.go): failed real servers stay at
	// weight 0, destinations go in canonical order, mh hashes ports; servable
	// holds the services the last convergence applied with quorum held.
	scaleOut bool
	servable map[string]bool
	// ha is which checks ha_suspend has suspended (hasuspend.go).
	ha haSuspendState
}

type vsRun struct {
	cfg      kaconf.VirtualServer
	svc      ipvs.Service
	members  []ipvs.Service // the services of a virtual_server group (vsgroup.go)
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
		switch {
		case vs.IPFamily == "inet6":
			s.Family = ipvs.IPv6
		case vs.IPFamily == "":
			if len(vs.RealServers) > 0 && vs.RealServers[0].Addr.Addr().Is6() {
				s.Family = ipvs.IPv6
			}
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
	// ops and flag-1..3 (keepalived ipvswrapper.c passes vs->flags through).
	if vs.OnePacket {
		s.Flags |= ipvs.FlagOnePacket
	}
	for i, f := range []ipvs.ServiceFlags{ipvs.FlagSched1, ipvs.FlagSched2, ipvs.FlagSched3} {
		if vs.SchedFlags&(1<<i) != 0 {
			s.Flags |= f
		}
	}
	s.PersistenceEngine = vs.PersistenceEngine
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
	if vs.Group != "" {
		id = "group:" + vs.Group + ":" + string(vs.Protocol)
	} else if vs.FWMark != 0 {
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
			h := &health.HTTPChecker{Address: addr, Dial: dial, Path: u.Path, Host: u.Virtualhost, MD5: u.Digest,
				// keepalived 2.2.7 sends HTTP/1.0 unless http_protocol 1.1 (health
				// adds Connection: close, which is 1.0C's and 1.1's and changes
				// nothing for 1.0).
				HTTP10: c.HTTPProtocol != "1.1"}
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
	case kaconf.CheckDNS, kaconf.CheckUDP, kaconf.CheckPing, kaconf.CheckSMTP:
		hc.Checker = probeChecker(c)
	case kaconf.CheckFile:
		// configure gives it its file and the real server's weight.
		return fileCheck(c, nil, 0)
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
func (l *lvsRuntime) desired() []ipvs.VirtualServer {
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
				Port: v.cfg.SorryServer.Port(), Forward: forwardOf(sorryMethod(&v.cfg)), Weight: 1})
			for _, r := range v.rss {
				if r.cfg.InhibitOnFailure || l.scaleOut {
					vs.Destinations = append(vs.Destinations, ipvs.Destination{Address: r.cfg.Addr.Addr(),
						Port: r.cfg.Addr.Port(), Forward: forwardOf(r.cfg.Method), Weight: 0,
						UpperThreshold: r.cfg.UpperThreshold, LowerThreshold: r.cfg.LowerThreshold})
				}
			}
		} else {
			for _, r := range v.rss {
				d := ipvs.Destination{Address: r.cfg.Addr.Addr(), Port: r.cfg.Addr.Port(), Forward: forwardOf(r.cfg.Method),
					UpperThreshold: r.cfg.UpperThreshold, LowerThreshold: r.cfg.LowerThreshold}
				switch {
				case r.alive():
					d.Weight = int32(r.effWeight())
				case r.cfg.InhibitOnFailure || l.scaleOut:
					d.Weight = 0
				default:
					continue
				}
				vs.Destinations = append(vs.Destinations, d)
			}
			if v.cfg.SorryServer.IsValid() && v.cfg.SorryServerInhibit {
				vs.Destinations = append(vs.Destinations, ipvs.Destination{Address: v.cfg.SorryServer.Addr(),
					Port: v.cfg.SorryServer.Port(), Forward: forwardOf(sorryMethod(&v.cfg)), Weight: 0})
			}
		}
		if l.scaleOut {
			vs.Destinations = scaleOutDests(vs.Destinations)
		}
		out = append(out, v.expand(vs)...)
	}
	return out
}

// newLVSRuntime starts the health scheduler of an LVS runtime over client. flush is
// lvs_flush: the first convergence flushes the kernel's table. scaleOut is the
// scale-out mode (-ecmp-table).
func newLVSRuntime(ctx context.Context, log *slog.Logger, client *ipvs.Client, m *metrics, h lvsHooks, keepIPVS, flush, scaleOut bool) *lvsRuntime {
	l := &lvsRuntime{log: log, client: client, m: m, h: h, keepIPVS: keepIPVS, done: make(chan struct{}),
		owned: map[string]ipvs.Service{}, ops: map[ipvs.OpKind]uint64{}, syncSt: map[ipvs.DaemonState]bool{},
		fresh: true, flush: flush, stale: true, scaleOut: scaleOut, servable: map[string]bool{}}
	l.sched = health.NewScheduler(&health.SchedulerConfig{OnTransition: l.onTransition,
		OnAttempt: func(a health.Attempt) { m.checkAttempt(a.Err == nil) }})
	ctx, l.cancel = context.WithCancel(ctx)
	go func() {
		l.sched.Run(ctx)
		close(l.done)
	}()
	return l
}

// configure replaces the virtual servers, keeping the health state of every real
// server whose checks did not change. It changes the model only; the reconciler
// applies it.
func (l *lvsRuntime) configure(cfg *kaconf.Config) error {
	initTrackFiles(l.log, cfg.TrackFiles)
	misc := miscDecisionsOf(cfg, l.h.decide) // before l.mu: it asks the script runner
	var after []func()
	l.mu.Lock()
	l.rid = routerID(&cfg.Global)
	l.noCheckerMail = cfg.Global.NoCheckerEmails
	l.flushOnStop = cfg.Global.LVSFlushOnStop == "FULL"
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
		if l.scaleOut {
			v.svc = scaleOutService(v.svc)
		}
		v.setGroup(cfg, l.scaleOut)
		for j := range vc.RealServers {
			rc := &vc.RealServers[j]
			key := checkName(vc, rc, -1)
			r := &rsRun{cfg: *rc, weight: -1}
			if o := oldRS[key]; o != nil && sameChecks(o.cfg.Checks, rc.Checks) {
				r.names, r.up, r.weight = o.names, o.up, o.weight
			} else {
				for k := range rc.Checks {
					name := checkName(vc, rc, k)
					hc := misc.apply(l.log, &rc.Checks[k], healthCheck(&rc.Checks[k], vc.Alpha))
					if ck := &rc.Checks[k]; ck.Type == kaconf.CheckFile {
						hc = fileCheck(ck, cfg.TrackFile(ck.TrackFile), rc.Weight)
					}
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
			if cfg.Global.RSInitNotifies && oldRS[key] == nil && r.alive() {
				after = append(after, l.rsInitNotify(vc, rc))
			}
		}
		if o := oldVS[v.svc.String()]; o != nil {
			v.quorumUp = o.quorumUp
			after = append(after, l.updateQuorum(v)...)
		} else {
			// keepalived (set_quorum_states, update_quorum_state with init): a
			// virtual server starts with quorum when its live weight reaches
			// quorum+hysteresis; starting without it installs the sorry server and
			// runs quorum_down, but only when a sorry server is configured.
			w := v.aliveWeight()
			v.quorumUp = w >= v.cfg.Quorum+v.cfg.Hysteresis
			if !v.quorumUp && v.cfg.SorryServer.IsValid() {
				l.log.Warn("starting with quorum down", "virtual_server", v.svc.String(), "alive_weight", w)
				qd := v.cfg.QuorumDown
				after = append(after, func() { l.h.runAsync(qd) })
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
	l.applyHASuspendLocked()
	if sd := cfg.Global.LVSSyncDaemon; !reflect.DeepEqual(sd, l.syncd) {
		l.syncd = sd
		l.syncID = 0
		if sd != nil {
			if sd.SyncID >= 0 {
				l.syncID = uint32(sd.SyncID)
			} else if in := cfg.Instance(sd.Instance); in != nil {
				l.syncID = uint32(in.VRID)
			}
		}
	}
	l.gen++
	l.mu.Unlock()
	for _, f := range after {
		f()
	}
	l.h.changed()
	return errors.Join(errs...)
}

// onTransition takes a health check's new state into the model and marks the
// director dirty; the reconciler applies the table.
func (l *lvsRuntime) onTransition(t health.Transition) {
	var after []func()
	l.mu.Lock()
	found := false
	for _, v := range l.vss {
		for _, r := range v.rss {
			i := slices.Index(r.names, t.Name)
			if i < 0 {
				continue
			}
			found = true
			was := r.alive()
			checkWas := r.up[i]
			r.up[i] = t.Up
			if t.WeightSet {
				r.weight = t.Weight
			}
			l.log.Info("health check", "check", t.Name, "event", t.Event.String(), "reason", t.Reason, "err", t.Err)
			// smtp_alert: keepalived's checkers mail each change of a checker's state,
			// naming the real server's state; with no_checker_emails only a change
			// that changes the real server's state.
			if r.cfg.SMTPAlert && checkWas != t.Up && i < len(r.cfg.Checks) && (!l.noCheckerMail || r.alive() != was) {
				s, b := checkerMail(l.rid, &v.cfg, &r.cfg, r.cfg.Checks[i].Type, t.Up, r.alive())
				after = append(after, func() { l.h.mail(s, b) })
			}
			if now := r.alive(); now != was {
				cmd := r.cfg.NotifyDown
				if now {
					cmd = r.cfg.NotifyUp
				}
				after = append(after, func() { l.h.runAsync(cmd) })
				if l.h.fifo != nil {
					line := fifoRSLine(&v.cfg, &r.cfg, now)
					after = append(after, func() { l.h.fifo(line) })
				}
			}
			after = append(after, l.updateQuorum(v)...)
			break
		}
		if found {
			break
		}
	}
	if found {
		l.gen++
	}
	l.mu.Unlock()
	for _, f := range after {
		f()
	}
	if found {
		l.h.changed()
	}
}

// updateQuorum moves a virtual server's quorum state with keepalived's hysteresis
// (ipwrapper.c update_quorum_state): lost when the live weight falls below
// quorum-hysteresis or to 0, regained when it reaches quorum+hysteresis. It
// returns the scripts and mails to run once l.mu is released. l.mu is held.
func (l *lvsRuntime) updateQuorum(v *vsRun) []func() {
	w := v.aliveWeight()
	cfg := v.cfg
	rid := l.rid
	switch {
	case v.quorumUp && (w == 0 || w < cfg.Quorum-cfg.Hysteresis):
		v.quorumUp = false
		l.log.Warn("quorum lost", "virtual_server", v.svc.String(), "alive_weight", w)
		out := []func(){func() { l.h.runAsync(cfg.QuorumDown) }}
		if l.h.fifo != nil {
			out = append(out, func() { l.h.fifo(fifoVSLine(&cfg, false)) })
		}
		if cfg.SMTPAlert {
			out = append(out, func() { l.h.mail(quorumMail(rid, &cfg, false, cfg.Quorum-cfg.Hysteresis, w)) })
		}
		return out
	case !v.quorumUp && w >= cfg.Quorum+cfg.Hysteresis:
		v.quorumUp = true
		l.log.Info("quorum regained", "virtual_server", v.svc.String(), "alive_weight", w)
		out := []func(){func() { l.h.runAsync(cfg.QuorumUp) }}
		if l.h.fifo != nil {
			out = append(out, func() { l.h.fifo(fifoVSLine(&cfg, true)) })
		}
		if cfg.SMTPAlert {
			out = append(out, func() { l.h.mail(quorumMail(rid, &cfg, true, cfg.Quorum+cfg.Hysteresis, w)) })
		}
		return out
	}
	return nil
}

// converge implements lvsConverger: it applies the difference between the table the
// model wants and the kernel's (as the runtime last saw it, or re-read when it may
// be stale), looking only at the services the director manages, and runs the sync
// daemon as master while its instance is MASTER and as backup otherwise. It is
// called by the reconciler alone; l.mu is held only to copy.
func (l *lvsRuntime) converge(ctx context.Context, states map[string]vrrp.State, reread bool) error {
	l.mu.Lock()
	gen := l.gen
	stale := l.stale || reread
	fresh := l.fresh
	var want []ipvs.VirtualServer
	manageTable := !(l.stopping && l.keepIPVS)
	quorum := map[string]bool{} // scale-out: which services have quorum in want
	if !l.stopping {
		want = l.desired()
		for _, v := range l.vss {
			for _, s := range v.services() {
				quorum[s.String()] = v.quorumUp
			}
		}
	}
	syncWant := l.syncWantLocked(states)
	syncHave := maps2set(l.syncSt)
	syncCfgChanged := !reflect.DeepEqual(l.syncd, l.syncRun)
	sd, syncID := l.syncd, l.syncID
	if !stale && gen == l.applied && !syncCfgChanged && sameSet(syncWant, syncHave) {
		l.mu.Unlock()
		return nil
	}
	mine := map[string]bool{}
	for k := range l.owned {
		mine[k] = true
	}
	for _, v := range want {
		mine[v.Service.String()] = true
	}
	cur := l.view
	flush := l.flush
	flushAll := l.stopping && l.flushOnStop && manageTable
	l.mu.Unlock()

	var errs []error
	if fresh {
		errs = append(errs, l.firstConverge(ctx, sd != nil, flush))
	}
	if flushAll {
		// lvs_flush_on_stop: keepalived 2.2.7 flushes the whole table at stop,
		// other services too; then there is nothing left to remove.
		if err := l.client.Flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("director: lvs_flush_on_stop: %w", err))
		} else {
			cur, stale = nil, false
		}
	}
	// The table.
	var opCount map[ipvs.OpKind]uint64
	var opErrs, reads uint64
	tableOK := true
	failedSvc := map[string]bool{} // services with a failed operation
	allFailed := false             // the table was not read, or no operation was sent
	if manageTable {
		if stale {
			snap, err := l.client.Snapshot(ctx)
			reads++
			if err != nil {
				opErrs++
				tableOK, allFailed = false, true
				errs = append(errs, fmt.Errorf("director: reading IPVS: %w", err))
			} else {
				cur = nil
				for _, v := range ipvs.Table(snap) {
					if mine[v.Service.String()] {
						cur = append(cur, v)
					}
				}
			}
		}
		if tableOK {
			ops := ipvs.Diff(want, cur)
			for _, op := range ops {
				l.log.Info("IPVS", "op", op.String())
			}
			err := l.client.Apply(ctx, ops)
			failed := map[int]bool{}
			var ae *ipvs.ApplyError
			if errors.As(err, &ae) {
				for _, e := range ae.Errors {
					failed[e.Index] = true
					failedSvc[e.Op.Service.String()] = true
				}
			} else if err != nil {
				allFailed = true
			}
			opCount = map[ipvs.OpKind]uint64{}
			for i, op := range ops {
				if failed[i] {
					opErrs++
				} else {
					opCount[op.Kind]++
				}
			}
			if err != nil {
				tableOK = false
				errs = append(errs, fmt.Errorf("director: IPVS: %w", err))
			}
		}
	}
	// The sync daemons: a new configuration restarts them.
	running := syncHave
	if syncCfgChanged {
		for st := range running {
			l.stopDaemon(ctx, st)
		}
		running = map[ipvs.DaemonState]bool{}
	}
	for st := range running {
		if !syncWant[st] {
			l.stopDaemon(ctx, st)
			delete(running, st)
		}
	}
	syncOK := true
	for _, st := range []ipvs.DaemonState{ipvs.DaemonMaster, ipvs.DaemonBackup} {
		if !syncWant[st] || running[st] {
			continue
		}
		if err := l.startDaemon(ctx, sd, syncID, st); err != nil {
			syncOK = false
			errs = append(errs, err)
			continue
		}
		running[st] = true
	}

	l.mu.Lock()
	l.fresh = false
	l.reads += reads
	l.opErrs += opErrs
	for k, n := range opCount {
		l.ops[k] += n
	}
	if manageTable && opCount != nil {
		l.owned = map[string]ipvs.Service{}
		for _, v := range want {
			l.owned[v.Service.String()] = v.Service
		}
	}
	l.view = want
	l.stale = !tableOK
	if l.scaleOut {
		// A service is servable when this convergence applied it whole (the table was
		// read, and the apply failed as a whole or for none of its operations) while
		// it had quorum.
		l.servable = map[string]bool{}
		for _, v := range want {
			k := v.Service.String()
			l.servable[k] = manageTable && !allFailed && !failedSvc[k] && quorum[k]
		}
	}
	if tableOK && syncOK {
		l.applied = gen
	}
	l.syncSt = running
	l.syncRun = sd
	l.mu.Unlock()
	return errors.Join(errs...)
}

// syncWantLocked is the set of sync daemon states wanted now. l.mu is held.
func (l *lvsRuntime) syncWantLocked(states map[string]vrrp.State) map[ipvs.DaemonState]bool {
	sd := l.syncd
	switch {
	case l.stopping || sd == nil:
		return map[ipvs.DaemonState]bool{}
	case sd.Instance == "":
		return map[ipvs.DaemonState]bool{ipvs.DaemonMaster: true, ipvs.DaemonBackup: true}
	}
	switch states[sd.Instance] {
	case vrrp.StateMaster:
		return map[ipvs.DaemonState]bool{ipvs.DaemonMaster: true}
	case vrrp.StateBackup, vrrp.StateFault:
		return map[ipvs.DaemonState]bool{ipvs.DaemonBackup: true}
	}
	// Not running yet, or shutting down: leave the daemons as they are. Starting a
	// backup daemon only to stop it at once could leave the stop waiting on the
	// kernel's new receive thread.
	return maps2set(l.syncSt)
}

func maps2set(m map[ipvs.DaemonState]bool) map[ipvs.DaemonState]bool {
	out := map[ipvs.DaemonState]bool{}
	for k, v := range m {
		if v {
			out[k] = true
		}
	}
	return out
}

func sameSet(a, b map[ipvs.DaemonState]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// firstConverge stops the sync daemons a run killed with SIGKILL left in the kernel
// (which refuses to start another of the same state) and runs lvs_flush.
func (l *lvsRuntime) firstConverge(ctx context.Context, syncd, flush bool) error {
	var errs []error
	if syncd {
		if ds, err := l.client.Daemons(ctx); err != nil {
			errs = append(errs, fmt.Errorf("director: listing IPVS sync daemons: %w", err))
		} else {
			for _, dm := range ds {
				if err := l.client.StopDaemon(ctx, dm.State); err != nil {
					l.log.Error("stopping a leftover IPVS sync daemon", "state", dm.State.String(), "err", err)
				} else {
					l.log.Info("stopped a leftover IPVS sync daemon", "state", dm.State.String())
				}
			}
		}
	}
	if flush {
		if err := l.client.Flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("director: lvs_flush: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (l *lvsRuntime) startDaemon(ctx context.Context, sd *kaconf.SyncDaemon, id uint32, st ipvs.DaemonState) error {
	d := ipvs.Daemon{State: st, Interface: sd.Interface, SyncID: id, MaxLen: uint16(sd.MaxLen),
		Group: sd.Group, Port: sd.Port, TTL: uint8(sd.TTL)}
	if err := l.client.StartDaemon(ctx, d); err != nil {
		return fmt.Errorf("director: starting the IPVS sync daemon (%s): %w", st, err)
	}
	l.log.Info("IPVS sync daemon", "state", st.String(), "interface", sd.Interface, "syncid", id)
	return nil
}

func (l *lvsRuntime) stopDaemon(ctx context.Context, st ipvs.DaemonState) {
	if err := l.client.StopDaemon(ctx, st); err != nil {
		l.log.Error("stopping the IPVS sync daemon", "state", st.String(), "err", err)
	}
}

// shutdown stops the checks and runs omega's notifiers, then marks the runtime as
// stopping: the next convergence stops the sync daemons and removes the services
// the director manages (unless -keep-ipvs).
func (l *lvsRuntime) shutdown() {
	l.cancel()
	<-l.done
	type omega struct {
		cmds  []*kaconf.Command
		mails [][2]string
		fifo  []string // notify FIFO lines, as keepalived writes them on a stop with omega
	}
	var o omega
	l.mu.Lock()
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
				o.cmds = append(o.cmds, r.cfg.NotifyDown)
				o.fifo = append(o.fifo, fifoRSLine(&v.cfg, &r.cfg, false))
				if r.cfg.SMTPAlert {
					o.mails = append(o.mails, [2]string{fmt.Sprintf("[%s] Realserver %s of virtual server %s - DOWN", l.rid,
						trio(r.cfg.Addr.Addr().String(), r.cfg.Addr.Port(), v.cfg.Protocol), vsName(&v.cfg)),
						"=> Shutting down <="})
				}
			}
		}
		o.cmds = append(o.cmds, v.cfg.QuorumDown)
		o.fifo = append(o.fifo, fifoVSLine(&v.cfg, false))
		if v.cfg.SMTPAlert {
			o.mails = append(o.mails, [2]string{fmt.Sprintf("[%s] Virtualserver %s - DOWN", l.rid, vsName(&v.cfg)), "=> Shutting down <="})
		}
	}
	l.mu.Unlock()
	for _, c := range o.cmds {
		l.h.runSync(c)
	}
	for _, m := range o.mails {
		l.h.mail(m[0], m[1])
	}
	if l.h.fifo != nil {
		for _, line := range o.fifo {
			l.h.fifo(line)
		}
	}
	l.mu.Lock()
	l.stopping = true
	l.gen++
	l.mu.Unlock()
}

// lvsStatus is what the status dump needs from the runtime.
type lvsStatus struct {
	vss    []VSStatus
	ops    map[string]uint64
	opErrs uint64
	syncSt []string
}

func (l *lvsRuntime) status() lvsStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	var st lvsStatus
	for _, v := range l.vss {
		vs := VSStatus{Service: v.svc.String(), QuorumUp: v.quorumUp, AliveWeight: v.aliveWeight(), Quorum: v.cfg.Quorum}
		for _, r := range v.rss {
			rs := RSStatus{Addr: r.cfg.Addr.String(), Alive: r.alive(), Weight: r.effWeight()}
			for i, n := range r.names {
				cs := CheckStatus{Name: n, Up: r.up[i]}
				if s, ok := l.sched.Status(n); ok {
					cs.Attempts, cs.Failures = s.Attempts, s.Failures
					if s.LastError != nil {
						cs.LastError = s.LastError.Error()
					}
				}
				rs.Checks = append(rs.Checks, cs)
			}
			vs.RealServers = append(vs.RealServers, rs)
		}
		st.vss = append(st.vss, vs)
	}
	st.ops = map[string]uint64{}
	for k, n := range l.ops {
		st.ops[k.String()] = n
	}
	st.opErrs = l.opErrs
	for s := range l.syncSt {
		st.syncSt = append(st.syncSt, s.String())
	}
	slices.Sort(st.syncSt)
	return st
}

// kernelReads is how many times the runtime has read the kernel's table.
func (l *lvsRuntime) kernelReads() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads
}

// scaleOutVIPs implements scaleOutVIPs for the scale-out mode: every virtual
// server address, and those whose virtual servers are all servable.
func (l *lvsRuntime) scaleOutVIPs() (all, serving []netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ok := map[netip.Addr]bool{}
	for _, v := range l.vss {
		for _, svc := range v.services() {
			if svc.FWMark != 0 {
				continue
			}
			a := svc.Address.Unmap()
			s, seen := ok[a]
			if !seen {
				all = append(all, a)
				s = true
			}
			ok[a] = s && l.servable[svc.String()]
		}
	}
	for _, a := range all {
		if ok[a] {
			serving = append(serving, a)
		}
	}
	return all, serving
}

// sorryMethod is how IPVS forwards to the sorry server: sorry_server_lvs_method,
// default the virtual server's lvs_method (keepalived 2.2.7).
func sorryMethod(vs *kaconf.VirtualServer) kaconf.Method {
	if vs.SorryServerMethod != "" {
		return vs.SorryServerMethod
	}
	return vs.Method
}
