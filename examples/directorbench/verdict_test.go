package main

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestElect(t *testing.T) {
	insts, err := layout(257) // two segments: VRIDs 1..255 on eth0, 1..2 on eth1
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1000, 0)
	allFromA := func() []advert {
		var ads []advert
		for _, in := range insts {
			ads = append(ads, advert{At: at, Segment: in.Segment, VRID: in.VRID, From: hostAddr(in.Segment, hostA), Priority: prioA})
		}
		return ads
	}
	for _, tc := range []struct {
		name      string
		ads       []advert
		wantRight int
		wantWrong []string
	}{
		{"every instance from A", allFromA(), 257, nil},
		{"B advertises one too (split brain)", append(allFromA(), advert{At: at, Segment: 1, VRID: 2, From: hostAddr(1, hostB)}), 256,
			[]string{"VI_257: adverts from [192.0.2.9 192.0.2.10]"}},
		{"no adverts for one instance", slices.DeleteFunc(allFromA(), func(a advert) bool { return a.Segment == 0 && a.VRID == 7 }), 256,
			[]string{"VI_7: no adverts"}},
		{"only B", func() []advert {
			ads := allFromA()
			ads[0].From = hostAddr(0, hostB)
			return ads
		}(), 256, []string{"VI_1: adverts from [192.0.2.2]"}},
		// A's address on segment 0 advertising VRID 1 of segment 1 is not segment 1's A.
		{"A's address of another segment", func() []advert {
			ads := allFromA()
			ads[255].From = hostAddr(0, hostA)
			return ads
		}(), 256, []string{"VI_256: adverts from [192.0.2.1]"}},
		{"nothing seen", nil, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := elect(insts, tc.ads)
			if e.Right != tc.wantRight {
				t.Errorf("Right = %d, want %d", e.Right, tc.wantRight)
			}
			if tc.wantWrong != nil && !slices.Equal(e.Wrong, tc.wantWrong) {
				t.Errorf("Wrong = %q, want %q", e.Wrong, tc.wantWrong)
			}
			if e.Right+len(e.Wrong) != len(insts) {
				t.Errorf("Right %d + Wrong %d != %d instances", e.Right, len(e.Wrong), len(insts))
			}
		})
	}
}

func TestFailoverBound(t *testing.T) {
	// 3 x 100 ms + (256-100)/256 x 100 ms + 5 ms = 365.9375 ms.
	if got, want := failoverBound(), 365937500*time.Nanosecond; got != want {
		t.Errorf("failoverBound = %v, want %v", got, want)
	}
}

func TestTakeovers(t *testing.T) {
	insts, err := layout(4)
	if err != nil {
		t.Fatal(err)
	}
	cut := time.Unix(1000, 0)
	a, b := hostAddr(0, hostA), hostAddr(0, hostB)
	ad := func(vrid int, from netip.Addr, after time.Duration) advert {
		return advert{At: cut.Add(after), VRID: vrid, From: from}
	}
	ads := []advert{
		ad(1, a, -50*time.Millisecond), ad(2, a, -20*time.Millisecond), ad(3, a, -10*time.Millisecond),
		ad(3, b, -5*time.Millisecond), // B already MASTER of VRID 3 before the cut
		ad(1, b, 300*time.Millisecond), ad(1, b, 400*time.Millisecond),
		ad(2, b, 450*time.Millisecond), ad(2, b, 350*time.Millisecond), // out of order: the earlier counts
		ad(3, b, 200*time.Millisecond),
		ad(4, a, 10*time.Millisecond), // A's advert in flight, and B never took VRID 4
	}
	got := takeovers(insts, ads, cut)
	if want := []time.Duration{300 * time.Millisecond, 350 * time.Millisecond}; !slices.Equal(got.Gaps, want) {
		t.Errorf("Gaps = %v, want %v", got.Gaps, want)
	}
	if got.Early != 1 || got.Missing != 1 {
		t.Errorf("Early, Missing = %d, %d; want 1, 1", got.Early, got.Missing)
	}
}

func TestSummarise(t *testing.T) {
	var gaps []time.Duration
	for i := 100; i >= 1; i-- { // 1..100 ms, reversed
		gaps = append(gaps, time.Duration(i)*time.Millisecond)
	}
	got, ok := summarise(gaps, 95*time.Millisecond)
	want := gapStats{Min: time.Millisecond, Median: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond, Over: 5}
	if !ok || got != want {
		t.Errorf("summarise(1..100 ms) = %+v, %v; want %+v", got, ok, want)
	}
	if gaps[0] != 100*time.Millisecond {
		t.Error("summarise reordered its argument")
	}
	for _, tc := range []struct {
		name string
		gaps []time.Duration
		want gapStats
	}{
		{"one", []time.Duration{7}, gapStats{Min: 7, Median: 7, P99: 7, Max: 7}},
		{"two", []time.Duration{9, 3}, gapStats{Min: 3, Median: 3, P99: 9, Max: 9}},
		{"250 with one late", append(slices.Repeat([]time.Duration{300 * time.Millisecond}, 249), 2*time.Second),
			gapStats{Min: 300 * time.Millisecond, Median: 300 * time.Millisecond, P99: 300 * time.Millisecond, Max: 2 * time.Second, Over: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := summarise(tc.gaps, failoverBound()); !ok || got != tc.want {
				t.Errorf("summarise = %+v, %v; want %+v", got, ok, tc.want)
			}
		})
	}
	if _, ok := summarise(nil, time.Second); ok {
		t.Error("summarise(nil) reported statistics")
	}
}

func TestRoundVerdict(t *testing.T) {
	r := func(n int, d, k time.Duration, rightD, rightK int) *roundResult {
		return &roundResult{N: n, Secs: 10,
			CPU:   map[string]time.Duration{"director": d, "keepalived": k},
			Right: map[string]int{"director": rightD, "keepalived": rightK}}
	}
	for _, tc := range []struct {
		name string
		r    *roundResult
		ok   bool
	}{
		{"cheaper and elected", r(10, time.Second, 2*time.Second, 10, 10), true},
		{"equal CPU is enough at 50", r(50, time.Second, time.Second, 50, 50), true},
		{"dearer", r(50, 1001*time.Millisecond, time.Second, 50, 50), false},
		{"half at 250", r(250, time.Second, 2*time.Second, 250, 250), true},
		{"more than half at 250", r(250, 1001*time.Millisecond, 2*time.Second, 250, 250), false},
		{"more than half at 1000", r(1000, 1001*time.Millisecond, 2*time.Second, 1000, 1000), false},
		{"director split brain", r(10, 0, time.Second, 9, 10), false},
		{"keepalived split brain", r(10, 0, time.Second, 10, 9), false},
		{"keepalived not run", &roundResult{N: 10, CPU: map[string]time.Duration{"director": 0}, Right: map[string]int{"director": 10}}, false},
		{"director not measured", func() *roundResult {
			x := r(10, 0, time.Second, 10, 10)
			x.Failed = map[string]string{"director": "process ended"}
			return x
		}(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ok, why := tc.r.verdict(); ok != tc.ok {
				t.Errorf("verdict = %v (%q), want %v", ok, why, tc.ok)
			}
		})
	}
}

func TestRightCell(t *testing.T) {
	r := &roundResult{N: 10, Right: map[string]int{"director": 10, "keepalived": 7}, FromB: map[string]int{"keepalived": 12}}
	if got, want := rightCell(r, "director"), "10/10"; got != want {
		t.Errorf("rightCell(director) = %q, want %q", got, want)
	}
	if got, want := rightCell(r, "keepalived"), "7/10 (B sent 12 adverts)"; got != want {
		t.Errorf("rightCell(keepalived) = %q, want %q", got, want)
	}
	if got := rightCell(r, "other"); got != "-" {
		t.Errorf("rightCell of a side not run = %q, want -", got)
	}
}
