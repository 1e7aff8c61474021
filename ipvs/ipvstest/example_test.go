package ipvstest_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
)

// A test runs its ipvs code against the fake, makes the kernel refuse one request, and
// reads the table back without a second client. Destinations list newest first, as the
// kernel lists them.
func Example() {
	ctx := context.Background()
	srv := ipvstest.New(nil)
	c, err := ipvs.NewClient(srv.Dial())
	if err != nil {
		panic(err)
	}
	defer c.Close()

	web := ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80}
	srv.FailNext(ipvstest.CmdNewService, ipvstest.EEXIST)
	err = c.CreateService(ctx, web)
	fmt.Println("refused:", errors.Is(err, ipvs.ErrExists))

	if err := c.CreateService(ctx, web); err != nil {
		panic(err)
	}
	for _, a := range []string{"198.51.100.1", "198.51.100.2"} {
		d := ipvs.Destination{Address: netip.MustParseAddr(a), Port: 8080, Weight: 1}
		if err := c.CreateDestination(ctx, web, d); err != nil {
			panic(err)
		}
	}
	for _, s := range srv.Table() {
		fmt.Println(s.Address, s.Port, s.Scheduler)
		for _, d := range s.Destinations {
			fmt.Println("  ->", d.Address, d.Port, d.Weight)
		}
	}
	// Output:
	// refused: true
	// 192.0.2.1 80 wlc
	//   -> 198.51.100.2 8080 1
	//   -> 198.51.100.1 8080 1
}
