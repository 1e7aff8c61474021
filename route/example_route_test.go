package route_test

import (
	"context"
	"log"
	"net/netip"
	"time"

	"github.com/lvskit/lvskit/route"
)

// A director announces its VIPs while its IPVS table matches its configuration and
// withdraws them all when it stops serving.
func ExampleClient_Reconcile() {
	c, err := route.Dial(&route.Config{Table: 100})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ready := true // the IPVS table matches and quorum holds
	var want []netip.Prefix
	if ready {
		want = []netip.Prefix{netip.MustParsePrefix("203.0.113.10/32"), netip.MustParsePrefix("2001:db8::10/128")}
	}
	if err := c.Reconcile(ctx, want); err != nil {
		log.Print(err) // retried on the next reconcile
	}
}
