package main

import (
	"fmt"
	"net/netip"
	"time"
)

// A handover (B preempts A, which stops) is not a split brain; two routers that keep
// advertising together are.
func Example_detector() {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	advert := func(s float64, src netip.Addr) observation {
		return observation{Time: start.Add(time.Duration(s * float64(time.Second))), Source: src, VRID: 51, Priority: 100, Interval: time.Second}
	}
	d := newDetector(detectorConfig{})
	// A advertises until 3 s; B takes over at 3.5 s.
	for _, o := range []observation{advert(0, a), advert(1, a), advert(2, a), advert(3, a),
		advert(3.5, b), advert(4.5, b), advert(5.5, b), advert(6.5, b), advert(7.5, b)} {
		for _, r := range d.observe(o) {
			fmt.Println(r.Kind, r.Masters)
		}
	}
	fmt.Println("after the handover:", d.Masters(group{VRID: 51}))
	// Now A comes back without hearing B: both advertise.
	for s := 8.0; s < 12; s++ {
		for _, o := range []observation{advert(s, a), advert(s+0.5, b)} {
			for _, r := range d.observe(o) {
				fmt.Printf("%v: %v %v\n", r.Time.Sub(start), r.Kind, r.Masters)
			}
		}
	}
	// Output:
	// after the handover: [192.0.2.2]
	// 10.5s: split-brain [192.0.2.1 192.0.2.2]
}
