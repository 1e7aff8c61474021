package vrrptest

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/lvskit/lvskit/vrrp"
)

// SegmentConfig configures a simulated segment. The zero value is a perfect network
// (no delay, no loss) started at a fixed time with seed 0.
type SegmentConfig struct {
	// Seed makes every random choice (loss, delay, jitter, duplication, reordering)
	// reproducible: the same seed and the same calls give the same run.
	Seed uint64
	// Start is the simulated time at the beginning. Zero means 2026-01-01 UTC.
	Start time.Time
	// Impairments are the initial network conditions; change them with
	// Segment.SetImpairments.
	Impairments Impairments
}

// Impairments are the conditions every delivered copy of a packet goes through.
type Impairments struct {
	// Delay is the base one-way delay of each packet. Zero means instant delivery
	// (still after the sender's own actions).
	Delay time.Duration
	// Jitter adds a uniformly random extra delay in [0, Jitter) per copy.
	Jitter time.Duration
	// Loss is the probability, 0..1, that a copy is lost.
	Loss float64
	// Duplicate is the probability, 0..1, that a copy is delivered twice.
	Duplicate float64
	// Reorder is the probability, 0..1, that a copy is held back by up to
	// 2*Delay+Jitter extra, so that later packets overtake it.
	Reorder float64
}

// Segment is a simulated Ethernet segment that runs vrrp.Machines in simulated time,
// single-threaded and deterministically from a seed. Packets go through the real codec
// (Append, then Parse at each receiver). Nothing happens between calls: Run advances
// time and processes the timers and deliveries that fall due.
type Segment struct {
	rng   *rand.Rand
	now   time.Time
	imp   Impairments
	q     eventQueue
	seq   uint64
	nodes []*Node
	part  []int // partition group per node; equal groups can talk
	acts  []vrrp.Action
	adv   vrrp.Advert
	rxAdv vrrp.Advert

	// Trace, when set, is called with a line for every state change, for debugging.
	Trace func(line string)
	// Sent counts adverts sent; Delivered counts copies the receivers accepted.
	Sent, Delivered uint64
	// Dropped counts copies the receivers dropped, by reason.
	Dropped [vrrp.NumDropReasons]uint64
}

// Node is one router on a Segment.
type Node struct {
	seg     *Segment
	idx     int
	m       *vrrp.Machine
	cfg     vrrp.Config // with defaults; the fields Segment uses do not change
	running bool
	epoch   uint64 // bumped by Crash, so the old Machine's timers are ignored
	// Transitions lists the node's state changes in order.
	Transitions []Transition
}

// Transition is one state change of a Node.
type Transition struct {
	// Time is the simulated time of the change.
	Time time.Time
	// From and To are the old and new state.
	From, To vrrp.State
	// Reason says why.
	Reason vrrp.Reason
}

type event struct {
	at    time.Time
	seq   uint64
	node  int
	timer vrrp.Timer
	gen   uint64
	epoch uint64
	pkt   []byte // nil for a timer
	src   netip.Addr
	dst   netip.Addr
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// NewSegment returns an empty segment.
func NewSegment(cfg SegmentConfig) *Segment {
	start := cfg.Start
	if start.IsZero() {
		start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &Segment{
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		now: start,
		imp: cfg.Impairments,
	}
}

// Now returns the simulated time.
func (s *Segment) Now() time.Time { return s.now }

// SetImpairments changes the network conditions for packets sent from now on.
func (s *Segment) SetImpairments(imp Impairments) { s.imp = imp }

// Add creates a node running a Machine with cfg. It is not started: call Start.
func (s *Segment) Add(cfg *vrrp.Config) (*Node, error) {
	m, err := vrrp.NewMachine(cfg)
	if err != nil {
		return nil, err
	}
	n := &Node{seg: s, idx: len(s.nodes), m: m, cfg: m.Config()}
	s.nodes = append(s.nodes, n)
	s.part = append(s.part, 0)
	return n, nil
}

// Nodes returns the nodes in the order they were added.
func (s *Segment) Nodes() []*Node { return s.nodes }

// StartAll starts every node that is not running.
func (s *Segment) StartAll() {
	for _, n := range s.nodes {
		n.Start()
	}
}

// Partition splits the segment: nodes in the same group hear each other, nodes in
// different groups do not, and a node in no group hears nobody. Packets already in
// flight are still delivered.
func (s *Segment) Partition(groups ...[]*Node) {
	for i := range s.part {
		s.part[i] = -1 - i // alone
	}
	for g, ns := range groups {
		for _, n := range ns {
			s.part[n.idx] = g
		}
	}
}

// Heal joins every node into one partition again.
func (s *Segment) Heal() {
	for i := range s.part {
		s.part[i] = 0
	}
}

// Run advances simulated time by d, processing everything that falls due, in time
// order (ties in the order they were scheduled).
func (s *Segment) Run(d time.Duration) {
	end := s.now.Add(d)
	for len(s.q) > 0 && !s.q[0].at.After(end) {
		e := heap.Pop(&s.q).(event)
		s.now = e.at
		n := s.nodes[e.node]
		if !n.running {
			continue
		}
		if e.pkt == nil {
			if e.epoch != n.epoch {
				continue
			}
			n.apply(n.m.Expire(s.now, e.timer, e.gen, s.acts[:0]))
			continue
		}
		if err := vrrp.Parse(e.pkt, e.src, e.dst, &s.rxAdv); err != nil {
			s.Dropped[vrrp.ReasonOf(err)]++
			continue
		}
		rx := vrrp.Received{Src: e.src, Dst: e.dst, TTL: 255, Advert: &s.rxAdv}
		acts, err := n.m.Receive(s.now, &rx, s.acts[:0])
		if err != nil {
			s.Dropped[vrrp.ReasonOf(err)]++
		} else {
			s.Delivered++
		}
		n.apply(acts)
	}
	s.now = end
}

func (s *Segment) push(e event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.q, e)
}

// send delivers an advert from node n to every node it can reach now.
func (s *Segment) send(n *Node, prio uint8) {
	s.Sent++
	cfg := &n.cfg
	n.m.Advert(prio, &s.adv)
	dsts := cfg.Peers
	multicast := len(dsts) == 0
	if multicast {
		g := vrrp.MulticastIPv4
		if !cfg.Primary.Is4() {
			g = vrrp.MulticastIPv6
		}
		dsts = []netip.Addr{g}
	}
	for _, dst := range dsts {
		pkt, err := s.adv.Append(nil, cfg.Primary, dst)
		if err != nil {
			panic(fmt.Sprintf("vrrptest: encoding an advert of %s: %v", cfg.Name, err))
		}
		for _, r := range s.nodes {
			if r == n || !r.running || s.part[r.idx] != s.part[n.idx] {
				continue
			}
			if !multicast && r.cfg.Primary != dst {
				continue
			}
			copies := 1
			if s.imp.Duplicate > 0 && s.rng.Float64() < s.imp.Duplicate {
				copies = 2
			}
			for range copies {
				if s.imp.Loss > 0 && s.rng.Float64() < s.imp.Loss {
					continue
				}
				d := s.imp.Delay
				if s.imp.Jitter > 0 {
					d += time.Duration(s.rng.Int64N(int64(s.imp.Jitter)))
				}
				if s.imp.Reorder > 0 && s.rng.Float64() < s.imp.Reorder {
					d += time.Duration(s.rng.Int64N(int64(2*s.imp.Delay+s.imp.Jitter) + 1))
				}
				s.push(event{at: s.now.Add(d), node: r.idx, pkt: pkt, src: cfg.Primary, dst: dst})
			}
		}
	}
}

// apply carries out a Machine's actions for node n.
func (n *Node) apply(acts []vrrp.Action) {
	s := n.seg
	for _, a := range acts {
		switch a.Kind {
		case vrrp.ActSend:
			s.send(n, a.Priority)
		case vrrp.ActArm:
			s.push(event{at: s.now.Add(a.After), node: n.idx, timer: a.Timer, gen: a.Gen, epoch: n.epoch})
		case vrrp.ActState:
			n.Transitions = append(n.Transitions, Transition{Time: s.now, From: a.From, To: a.To, Reason: a.Reason})
			if s.Trace != nil {
				s.Trace(fmt.Sprintf("%v %s prio %d: %v -> %v (%v)", s.now.Format("15:04:05.000000"), n.Name(), n.m.Priority(), a.From, a.To, a.Reason))
			}
		}
	}
	s.acts = acts[:0]
}

// Machine returns the node's state machine, for inspection.
func (n *Node) Machine() *vrrp.Machine { return n.m }

// Name returns the instance name.
func (n *Node) Name() string { return n.cfg.Name }

// Addr returns the node's primary address.
func (n *Node) Addr() netip.Addr { return n.cfg.Primary }

// State returns the node's state.
func (n *Node) State() vrrp.State { return n.m.State() }

// Running reports whether the node is started.
func (n *Node) Running() bool { return n.running }

// Start starts the node's Machine.
func (n *Node) Start() {
	if n.running {
		return
	}
	n.running = true
	n.apply(n.m.Start(n.seg.now, n.seg.acts[:0]))
}

// Stop shuts the node down gracefully: a Master sends priority 0.
func (n *Node) Stop() {
	if !n.running {
		return
	}
	n.apply(n.m.Shutdown(n.seg.now, n.seg.acts[:0]))
	n.running = false
}

// Crash stops the node without a word, like SIGKILL: no priority-0 advert.
func (n *Node) Crash() {
	n.running = false
	n.epoch++
	n.m = mustRestartable(n.m)
}

func mustRestartable(m *vrrp.Machine) *vrrp.Machine {
	c := m.Config()
	nm, err := vrrp.NewMachine(&c)
	if err != nil {
		panic("vrrptest: " + err.Error())
	}
	return nm
}

// SetPriority changes the node's base priority.
func (n *Node) SetPriority(p uint8) { n.apply(n.m.SetPriority(n.seg.now, p, n.seg.acts[:0])) }

// Track feeds tracker i of the node.
func (n *Node) Track(i int, ok bool) { n.apply(n.m.Track(n.seg.now, i, ok, n.seg.acts[:0])) }

// SetInterfaceUp sets the node's interface state.
func (n *Node) SetInterfaceUp(up bool) {
	n.apply(n.m.SetInterfaceUp(n.seg.now, up, n.seg.acts[:0]))
}

// Masters returns the running nodes in StateMaster.
func (s *Segment) Masters() []*Node {
	var out []*Node
	for _, n := range s.nodes {
		if n.running && n.m.State() == vrrp.StateMaster {
			out = append(out, n)
		}
	}
	return out
}

// ErrNotOneMaster is returned by ExactlyOneMaster.
var ErrNotOneMaster = errors.New("vrrptest: not exactly one master")

// ExactlyOneMaster returns the only Master, or an error wrapping ErrNotOneMaster that
// lists the states of all nodes.
func (s *Segment) ExactlyOneMaster() (*Node, error) {
	ms := s.Masters()
	if len(ms) == 1 {
		return ms[0], nil
	}
	return nil, fmt.Errorf("%w: %d masters at %v: %s", ErrNotOneMaster, len(ms), s.now.Format("15:04:05.000"), s.String())
}

// Expected returns the node the RFC elects when all running nodes hear each other and
// none is in FAULT: the highest effective priority, then the greatest primary address.
// With equal priorities the RFC keeps an existing Master, so Expected is only certain
// when the highest priority is unique or the tied nodes were Masters together.
func (s *Segment) Expected() *Node {
	var best *Node
	for _, n := range s.nodes {
		if !n.running || n.m.State() == vrrp.StateFault {
			continue
		}
		if best == nil || n.m.Priority() > best.m.Priority() ||
			(n.m.Priority() == best.m.Priority() && n.Addr().Compare(best.Addr()) > 0) {
			best = n
		}
	}
	return best
}

// String lists every node as name=STATE/priority.
func (s *Segment) String() string {
	var b strings.Builder
	for i, n := range s.nodes {
		if i > 0 {
			b.WriteByte(' ')
		}
		st := "STOPPED"
		if n.running {
			st = n.m.State().String()
		}
		fmt.Fprintf(&b, "%s=%s/%d", n.Name(), st, n.m.Priority())
	}
	return b.String()
}
