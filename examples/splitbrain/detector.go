package main

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// observation is one valid VRRP advert seen on the wire.
type observation struct {
	Time time.Time
	// Source is the advert's IP source: the sending router's primary address.
	Source netip.Addr
	VRID   uint8
	// Priority is the advertised priority; 0 means the sender resigns.
	Priority uint8
	// Interval is the advertised interval; zero means unknown.
	Interval time.Duration
}

// group identifies a virtual router: VRIDs of IPv4 and IPv6 are separate spaces.
type group struct {
	VRID uint8
	IPv6 bool
}

// reportKind says what a report is about.
type reportKind int

const (
	// splitBrain: two or more routers advertise as MASTER for one group.
	splitBrain reportKind = iota + 1
	// splitHealed: a group that had several masters has one (or none) again.
	splitHealed
)

func (k reportKind) String() string {
	switch k {
	case splitBrain:
		return "split-brain"
	case splitHealed:
		return "healed"
	}
	return "unknown"
}

// report is a change in a group's health.
type report struct {
	Kind  reportKind
	Time  time.Time
	Group group
	// Masters are the routers advertising when the report was made, in address order.
	Masters []netip.Addr
}

// detectorConfig holds the detector's rules.
type detectorConfig struct {
	// Window is how long a router that advertised counts as advertising. Zero means
	// three times the interval it advertises (a Backup's Master_Down_Interval, without
	// the skew), or 3 s when the interval is unknown.
	Window time.Duration
	// Confirm is how many adverts each of two routers must send while the other is
	// advertising before they count as two masters. Zero means 3.
	Confirm int
}

// sender is one router advertising for a group.
type sender struct {
	last    time.Time
	expiry  time.Duration
	prio    uint8
	counted map[netip.Addr]int // adverts sent since the keyed router began advertising too
}

type groupState struct {
	senders map[netip.Addr]*sender
	split   bool
}

// detector decides from the stream of adverts of a segment when two routers claim
// MASTER for the same virtual router at the same time. Only a Master advertises, so
// every sender of adverts with a non-zero priority claims MASTER; what must be told
// apart from a split brain is a handover, where the old and the new Master overlap by
// an advert or two: the old one stops (preempted) or resigns with priority 0. So two
// routers are masters together only when each has sent Confirm adverts while the other
// was advertising too, that is, they keep interleaving. A router counts as advertising
// until it has been silent for the window, or resigned.
//
// It is pure: every input carries its time, and it is not safe for concurrent use.
type detector struct {
	cfg    detectorConfig
	groups map[group]*groupState
}

func newDetector(cfg detectorConfig) *detector {
	if cfg.Confirm <= 0 {
		cfg.Confirm = 3
	}
	return &detector{cfg: cfg, groups: make(map[group]*groupState)}
}

// observe feeds one advert and returns the reports it causes, including those of
// routers that the advert's time shows to have gone silent.
func (d *detector) observe(o observation) []report {
	reports := d.tick(o.Time)
	g := group{VRID: o.VRID, IPv6: o.Source.Is6()}
	gs := d.groups[g]
	if gs == nil {
		gs = &groupState{senders: make(map[netip.Addr]*sender)}
		d.groups[g] = gs
	}
	if o.Priority == 0 {
		// A resignation: the sender is no longer master.
		d.drop(gs, o.Source)
		return d.evaluate(reports, o.Time, g, gs)
	}
	s := gs.senders[o.Source]
	if s == nil {
		s = &sender{counted: make(map[netip.Addr]int)}
		for a, other := range gs.senders {
			s.counted[a] = 0
			other.counted[o.Source] = 0
		}
		gs.senders[o.Source] = s
	}
	s.last, s.prio = o.Time, o.Priority
	s.expiry = d.window(o.Interval)
	for a := range s.counted {
		s.counted[a]++
	}
	return d.evaluate(reports, o.Time, g, gs)
}

func (d *detector) window(interval time.Duration) time.Duration {
	switch {
	case d.cfg.Window > 0:
		return d.cfg.Window
	case interval > 0:
		return 3 * interval
	}
	return 3 * time.Second
}

// tick expires the routers that have been silent too long at now and returns the
// reports that causes. Call it regularly when no adverts arrive.
func (d *detector) tick(now time.Time) []report {
	var reports []report
	for _, g := range d.sortedGroups() {
		gs := d.groups[g]
		for a, s := range gs.senders {
			if now.Sub(s.last) > s.expiry {
				d.drop(gs, a)
			}
		}
		reports = d.evaluate(reports, now, g, gs)
		if len(gs.senders) == 0 && !gs.split {
			delete(d.groups, g)
		}
	}
	return reports
}

func (d *detector) sortedGroups() []group {
	gs := make([]group, 0, len(d.groups))
	for g := range d.groups {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(a, b group) int {
		if a.IPv6 != b.IPv6 {
			if a.IPv6 {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.VRID, b.VRID)
	})
	return gs
}

func (d *detector) drop(gs *groupState, a netip.Addr) {
	delete(gs.senders, a)
	for _, s := range gs.senders {
		delete(s.counted, a)
	}
}

// evaluate appends a report when the group's split state changed.
func (d *detector) evaluate(reports []report, now time.Time, g group, gs *groupState) []report {
	split := false
	for a, s := range gs.senders {
		for b, n := range s.counted {
			if n >= d.cfg.Confirm && gs.senders[b].counted[a] >= d.cfg.Confirm {
				split = true
			}
		}
	}
	if split == gs.split {
		return reports
	}
	gs.split = split
	r := report{Kind: splitHealed, Time: now, Group: g, Masters: d.masters(gs)}
	if split {
		r.Kind = splitBrain
	}
	return append(reports, r)
}

func (d *detector) masters(gs *groupState) []netip.Addr {
	as := make([]netip.Addr, 0, len(gs.senders))
	for a := range gs.senders {
		as = append(as, a)
	}
	slices.SortFunc(as, netip.Addr.Compare)
	return as
}

// Masters returns the routers currently advertising for g, in address order.
func (d *detector) Masters(g group) []netip.Addr {
	gs := d.groups[g]
	if gs == nil {
		return nil
	}
	return d.masters(gs)
}
