package vrrp

import (
	"net/netip"
	"time"
)

// Timer names one of an instance's two timers.
type Timer uint8

// The timers of RFC 9568 6.2.
const (
	// TimerAdver is the Master's Adver_Timer.
	TimerAdver Timer = iota
	// TimerMasterDown is the Backup's Master_Down_Timer.
	TimerMasterDown
)

// String returns "adver" or "master-down".
func (t Timer) String() string {
	if t == TimerAdver {
		return "adver"
	}
	return "master-down"
}

// ActionKind says what an Action asks the caller to do.
type ActionKind uint8

// Kinds of Action.
const (
	// ActSend: send an advert with Action.Priority (0 when resigning). Build it with
	// Machine.Advert.
	ActSend ActionKind = iota + 1
	// ActArm: (re)arm Action.Timer to fire after Action.After, and deliver the expiry
	// with Action.Gen to Machine.Expire. Arming replaces any earlier arming.
	ActArm
	// ActStop: stop Action.Timer. A late expiry of it is ignored anyway.
	ActStop
	// ActState: the state changed from Action.From to Action.To for Action.Reason.
	ActState
	// ActAnnounce: announce the virtual addresses (gratuitous ARP, unsolicited
	// neighbour advertisements): the instance became Master or its addresses changed.
	ActAnnounce
	// ActLowerPriority: as Master, the instance received an advert of lower priority
	// (Action.Priority), or of its own priority from a lower address, and stays
	// Master. keepalived refreshes the neighbours' caches then (garp_lower_prio_repeat).
	ActLowerPriority
)

// Action is one output of the Machine. Fields that do not apply to the Kind are zero.
type Action struct {
	// Kind says what to do.
	Kind ActionKind
	// Timer is the timer to arm or stop (ActArm, ActStop).
	Timer Timer
	// Gen is the arming's generation, to pass back to Machine.Expire (ActArm).
	Gen uint64
	// After is how long from now the timer fires (ActArm).
	After time.Duration
	// Priority is the priority to advertise, 0 when resigning (ActSend).
	Priority uint8
	// From and To are the old and new state (ActState).
	From, To State
	// Reason is why the state changed (ActState).
	Reason Reason
}

// Received is a packet handed to Machine.Receive: the parsed advert and the IP header
// fields that the rules need.
type Received struct {
	// Src and Dst are the IP source and destination addresses.
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or IPv6 hop limit; anything but 255 is dropped.
	TTL uint8
	// Advert is the parsed advert. Machine.Receive does not keep it.
	Advert *Advert
}

type tracker struct {
	up    bool
	count int // consecutive results against the current state
	// offset is added to the priority while the instance is not the owner; see
	// SetTrackerOffset.
	offset int
}

// Machine is the VRRP state machine of one instance (RFC 9568 section 6), pure: it
// starts no goroutines and never reads a clock. Every input carries the current time
// and returns the Actions the caller must carry out, appended to the out slice it
// passes (so a caller that reuses one allocates nothing). A Machine is not safe for
// concurrent use. Router runs Machines over a Clock and a Transport; tests and
// simulations drive them directly.
type Machine struct {
	cfg       Config
	advInt    uint16 // Advertisement_Interval, centiseconds
	mai       uint16 // Master_Adver_Interval, centiseconds
	state     State
	started   bool
	base      uint8
	prio      uint8 // effective priority
	gen       [2]uint64
	armed     [2]bool
	trackers  []tracker
	ifaceDown bool
	syncFault bool
	master    netip.Addr // address of the Master as last heard, or Primary when Master
	resigned  bool       // the last accepted advert had priority 0
	lowerSeen bool       // a lower-priority advert started the preempt delay
	lowerAt   time.Time
	authData  [AuthDataLen]byte
}

// NewMachine validates cfg and returns a Machine in StateInit. Call Start to run it.
func NewMachine(cfg *Config) (*Machine, error) {
	c := cfg.withDefaults()
	cs, err := c.validate()
	if err != nil {
		return nil, err
	}
	m := &Machine{cfg: c, advInt: cs, mai: cs, base: c.Priority}
	copy(m.authData[:], c.AuthPass)
	m.trackers = make([]tracker, len(c.Trackers))
	for i, t := range c.Trackers {
		m.trackers[i].up = !t.InitiallyDown
	}
	m.prio = m.effective()
	return m, nil
}

// Config returns a copy of the instance's configuration with defaults applied.
func (m *Machine) Config() Config {
	c := m.cfg
	c.Addrs = append([]netip.Addr(nil), c.Addrs...)
	c.Peers = append([]netip.Addr(nil), c.Peers...)
	c.Trackers = append([]TrackerConfig(nil), c.Trackers...)
	return c
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority: the base priority adjusted by trackers and
// clamped to 1..254, or 255 for the owner.
func (m *Machine) Priority() uint8 { return m.prio }

// BasePriority returns the configured priority, as last set by SetPriority.
func (m *Machine) BasePriority() uint8 { return m.base }

// MasterAdverInterval returns Master_Adver_Interval: the interval learned from the
// Master (version 3) or the configured one.
func (m *Machine) MasterAdverInterval() time.Duration { return cs(m.mai) }

// MasterAddr returns the primary address of the current Master as far as this
// instance knows: its own when Master, the last accepted advert's source when Backup.
func (m *Machine) MasterAddr() netip.Addr { return m.master }

// Accepting reports whether the instance should accept packets addressed to the
// virtual addresses: only as Master, and then only with AcceptMode or as owner.
func (m *Machine) Accepting() bool {
	return m.state == StateMaster && (m.cfg.AcceptMode || m.base == 255)
}

// TrackerUp reports whether tracker i is up.
func (m *Machine) TrackerUp(i int) bool { return m.trackers[i].up }

func cs(n uint16) time.Duration { return time.Duration(n) * 10 * time.Millisecond }

// SkewTime returns Skew_Time for priority p and Master_Adver_Interval mai:
// (256 - p) / 256 seconds for version 2, and ((256 - p) * mai) / 256 for version 3,
// computed exactly and truncated to whole microseconds (as keepalived does).
func SkewTime(version int, p uint8, mai time.Duration) time.Duration {
	var ns int64
	if version == 2 {
		ns = (256 - int64(p)) * int64(time.Second) / 256
	} else {
		ns = (256 - int64(p)) * int64(mai) / 256
	}
	return time.Duration(ns) / time.Microsecond * time.Microsecond
}

// MasterDownInterval returns 3 * mai + SkewTime(version, p, mai).
func MasterDownInterval(version int, p uint8, mai time.Duration) time.Duration {
	return 3*mai + SkewTime(version, p, mai)
}

func (m *Machine) skew() time.Duration { return SkewTime(m.cfg.Version, m.prio, cs(m.mai)) }
func (m *Machine) mdi() time.Duration {
	return MasterDownInterval(m.cfg.Version, m.prio, cs(m.mai))
}

// effective computes the effective priority from the base and the trackers.
func (m *Machine) effective() uint8 {
	if m.base == 255 {
		return 255
	}
	p := int(m.base)
	for i, t := range m.cfg.Trackers {
		up := m.trackers[i].up
		switch {
		case t.Weight > 0 && up, t.Weight < 0 && !up:
			p += t.Weight
		}
		p += m.trackers[i].offset
	}
	return uint8(min(max(p, 1), 254))
}

// faulted reports whether something holds the instance in FAULT.
func (m *Machine) faulted() bool { return m.syncFault || m.ownFault() }

// ownFault reports a fault of the instance's own: its interface or a weight-0 tracker.
func (m *Machine) ownFault() bool {
	if m.ifaceDown {
		return true
	}
	for i, t := range m.cfg.Trackers {
		if t.Weight == 0 && !m.trackers[i].up {
			return true
		}
	}
	return false
}

func (m *Machine) arm(out []Action, t Timer, d time.Duration) []Action {
	m.gen[t]++
	m.armed[t] = true
	return append(out, Action{Kind: ActArm, Timer: t, Gen: m.gen[t], After: d})
}

func (m *Machine) stop(out []Action, t Timer) []Action {
	if !m.armed[t] {
		return out
	}
	m.gen[t]++
	m.armed[t] = false
	return append(out, Action{Kind: ActStop, Timer: t, Gen: m.gen[t]})
}

func (m *Machine) send(out []Action, p uint8) []Action {
	return append(out, Action{Kind: ActSend, Priority: p})
}

func (m *Machine) change(out []Action, to State, r Reason) []Action {
	from := m.state
	m.state = to
	m.lowerSeen = false
	m.resigned = false
	return append(out, Action{Kind: ActState, From: from, To: to, Reason: r})
}

func (m *Machine) becomeMaster(out []Action, r Reason) []Action {
	out = m.stop(out, TimerMasterDown)
	out = m.send(out, m.prio)
	out = append(out, Action{Kind: ActAnnounce})
	out = m.arm(out, TimerAdver, cs(m.advInt))
	m.master = m.cfg.Primary
	return m.change(out, StateMaster, r)
}

func (m *Machine) becomeBackup(out []Action, r Reason) []Action {
	out = m.stop(out, TimerAdver)
	out = m.arm(out, TimerMasterDown, m.mdi())
	if m.state == StateMaster {
		m.master = netip.Addr{}
	}
	return m.change(out, StateBackup, r)
}

// initialize runs the Initialize state's rules (RFC 9568 6.4.1).
func (m *Machine) initialize(out []Action, r Reason) []Action {
	m.mai = m.advInt
	m.master = netip.Addr{}
	if m.faulted() {
		return m.change(out, StateFault, r)
	}
	if m.prio == 255 {
		if r == ReasonStartup {
			r = ReasonOwner
		}
		return m.becomeMaster(out, r)
	}
	if m.cfg.StartAsMaster && r == ReasonStartup {
		return m.becomeMaster(out, r)
	}
	return m.becomeBackup(out, r)
}

// Start leaves StateInit: to Master for the owner (or with StartAsMaster), else to
// Backup, or to Fault if a fault is already known. Starting twice does nothing.
func (m *Machine) Start(now time.Time, out []Action) []Action {
	if m.started {
		return out
	}
	m.started = true
	return m.initialize(out, ReasonStartup)
}

// Shutdown stops the instance: a Master sends an advert with priority 0 so that a
// Backup takes over after Skew_Time (RFC 9568 6.4.3). The machine returns to
// StateInit and can be started again.
func (m *Machine) Shutdown(now time.Time, out []Action) []Action {
	if !m.started {
		return out
	}
	m.started = false
	wasMaster := m.state == StateMaster
	out = m.stop(out, TimerAdver)
	out = m.stop(out, TimerMasterDown)
	if wasMaster {
		out = m.send(out, 0)
	}
	m.master = netip.Addr{}
	return m.change(out, StateInit, ReasonShutdown)
}

// Expire delivers the expiry of timer t armed with generation gen. An expiry whose
// generation is not the latest arming (a timer that was re-armed or stopped since) is
// ignored and returns out unchanged.
func (m *Machine) Expire(now time.Time, t Timer, gen uint64, out []Action) []Action {
	if t > TimerMasterDown || !m.armed[t] || gen != m.gen[t] {
		return out
	}
	m.armed[t] = false
	switch {
	case t == TimerAdver && m.state == StateMaster:
		out = m.send(out, m.prio)
		out = m.arm(out, TimerAdver, cs(m.advInt))
	case t == TimerMasterDown && m.state == StateBackup:
		r := ReasonTimeout
		if m.resigned {
			r = ReasonPeerResigned
		}
		out = m.becomeMaster(out, r)
	}
	return out
}

// Receive applies an advert (RFC 9568 6.4.2 and 6.4.3). It returns a DropReason when
// the rules discard the packet before it can affect the state (wrong TTL, VRID, auth,
// interval, sender); a packet that the state rules ignore (a lower priority seen by a
// preempting Backup) is not an error.
func (m *Machine) Receive(now time.Time, rx *Received, out []Action) ([]Action, error) {
	a := rx.Advert
	if rx.TTL != 255 {
		return out, DropTTL
	}
	if int(a.Version) != m.cfg.Version {
		return out, DropVersion
	}
	if rx.Src.Is4() != m.cfg.Primary.Is4() {
		return out, DropFamily
	}
	for _, ad := range a.Addrs {
		if ad.Is4() != m.cfg.Primary.Is4() {
			return out, DropAddrFamily
		}
	}
	if a.VRID != m.cfg.VRID {
		return out, DropVRID
	}
	if rx.Src == m.cfg.Primary {
		return out, DropOwnAdvert
	}
	if len(m.cfg.Peers) > 0 {
		known := false
		for _, p := range m.cfg.Peers {
			if p == rx.Src {
				known = true
				break
			}
		}
		if !known {
			return out, DropUnknownPeer
		}
	}
	if m.cfg.Version == 2 {
		want := uint8(AuthNone)
		if m.cfg.AuthPass != "" {
			want = AuthSimple
		}
		if a.AuthType != want {
			return out, DropAuthType
		}
		if want == AuthSimple && a.AuthData != m.authData {
			return out, DropAuthPassword
		}
		if a.Interval != m.advInt {
			return out, DropIntervalMismatch
		}
	}
	if a.Interval == 0 {
		return out, DropIntervalZero
	}
	switch m.state {
	case StateBackup:
		return m.backupReceive(now, rx, out), nil
	case StateMaster:
		return m.masterReceive(now, rx, out), nil
	}
	return out, DropNotRunning
}

func (m *Machine) preempts() bool { return !m.cfg.NoPreempt || m.prio == 255 }

func (m *Machine) backupReceive(now time.Time, rx *Received, out []Action) []Action {
	a := rx.Advert
	if a.Priority == 0 {
		m.resigned = true
		return m.arm(out, TimerMasterDown, m.skew())
	}
	accept := !m.preempts() || a.Priority >= m.prio
	if !accept && m.cfg.PreemptDelay > 0 {
		// keepalived's preempt_delay: keep following a lower-priority Master for a
		// while before taking over.
		if !m.lowerSeen {
			m.lowerSeen, m.lowerAt = true, now
		}
		accept = now.Sub(m.lowerAt) < m.cfg.PreemptDelay
	} else if accept {
		m.lowerSeen = false
	}
	if !accept {
		return out
	}
	m.resigned = false
	m.master = rx.Src
	if m.cfg.Version == 3 {
		m.mai = a.Interval
	}
	return m.arm(out, TimerMasterDown, m.mdi())
}

func (m *Machine) masterReceive(now time.Time, rx *Received, out []Action) []Action {
	a := rx.Advert
	if a.Priority == 0 {
		out = m.send(out, m.prio)
		return m.arm(out, TimerAdver, cs(m.advInt))
	}
	if a.Priority > m.prio || (a.Priority == m.prio && rx.Src.Compare(m.cfg.Primary) > 0) {
		if m.cfg.Version == 3 {
			m.mai = a.Interval
		}
		out = m.becomeBackup(out, ReasonPreempted)
		m.master = rx.Src
		return out
	}
	if !m.cfg.NoLowerPriorityAdvert {
		out = m.send(out, m.prio)
	}
	return append(out, Action{Kind: ActLowerPriority, Priority: a.Priority})
}

// SetPriority changes the base priority at run time (1..255; 0 is ignored). A Master
// advertises the new effective priority at once.
func (m *Machine) SetPriority(now time.Time, p uint8, out []Action) []Action {
	if p == 0 {
		return out
	}
	m.base = p
	m.cfg.Priority = p
	return m.repriority(out)
}

func (m *Machine) repriority(out []Action) []Action {
	p := m.effective()
	if p == m.prio {
		return out
	}
	m.prio = p
	if m.started && m.state == StateMaster {
		out = m.send(out, p)
	}
	return out
}

// SetAddresses replaces the virtual addresses at run time. A Master advertises and
// announces them at once.
func (m *Machine) SetAddresses(now time.Time, addrs []netip.Addr, out []Action) ([]Action, error) {
	c := m.cfg
	c.Addrs = addrs
	if _, err := c.validate(); err != nil {
		return out, err
	}
	m.cfg.Addrs = append(m.cfg.Addrs[:0:0], addrs...)
	if m.started && m.state == StateMaster {
		out = m.send(out, m.prio)
		out = append(out, Action{Kind: ActAnnounce})
	}
	return out, nil
}

// Track feeds one result for tracker i (true is good). Rise and fall decide when the
// tracker changes; a change adjusts the priority or enters or leaves FAULT. An
// out-of-range i is ignored.
func (m *Machine) Track(now time.Time, i int, ok bool, out []Action) []Action {
	if i < 0 || i >= len(m.trackers) {
		return out
	}
	t := &m.trackers[i]
	if ok == t.up {
		t.count = 0
		return out
	}
	t.count++
	need := m.cfg.Trackers[i].Fall
	if ok {
		need = m.cfg.Trackers[i].Rise
	}
	if t.count < need {
		return out
	}
	t.up, t.count = ok, 0
	return m.refault(out, ReasonTracker)
}

// SetInterfaceUp reports the instance's interface state; down means FAULT.
func (m *Machine) SetInterfaceUp(now time.Time, up bool, out []Action) []Action {
	m.ifaceDown = !up
	return m.refault(out, ReasonInterface)
}

// SetSyncFault holds the instance in FAULT (true) or releases it (false) on behalf of
// its sync group.
func (m *Machine) SetSyncFault(now time.Time, fault bool, out []Action) []Action {
	m.syncFault = fault
	return m.refault(out, ReasonSync)
}

// refault moves into or out of FAULT after a change of trackers, interface or sync
// group, and applies any priority change.
func (m *Machine) refault(out []Action, r Reason) []Action {
	f := m.faulted()
	if m.started && f && m.state != StateFault {
		wasMaster := m.state == StateMaster
		out = m.stop(out, TimerAdver)
		out = m.stop(out, TimerMasterDown)
		if wasMaster && !m.ifaceDown {
			out = m.send(out, 0)
		}
		m.master = netip.Addr{}
		out = m.change(out, StateFault, r)
	}
	old := m.prio
	m.prio = m.effective()
	if m.started && !f && m.state == StateFault {
		return m.initialize(out, r)
	}
	if m.started && m.state == StateMaster && m.prio != old {
		// Let Backups see the new priority at once.
		out = m.send(out, m.prio)
	}
	return out
}

// SyncTo moves the instance to a sync group's new state: Master (from Backup) or
// Backup (from Master). Other combinations do nothing.
func (m *Machine) SyncTo(now time.Time, s State, out []Action) []Action {
	switch {
	case s == StateMaster && m.state == StateBackup:
		return m.becomeMaster(out, ReasonSync)
	case s == StateBackup && m.state == StateMaster:
		return m.becomeBackup(out, ReasonSync)
	}
	return out
}

// Advert fills a with the advert to send at priority p, reusing a.Addrs's capacity.
func (m *Machine) Advert(p uint8, a *Advert) {
	a.Version = uint8(m.cfg.Version)
	a.Type = TypeAdvertisement
	a.VRID = m.cfg.VRID
	a.Priority = p
	a.Interval = m.advInt
	a.AuthType = AuthNone
	a.AuthData = [AuthDataLen]byte{}
	if m.cfg.Version == 2 && m.cfg.AuthPass != "" {
		a.AuthType = AuthSimple
		a.AuthData = m.authData
	}
	a.Form = m.cfg.Checksum
	a.Addrs = append(a.Addrs[:0], m.cfg.Addrs...)
}
