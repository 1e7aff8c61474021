package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rA    = netip.MustParseAddr("192.0.2.1")
	rB    = netip.MustParseAddr("192.0.2.2")
	rC    = netip.MustParseAddr("192.0.2.3")
	rA6   = netip.MustParseAddr("fe80::1")
	addrs = cmpopts.EquateComparable(netip.Addr{})
)

// at is a time in seconds after t0.
func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// adv is an advert from src at s seconds, VRID 51, interval 1 s.
func adv(s float64, src netip.Addr, prio uint8) observation {
	return observation{Time: at(s), Source: src, VRID: 51, Priority: prio, Interval: time.Second}
}

// every returns adverts from src every second from start to end inclusive.
func every(src netip.Addr, prio uint8, start, end float64) []observation {
	var os []observation
	for s := start; s <= end+1e-9; s++ {
		os = append(os, adv(s, src, prio))
	}
	return os
}

// merge merges observation lists by time (stable).
func merge(lists ...[]observation) []observation {
	var all []observation
	for _, l := range lists {
		all = append(all, l...)
	}
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && all[j].Time.Before(all[j-1].Time); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	return all
}

var g51 = group{VRID: 51}

func TestDetector(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   detectorConfig
		obs   []observation
		ticks []float64 // tick times after the observations
		want  []report
	}{
		{
			name: "one master",
			obs:  every(rA, 100, 0, 20),
		},
		{
			name: "two masters interleaving are a split brain once each sent three adverts alongside the other",
			// A from 0, B from 0.5: the pair starts at 0.5 (B=1); A@1 1, B@1.5 2, A@2 2,
			// B@2.5 3, A@3 3.
			obs:  merge(every(rA, 100, 0, 10), every(rB, 90, 0.5, 10.5)),
			want: []report{{Kind: splitBrain, Time: at(3), Group: g51, Masters: []netip.Addr{rA, rB}}},
		},
		{
			name: "confirm 1 reports at the first advert of the earlier master after the newcomer's",
			cfg:  detectorConfig{Confirm: 1},
			obs:  merge(every(rA, 100, 0, 3), every(rB, 90, 0.5, 3.5)),
			want: []report{{Kind: splitBrain, Time: at(1), Group: g51, Masters: []netip.Addr{rA, rB}}},
		},
		{
			name: "a clean preemption is not a split brain",
			// B (higher) takes over at 5.5; A, preempted, never advertises again.
			obs: merge(every(rA, 100, 0, 5), every(rB, 200, 5.5, 20)),
		},
		{
			name: "a preemption where one more advert of the old master crosses the new one's",
			obs:  merge(every(rA, 100, 0, 6), every(rB, 200, 5.5, 20)),
		},
		{
			name: "a lower router starting as master is put down at once",
			// B starts as MASTER with a lower priority; A re-advertises at once (RFC
			// 9568) and B steps down after its second advert.
			obs: merge(every(rA, 200, 0, 10), []observation{adv(3.2, rB, 100), adv(3.21, rA, 200), adv(3.3, rB, 100)}),
		},
		{
			name: "a resigning master hands over cleanly",
			// A resigns at 5.2; B takes over after Skew_Time and A is gone at once, even
			// though its last advert is less than a window old.
			obs: merge(every(rA, 100, 0, 5), []observation{adv(5.2, rA, 0)}, every(rB, 90, 5.3, 12)),
		},
		{
			name: "a resignation during a split brain heals it at once",
			obs:  merge(every(rA, 100, 0, 5), every(rB, 90, 0.5, 10.5), []observation{adv(5.1, rA, 0)}),
			want: []report{
				{Kind: splitBrain, Time: at(3), Group: g51, Masters: []netip.Addr{rA, rB}},
				{Kind: splitHealed, Time: at(5.1), Group: g51, Masters: []netip.Addr{rB}},
			},
		},
		{
			name: "healing: the lower master falls silent and expires after the window",
			// The link comes back at 8: B hears A's higher priority and stops after 7.5.
			obs:   merge(every(rA, 100, 0, 12), every(rB, 90, 0.5, 7.5)),
			ticks: []float64{10.4, 10.6, 13},
			want: []report{
				{Kind: splitBrain, Time: at(3), Group: g51, Masters: []netip.Addr{rA, rB}},
				// B's last advert at 7.5 + 3 s window: the advert at 11 is the first
				// input after 10.5.
				{Kind: splitHealed, Time: at(11), Group: g51, Masters: []netip.Addr{rA}},
			},
		},
		{
			name:  "ticks expire silent masters without adverts",
			obs:   merge(every(rA, 100, 0, 5), every(rB, 90, 0.5, 5.5)),
			ticks: []float64{8, 8.4, 8.6},
			want: []report{
				{Kind: splitBrain, Time: at(3), Group: g51, Masters: []netip.Addr{rA, rB}},
				// A (last advert at 5) is gone at 8.4; B (5.5) would go at 8.6.
				{Kind: splitHealed, Time: at(8.4), Group: g51, Masters: []netip.Addr{rB}},
			},
		},
		{
			name:  "a split brain that heals and comes back is reported again",
			obs:   merge(every(rA, 100, 0, 30), every(rB, 90, 0.5, 5.5), every(rB, 90, 15.5, 20.5)),
			ticks: []float64{31},
			want: []report{
				{Kind: splitBrain, Time: at(3), Group: g51, Masters: []netip.Addr{rA, rB}},
				{Kind: splitHealed, Time: at(9), Group: g51, Masters: []netip.Addr{rA}},
				{Kind: splitBrain, Time: at(18), Group: g51, Masters: []netip.Addr{rA, rB}},
				{Kind: splitHealed, Time: at(24), Group: g51, Masters: []netip.Addr{rA}},
			},
		},
		{
			name: "a window shorter than the interval never sees two masters at once",
			cfg:  detectorConfig{Window: 400 * time.Millisecond},
			obs:  merge(every(rA, 100, 0, 10), every(rB, 90, 0.5, 10.5)),
		},
		{
			name: "the default window follows the advertised interval",
			// Adverts every 5 s: a fixed 3 s window would see each master expire before
			// the other's next advert.
			obs: merge(
				[]observation{{Time: at(0), Source: rA, VRID: 51, Priority: 100, Interval: 5 * time.Second}},
				[]observation{{Time: at(2.5), Source: rB, VRID: 51, Priority: 90, Interval: 5 * time.Second}},
				[]observation{{Time: at(5), Source: rA, VRID: 51, Priority: 100, Interval: 5 * time.Second}},
				[]observation{{Time: at(7.5), Source: rB, VRID: 51, Priority: 90, Interval: 5 * time.Second}},
				[]observation{{Time: at(10), Source: rA, VRID: 51, Priority: 100, Interval: 5 * time.Second}},
				[]observation{{Time: at(12.5), Source: rB, VRID: 51, Priority: 90, Interval: 5 * time.Second}},
				[]observation{{Time: at(15), Source: rA, VRID: 51, Priority: 100, Interval: 5 * time.Second}},
			),
			want: []report{{Kind: splitBrain, Time: at(15), Group: g51, Masters: []netip.Addr{rA, rB}}},
		},
		{
			name: "masters of different VRIDs are not a split brain",
			obs: merge(every(rA, 100, 0, 10), func() []observation {
				os := every(rB, 100, 0.5, 10.5)
				for i := range os {
					os[i].VRID = 52
				}
				return os
			}()),
		},
		{
			name: "IPv4 and IPv6 VRIDs are separate",
			obs:  merge(every(rA, 100, 0, 10), every(rA6, 100, 0.5, 10.5)),
		},
		{
			name: "three masters",
			obs:  merge(every(rA, 100, 0, 10), every(rB, 90, 0.3, 10.3), every(rC, 80, 0.6, 10.6)),
			want: []report{{Kind: splitBrain, Time: at(3), Group: g51, Masters: []netip.Addr{rA, rB, rC}}},
		},
		{
			name: "duplicated adverts of a handover do not add up to a split brain",
			obs:  merge(every(rA, 100, 0, 5), every(rA, 100, 0, 5), every(rB, 200, 5.5, 12)),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDetector(tc.cfg)
			var got []report
			for _, o := range tc.obs {
				got = append(got, d.observe(o)...)
			}
			for _, s := range tc.ticks {
				got = append(got, d.tick(at(s))...)
			}
			if diff := cmp.Diff(tc.want, got, addrs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("reports (-want +got)\n%s", diff)
			}
		})
	}
}

func TestDetectorMasters(t *testing.T) {
	d := newDetector(detectorConfig{})
	for _, o := range merge(every(rA, 100, 0, 2), every(rB, 90, 0.5, 2.5)) {
		d.observe(o)
	}
	if diff := cmp.Diff([]netip.Addr{rA, rB}, d.Masters(g51), addrs); diff != "" {
		t.Errorf("Masters at 2.5 (-want +got)\n%s", diff)
	}
	d.observe(adv(2.6, rA, 0))
	if diff := cmp.Diff([]netip.Addr{rB}, d.Masters(g51), addrs); diff != "" {
		t.Errorf("Masters after A resigned (-want +got)\n%s", diff)
	}
	d.tick(at(10))
	if got := d.Masters(g51); len(got) != 0 {
		t.Errorf("Masters after everyone fell silent = %v, want none", got)
	}
	if len(d.groups) != 0 {
		t.Errorf("%d groups kept after everyone fell silent, want 0", len(d.groups))
	}
}
