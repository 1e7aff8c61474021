package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Clock is the time source a Router runs on. SystemClock is the real one; tests pass a
// fake (see vrrptest) or run the real one inside testing/synctest.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d, unless stopped first.
	AfterFunc(d time.Duration, f func()) Stopper
}

// Stopper stops a timer that Clock.AfterFunc started. *time.Timer is one. Stop
// prevents the timer from firing and reports whether it did so.
//
// Stopper is an alias of the unnamed interface type so that a Clock written for
// vrrp is also a health.Clock (whose Stopper is the same alias) and one fake clock
// can drive both packages.
type Stopper = interface{ Stop() bool }

type systemClock struct{}

func (systemClock) Now() time.Time                              { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) Stopper { return time.AfterFunc(d, f) }

// SystemClock returns the Clock of package time.
func SystemClock() Clock { return systemClock{} }

// PacketInfo describes a received packet: the IP header fields the protocol checks.
type PacketInfo struct {
	// Src and Dst are the IP source and destination.
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or IPv6 hop limit.
	TTL uint8
}

// Transport carries VRRP messages (the IP payload, protocol 112) for a Router. The
// Linux implementation is ListenIP; vrrptest has an in-memory one.
type Transport interface {
	// ReadFrom reads one VRRP message into b. It blocks until a packet arrives or the
	// transport is closed, when it returns net.ErrClosed (or an error wrapping it).
	ReadFrom(b []byte) (n int, info PacketInfo, err error)
	// WriteTo sends the message b from src to dst with TTL / hop limit 255.
	WriteTo(b []byte, src, dst netip.Addr) error
	// Close stops the transport and unblocks ReadFrom.
	Close() error
}

// RouterConfig configures a Router.
type RouterConfig struct {
	// Instances are the VRRP instances to run, with distinct VRIDs. Required.
	Instances []Config
	// Transport carries the adverts; the Router closes it when Run returns. Required.
	Transport Transport
	// Clock is the time source. Nil means SystemClock().
	Clock Clock
	// EventBuffer is the capacity of the Events channel. When it is full the oldest
	// event is dropped and counted in Counters.EventsDropped, so a slow consumer
	// never stalls the protocol. Zero means 64.
	EventBuffer int
	// OnAnnounce is called when an instance becomes Master or its addresses change
	// while Master: the moment to add the addresses and send gratuitous ARP or
	// unsolicited neighbour advertisements. It runs with the Router locked and must
	// not block or call the Router. Nil means no callback.
	OnAnnounce func(instance string, addrs []netip.Addr)
	// OnStateChange is called after any instance changes state, also when the
	// change's Event is dropped from a full Events channel: the signal for a consumer
	// that converges on state to read Snapshot again, so that no change can be
	// missed. It runs with the Router locked and must not block or call the Router
	// (mark something dirty and return). Nil means no callback.
	OnStateChange func()
	// OnLowerPriorityAdvert is called when an instance, as Master, receives an advert
	// of lower priority (or of its priority from a lower address) and stays Master
	// (Machine's ActLowerPriority): the moment keepalived sends its
	// garp_lower_prio_repeat gratuitous ARPs, as a lower priority peer may have taken
	// the addresses in a split brain. It is called without allocating, with the
	// Router locked, and must not block or call the Router. Nil means no callback.
	OnLowerPriorityAdvert func(instance string)
}

// PacketHandler is implemented by a Transport that can hand each packet to a function
// in its own goroutine instead of returning it from ReadFrom, as a Mux endpoint does.
// Router.Run uses it when its Transport has it: a packet then costs neither a copy nor
// a goroutine wake-up, which at 10,000 adverts a second was most of a backup's CPU.
type PacketHandler interface {
	// SetPacketHandler makes the transport call h for every packet, with b valid only
	// during the call, instead of returning packets from ReadFrom, which then only
	// reports the transport's end. It reports whether the transport does so. h does
	// not block for long (the Router takes its lock and sends at most an advert).
	SetPacketHandler(h func(b []byte, info PacketInfo)) bool
}

// Event reports a state change of one instance.
type Event struct {
	// Time is the Clock's time of the change.
	Time time.Time
	// Instance is the instance's Name.
	Instance string
	// VRID is the instance's virtual router ID.
	VRID uint8
	// From and To are the old and new state.
	From, To State
	// Reason says why the state changed.
	Reason Reason
	// Priority is the effective priority at the change.
	Priority uint8
}

// Counters are a Router's packet and event counts since it was created.
type Counters struct {
	// RxPackets counts packets read from the transport, valid or not.
	RxPackets uint64
	// RxAdverts counts adverts that passed every check and reached the state rules.
	RxAdverts uint64
	// TxPackets counts adverts sent, TxErrors sends that failed.
	TxPackets, TxErrors uint64
	// Drops counts discarded packets by DropReason.
	Drops [NumDropReasons]uint64
	// StateChanges counts state changes of all instances.
	StateChanges uint64
	// EventsDropped counts events discarded because the Events channel was full.
	EventsDropped uint64
}

// Status is a snapshot of one instance, for status dumps.
type Status struct {
	// Name is the instance's name.
	Name string
	// VRID is the virtual router ID.
	VRID uint8
	// Version is the VRRP version, 2 or 3.
	Version int
	// State is the current state.
	State State
	// Priority is the effective priority: base plus trackers, clamped.
	Priority uint8
	// BasePriority is the configured priority before trackers.
	BasePriority uint8
	// MasterAddr is the current Master's address as known, or invalid.
	MasterAddr netip.Addr
	// MasterAdverInterval is the interval learned from the Master (v3) or configured.
	MasterAdverInterval time.Duration
	// Addrs are the virtual addresses.
	Addrs []netip.Addr
	// Trackers says for each configured tracker whether it is up.
	Trackers []bool
	// Accepting reports whether packets for the addresses should be accepted.
	Accepting bool
}

// ErrRouterClosed is returned when Run is called twice, or a method is called after
// Run has returned.
var ErrRouterClosed = errors.New("vrrp: router closed")

// ErrUnknownInstance is returned for an instance name the Router does not have.
var ErrUnknownInstance = errors.New("vrrp: unknown instance")

type instance struct {
	m      *Machine
	timers [2]Stopper
	group  int // index into Router.groups, or -1
	// The receive path re-arms the Master_Down_Timer on every advert. When the Clock's
	// Stoppers can Reset (as *time.Timer can), each timer is created once with the
	// callback in fires and reset afterwards, so re-arming allocates nothing. gens holds
	// the latest arming's generation for Machine.Expire; armed says that arming has not
	// fired yet; stale counts expiries of earlier armings that were already on their
	// way (their goroutine waiting for Router.mu) when the timer was reset or stopped,
	// which fire drops. All are guarded by Router.mu.
	fires [2]func()
	gens  [2]uint64
	armed [2]bool
	stale [2]int
}

// resetter is a Stopper that can be rescheduled, as *time.Timer can.
type resetter interface {
	Reset(d time.Duration) bool
}

// Router runs VRRP instances over a Transport and a Clock: it reads and validates
// adverts, feeds the Machines, arms their timers, sends their adverts and reports
// their state changes. All methods are safe for concurrent use.
type Router struct {
	tr      Transport
	clock   Clock
	events  chan Event
	onAnn   func(string, []netip.Addr)
	onLower func(string) // RouterConfig.OnLowerPriorityAdvert
	// onState is RouterConfig.OnStateChange.
	onState func()

	mu       sync.Mutex
	insts    []*instance
	byVRID   [256]int16 // 1 + index into insts, 0 for none
	byName   map[string]int
	groups   [][]int
	counters Counters
	running  bool
	closed   bool
	acts     []Action
	tx       Advert
	txBuf    []byte
	rx       Advert        // the received advert being handled
	started  chan struct{} // closed by Run once every instance has started
	noReset  bool          // the Clock's Stoppers have no Reset
}

// NewRouter validates cfg and returns a Router that does nothing until Run.
func NewRouter(cfg *RouterConfig) (*Router, error) {
	if cfg == nil || cfg.Transport == nil {
		return nil, fmt.Errorf("%w: router needs a transport", ErrInvalidConfig)
	}
	if len(cfg.Instances) == 0 {
		return nil, fmt.Errorf("%w: router needs at least one instance", ErrInvalidConfig)
	}
	r := &Router{
		tr:      cfg.Transport,
		clock:   cfg.Clock,
		onAnn:   cfg.OnAnnounce,
		onLower: cfg.OnLowerPriorityAdvert,
		onState: cfg.OnStateChange,
		byName:  make(map[string]int),
		txBuf:   make([]byte, 0, 1500),
		rx:      Advert{Addrs: make([]netip.Addr, 0, 16)},
		started: make(chan struct{}),
	}
	if r.clock == nil {
		r.clock = SystemClock()
	}
	n := cfg.EventBuffer
	if n <= 0 {
		n = 64
	}
	r.events = make(chan Event, n)
	groupIdx := map[string]int{}
	for i := range cfg.Instances {
		m, err := NewMachine(&cfg.Instances[i])
		if err != nil {
			return nil, err
		}
		c := m.Config()
		if r.byVRID[c.VRID] != 0 {
			return nil, fmt.Errorf("%w: two instances with VRID %d on one transport", ErrInvalidConfig, c.VRID)
		}
		if _, dup := r.byName[c.Name]; dup {
			return nil, fmt.Errorf("%w: two instances named %q", ErrInvalidConfig, c.Name)
		}
		in := &instance{m: m, group: -1}
		idx := len(r.insts)
		in.fires[TimerAdver] = func() { r.fire(idx, TimerAdver) }
		in.fires[TimerMasterDown] = func() { r.fire(idx, TimerMasterDown) }
		if c.SyncGroup != "" {
			g, ok := groupIdx[c.SyncGroup]
			if !ok {
				g = len(r.groups)
				groupIdx[c.SyncGroup] = g
				r.groups = append(r.groups, nil)
			}
			r.groups[g] = append(r.groups[g], len(r.insts))
			in.group = g
		}
		r.byVRID[c.VRID] = int16(len(r.insts) + 1)
		r.byName[c.Name] = len(r.insts)
		r.insts = append(r.insts, in)
	}
	return r, nil
}

// Events returns the channel of state changes. It is closed when Run returns. Events
// are dropped (oldest first, counted) rather than block the protocol.
func (r *Router) Events() <-chan Event { return r.events }

// Started returns a channel that Run closes once it has started every instance (armed
// their first timers, and sent the owner's first advert). A test with a fake Clock
// waits for it before advancing time, so no timer is armed behind its back. If Run is
// never called, or returns ErrRouterClosed, the channel stays open.
func (r *Router) Started() <-chan struct{} { return r.started }

// Counters returns a copy of the counters.
func (r *Router) Counters() Counters {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counters
}

// Snapshot returns the status of every instance, in configuration order.
func (r *Router) Snapshot() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Status, len(r.insts))
	for i, in := range r.insts {
		m := in.m
		c := m.Config()
		st := Status{
			Name: c.Name, VRID: c.VRID, Version: c.Version, State: m.State(),
			Priority: m.Priority(), BasePriority: m.BasePriority(), MasterAddr: m.MasterAddr(),
			MasterAdverInterval: m.MasterAdverInterval(), Addrs: c.Addrs,
			Accepting: m.Accepting(),
		}
		for j := range c.Trackers {
			st.Trackers = append(st.Trackers, m.TrackerUp(j))
		}
		out[i] = st
	}
	return out
}

// Run starts every instance and runs them until ctx is done, then shuts them down (a
// Master sends priority 0), closes the transport and the Events channel, and returns
// nil. It returns early with an error if the transport fails.
func (r *Router) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running || r.closed {
		r.mu.Unlock()
		return ErrRouterClosed
	}
	r.running = true
	now := r.clock.Now()
	for i, in := range r.insts {
		r.exec(i, in.m.Start(now, r.acts[:0]))
	}
	if ph, ok := r.tr.(PacketHandler); ok {
		// Packets come to handlePacket in the transport's goroutine; readLoop then
		// only waits for the transport's end.
		ph.SetPacketHandler(r.handlePacket)
	}
	r.mu.Unlock()
	close(r.started)

	readErr := make(chan error, 1)
	go func() { readErr <- r.readLoop() }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-readErr:
		readErr <- nil
	}

	r.mu.Lock()
	now = r.clock.Now()
	for i, in := range r.insts {
		r.exec(i, in.m.Shutdown(now, r.acts[:0]))
		for t := range in.timers {
			r.stopTimer(in, Timer(t))
		}
	}
	r.closed = true
	close(r.events)
	r.mu.Unlock()
	if cerr := r.tr.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("vrrp: closing transport: %w", cerr)
	}
	<-readErr
	return err
}

func (r *Router) readLoop() error {
	buf := make([]byte, 1500)
	for {
		n, info, err := r.tr.ReadFrom(buf)
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil
		}
		if err != nil {
			r.mu.Unlock()
			return fmt.Errorf("vrrp: reading adverts: %w", err)
		}
		r.receive(buf[:n], info)
		r.mu.Unlock()
	}
}

// handlePacket takes one packet from a PacketHandler transport, in its goroutine.
func (r *Router) handlePacket(b []byte, info PacketInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.receive(b, info)
	}
}

// receive checks one packet and feeds it to its instance. r.mu is held.
func (r *Router) receive(b []byte, info PacketInfo) {
	a := &r.rx
	r.counters.RxPackets++
	if perr := Parse(b, info.Src, info.Dst, a); perr != nil {
		r.counters.Drops[ReasonOf(perr)]++
		return
	}
	idx := r.byVRID[a.VRID]
	if idx == 0 {
		r.counters.Drops[DropVRID]++
		return
	}
	rx := Received{Src: info.Src, Dst: info.Dst, TTL: info.TTL, Advert: a}
	acts, rerr := r.insts[idx-1].m.Receive(r.clock.Now(), &rx, r.acts[:0])
	if rerr != nil {
		r.counters.Drops[ReasonOf(rerr)]++
	} else {
		r.counters.RxAdverts++
	}
	r.exec(int(idx-1), acts)
}

// exec carries out a Machine's actions. r.mu is held.
func (r *Router) exec(i int, acts []Action) {
	in := r.insts[i]
	var changed []Action
	for _, a := range acts {
		switch a.Kind {
		case ActSend:
			r.send(in.m, a.Priority)
		case ActArm:
			r.armTimer(in, i, a)
		case ActStop:
			r.stopTimer(in, a.Timer)
		case ActLowerPriority:
			if r.onLower != nil {
				r.onLower(in.m.cfg.Name)
			}
		case ActAnnounce:
			if r.onAnn != nil {
				c := in.m.Config()
				r.onAnn(c.Name, c.Addrs)
			}
		case ActState:
			r.counters.StateChanges++
			c := &in.m.cfg
			r.emit(Event{Time: r.clock.Now(), Instance: c.Name, VRID: c.VRID, From: a.From, To: a.To, Reason: a.Reason, Priority: in.m.Priority()})
			if r.onState != nil {
				r.onState()
			}
			if a.Reason != ReasonSync && in.group >= 0 {
				changed = append(changed, a)
			}
		}
	}
	r.acts = acts[:0]
	for _, a := range changed {
		r.syncGroup(i, a)
	}
}

// syncGroup moves the other members of instance i's sync group after its change a.
func (r *Router) syncGroup(i int, a Action) {
	now := r.clock.Now()
	members := r.groups[r.insts[i].group]
	// FAULT spreads to the whole group and is released when no member has a fault of
	// its own.
	own := false
	for _, j := range members {
		if r.insts[j].m.ownFault() {
			own = true
		}
	}
	for _, j := range members {
		if j == i {
			continue
		}
		m := r.insts[j].m
		if want := own && !m.ownFault(); want != m.syncFault {
			r.exec(j, m.SetSyncFault(now, want, r.acts[:0]))
		}
		if a.To == StateMaster || a.To == StateBackup {
			r.exec(j, m.SyncTo(now, a.To, r.acts[:0]))
		}
	}
}

func (r *Router) emit(e Event) {
	if r.closed {
		return
	}
	select {
	case r.events <- e:
		return
	default:
	}
	select {
	case <-r.events:
		r.counters.EventsDropped++
	default:
	}
	select {
	case r.events <- e:
	default:
		r.counters.EventsDropped++
	}
}

func (r *Router) send(m *Machine, p uint8) {
	m.Advert(p, &r.tx)
	c := &m.cfg
	if len(c.Peers) == 0 {
		dst := MulticastIPv4
		if !c.Primary.Is4() {
			dst = MulticastIPv6
		}
		r.sendTo(c.Primary, dst)
		return
	}
	for _, dst := range c.Peers {
		r.sendTo(c.Primary, dst)
	}
}

func (r *Router) sendTo(src, dst netip.Addr) {
	b, err := r.tx.Append(r.txBuf[:0], src, dst)
	if err == nil {
		r.txBuf = b[:0]
		err = r.tr.WriteTo(b, src, dst)
	}
	if err != nil {
		r.counters.TxErrors++
		return
	}
	r.counters.TxPackets++
}

// armTimer (re)arms timer a.Timer of instance i. r.mu is held.
func (r *Router) armTimer(in *instance, i int, a Action) {
	t := a.Timer
	s := in.timers[t]
	if rs, ok := s.(resetter); ok {
		// An expiry that has already left the timer but not yet run fire belongs to
		// the arming being replaced: count it so that fire drops it.
		if !rs.Reset(a.After) && in.armed[t] {
			in.stale[t]++
		}
		in.gens[t], in.armed[t] = a.Gen, true
		return
	}
	if s != nil {
		s.Stop()
	}
	in.gens[t], in.armed[t] = a.Gen, true
	if !r.noReset {
		s = r.clock.AfterFunc(a.After, in.fires[t])
		if _, ok := s.(resetter); ok {
			in.timers[t] = s
			return
		}
		// This Clock's timers cannot be reset; learn it once.
		s.Stop()
		r.noReset = true
	}
	// Every arming gets a callback that carries its own generation, and Machine.Expire
	// drops the stale ones.
	gen := a.Gen
	in.timers[t] = r.clock.AfterFunc(a.After, func() { r.fireGen(i, t, gen) })
}

// stopTimer stops timer t of an instance. r.mu is held.
func (r *Router) stopTimer(in *instance, t Timer) {
	s := in.timers[t]
	if s == nil {
		return
	}
	if _, ok := s.(resetter); ok {
		// Keep the timer for the next Reset.
		if !s.Stop() && in.armed[t] {
			in.stale[t]++
		}
		in.armed[t] = false
		return
	}
	s.Stop()
	in.timers[t] = nil
	in.armed[t] = false
}

// fire runs for an expiry of a reusable timer.
func (r *Router) fire(i int, t Timer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	in := r.insts[i]
	if in.stale[t] > 0 {
		in.stale[t]--
		return
	}
	if !in.armed[t] {
		return
	}
	in.armed[t] = false
	r.exec(i, in.m.Expire(r.clock.Now(), t, in.gens[t], r.acts[:0]))
}

// fireGen runs for an expiry of a one-shot timer armed with generation gen.
func (r *Router) fireGen(i int, t Timer, gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if in := r.insts[i]; in.gens[t] == gen {
		in.armed[t] = false
	}
	r.exec(i, r.insts[i].m.Expire(r.clock.Now(), t, gen, r.acts[:0]))
}

// do runs f on the named instance's Machine with the Router locked and executes the
// actions it returns.
func (r *Router) do(name string, f func(m *Machine, now time.Time, out []Action) ([]Action, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrRouterClosed
	}
	i, ok := r.byName[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownInstance, name)
	}
	acts, err := f(r.insts[i].m, r.clock.Now(), r.acts[:0])
	if !r.running {
		// Before Run nothing is started; the Machine only records the change.
		r.acts = acts[:0]
		return err
	}
	r.exec(i, acts)
	if err == nil && r.insts[i].group >= 0 {
		r.syncGroup(i, Action{})
	}
	return err
}

// SetPriority changes an instance's base priority at run time.
func (r *Router) SetPriority(instance string, p uint8) error {
	if p == 0 {
		return fmt.Errorf("%w: priority 0 is reserved for resigning", ErrInvalidConfig)
	}
	return r.do(instance, func(m *Machine, now time.Time, out []Action) ([]Action, error) {
		return m.SetPriority(now, p, out), nil
	})
}

// SetAddresses replaces an instance's virtual addresses at run time.
func (r *Router) SetAddresses(instance string, addrs []netip.Addr) error {
	return r.do(instance, func(m *Machine, now time.Time, out []Action) ([]Action, error) {
		return m.SetAddresses(now, addrs, out)
	})
}

// Track feeds one result (true is good) to tracker i of an instance. The tracker
// counts results itself: it goes down after Fall consecutive bad results and up after
// Rise good ones (TrackerConfig). Results that were already counted elsewhere go
// through both counts: a health check with a fall of 3 feeding a tracker with Fall 2
// needs 3 failed probes and then 2 bad Track calls before the priority changes. Give
// trackers fed with health transitions (health.Transition.Up) Rise and Fall 1, so
// that the check's own rise/fall alone decides.
func (r *Router) Track(instance string, i int, ok bool) error {
	return r.do(instance, func(m *Machine, now time.Time, out []Action) ([]Action, error) {
		if i < 0 || i >= len(m.trackers) {
			return out, fmt.Errorf("vrrp: %s has no tracker %d", instance, i)
		}
		return m.Track(now, i, ok, out), nil
	})
}

// SetInterfaceUp reports the state of an instance's interface; down means FAULT.
func (r *Router) SetInterfaceUp(instance string, up bool) error {
	return r.do(instance, func(m *Machine, now time.Time, out []Action) ([]Action, error) {
		return m.SetInterfaceUp(now, up, out), nil
	})
}
