package vrrptest_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lvskit/lvskit/vrrp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// Two routers on a lossy simulated segment elect the higher priority, and the other
// takes over when it crashes.
func ExampleSegment() {
	seg := vrrptest.NewSegment(vrrptest.SegmentConfig{
		Seed:        1,
		Impairments: vrrptest.Impairments{Delay: time.Millisecond, Jitter: time.Millisecond, Loss: 0.1},
	})
	for i, prio := range []uint8{150, 100} {
		_, err := seg.Add(&vrrp.Config{
			Name: fmt.Sprintf("lb%d", i+1), VRID: 51, Priority: prio,
			AdvertInterval: 100 * time.Millisecond,
			Primary:        netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}),
			Addrs:          []netip.Addr{netip.MustParseAddr("192.0.2.100")},
		})
		if err != nil {
			panic(err)
		}
	}
	seg.StartAll()
	seg.Run(time.Second)
	m, err := seg.ExactlyOneMaster()
	fmt.Println(m.Name(), err)
	m.Crash()
	seg.Run(time.Second)
	m, err = seg.ExactlyOneMaster()
	fmt.Println(m.Name(), err)
	// Output:
	// lb1 <nil>
	// lb2 <nil>
}
