package main

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// advert is one VRRP advertisement the observer received.
type advert struct {
	At       time.Time // kernel receive timestamp (SO_TIMESTAMPNS)
	Segment  int
	VRID     int
	From     netip.Addr
	Priority int
}

// routerKey names a virtual router: a VRID on one segment.
type routerKey struct{ Segment, VRID int }

func (in instance) key() routerKey { return routerKey{in.Segment, in.VRID} }

// election is the verdict on one window of adverts.
type election struct {
	Right int // instances advertised by A alone
	// Wrong lists the instances that were not, with what was seen instead.
	Wrong []string
}

// elect checks that every instance was advertised during the window, and only by
// host A: a backup that also advertises is a split brain, and an instance nobody
// advertised has no master.
func elect(insts []instance, ads []advert) election {
	from := make(map[routerKey][]netip.Addr)
	for _, a := range ads {
		k := routerKey{a.Segment, a.VRID}
		if !slices.Contains(from[k], a.From) {
			from[k] = append(from[k], a.From)
		}
	}
	var e election
	for _, in := range insts {
		srcs := from[in.key()]
		want := hostAddr(in.Segment, hostA)
		switch {
		case len(srcs) == 1 && srcs[0] == want:
			e.Right++
		case len(srcs) == 0:
			e.Wrong = append(e.Wrong, in.Name+": no adverts")
		default:
			e.Wrong = append(e.Wrong, fmt.Sprintf("%s: adverts from %v", in.Name, srcs))
		}
	}
	return e
}

// masterDownInterval is RFC 9568's Master_Down_Interval of a backup of priority prio
// that learned advert interval adv: 3 x adv + Skew_Time, with Skew_Time =
// (256 - prio) x adv / 256.
func masterDownInterval(adv time.Duration, prio int) time.Duration {
	return 3*adv + time.Duration(256-prio)*adv/256
}

// failoverBound is the longest acceptable gap from the cut to B's first advert: B's
// Master_Down_Interval plus 5 ms for scheduling and the wire.
func failoverBound() time.Duration { return masterDownInterval(advertInt, prioB) + 5*time.Millisecond }

// failover is what the observer saw after A was killed and cut off at Cut.
type failover struct {
	Gaps []time.Duration // per instance B took over: first B advert minus the cut
	// Early counts instances B already advertised before the cut (already split).
	Early int
	// Missing counts instances B never advertised after the cut.
	Missing int
}

// takeovers measures, for every instance, the time from cut to B's first advert
// after it. Instances B advertised before the cut are counted as Early, not timed.
func takeovers(insts []instance, ads []advert, cut time.Time) failover {
	type seen struct {
		before bool
		first  time.Time
	}
	byKey := make(map[routerKey]*seen)
	for _, a := range ads {
		if a.From != hostAddr(a.Segment, hostB) {
			continue
		}
		k := routerKey{a.Segment, a.VRID}
		s := byKey[k]
		if s == nil {
			s = &seen{}
			byKey[k] = s
		}
		if !a.At.After(cut) {
			s.before = true
		} else if s.first.IsZero() || a.At.Before(s.first) {
			s.first = a.At
		}
	}
	var f failover
	for _, in := range insts {
		s := byKey[in.key()]
		switch {
		case s != nil && s.before:
			f.Early++
		case s == nil || s.first.IsZero():
			f.Missing++
		default:
			f.Gaps = append(f.Gaps, s.first.Sub(cut))
		}
	}
	return f
}

// gapStats summarises gaps: nearest-rank median and 99th percentile (the smallest
// gap that at least half, resp. 99%, of the gaps do not exceed), and how many
// exceed bound. ok is false when there are no gaps.
type gapStats struct {
	Min, Median, P99, Max time.Duration
	Over                  int
}

func summarise(gaps []time.Duration, bound time.Duration) (gapStats, bool) {
	if len(gaps) == 0 {
		return gapStats{}, false
	}
	s := slices.Clone(gaps)
	slices.Sort(s)
	rank := func(p int) time.Duration { // nearest rank: ceil(p/100 x n)
		i := (p*len(s) + 99) / 100
		return s[max(i, 1)-1]
	}
	g := gapStats{Min: s[0], Median: rank(50), P99: rank(99), Max: s[len(s)-1]}
	for _, d := range s {
		if d > bound {
			g.Over++
		}
	}
	return g, true
}
