package main

import (
	"context"
	"testing"

	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

const linkConf = `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority 150
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_interface {
        eth9
    }
    notify "/notify"
}
`

// TestLinkTracking: the instance's own interface and a track_interface going down
// put the instance in FAULT (VIPs removed, notify ... FAULT), and coming back up
// returns it to MASTER, as rtnetlink link events would.
func TestLinkTracking(t *testing.T) {
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, linkConf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	master := func() bool { return h.instance("VI_1").State == "MASTER" && len(h.vips.list()) == 1 }
	fault := func() bool { return h.instance("VI_1").State == "FAULT" && len(h.vips.list()) == 0 }
	waitFor(t, "MASTER with the VIP", master)
	for _, iface := range []string{"eth9", "eth0"} {
		t.Run(iface, func(t *testing.T) {
			h.setLink(t, iface, false)
			waitFor(t, "FAULT without the VIP after "+iface+" went down", fault)
			h.setLink(t, iface, true)
			waitFor(t, "MASTER again after "+iface+" came up", master)
		})
	}
	waitFor(t, "notify saw FAULT", func() bool {
		n := 0
		for _, s := range h.scripts() {
			if s == "/notify INSTANCE VI_1 FAULT 150" {
				n++
			}
		}
		return n == 2
	})

	// A link down before the start: the instance starts in FAULT.
	h2 := newHost(t, vrrptest.NewNetwork(), "192.0.2.2")
	h2.down["eth9"] = true
	if err := h2.d.start(context.Background(), readConf(t, linkConf)); err != nil {
		t.Fatal(err)
	}
	defer h2.d.stop()
	waitFor(t, "h2 in FAULT", func() bool { return h2.instance("VI_1").State == "FAULT" })
	h2.setLink(t, "eth9", true)
	waitFor(t, "h2 MASTER", func() bool { return h2.instance("VI_1").State == "MASTER" })
}
