package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// TestVSGroupTable: a virtual_server group is one IPVS service per address, port
// and fwmark of its group, each with the same real servers; each real server is
// health-checked once, and one going down leaves every member's service.
func TestVSGroupTable(t *testing.T) {
	a1, _ := listener(t)
	a2, _ := listener(t)
	conf := fmt.Sprintf(`
virtual_server_group G {
    192.0.2.10 80
    192.0.2.20-21 443
    fwmark 7
}
virtual_server group G {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server %s {
        TCP_CHECK {
            connect_timeout 1
            delay_loop 3600
        }
    }
    real_server %s {
        weight 2
        lvs_method NAT
        TCP_CHECK {
            connect_timeout 1
            delay_loop 3600
        }
    }
}
`, hostPort(a1), hostPort(a2))
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()

	p2 := netip.MustParseAddrPort(a2).Port()
	// The DR real server takes each service's port (0 for the fwmark), the NAT one
	// keeps its own, as keepalived.
	want := func(second bool) []string {
		var out []string
		for _, s := range []struct{ svc, port string }{
			{"TCP 192.0.2.10:80", "80"}, {"TCP 192.0.2.20:443", "443"}, {"TCP 192.0.2.21:443", "443"}, {"FWM 7", "0"},
		} {
			out = append(out, s.svc+" -> 127.0.0.1:"+s.port+" w1")
			if second {
				out = append(out, fmt.Sprintf("%s -> 127.0.0.1:%d w2", s.svc, p2))
			}
		}
		slices.Sort(out)
		return out
	}
	waitFor(t, "every member with both real servers", func() bool { return cmp.Equal(want(true), dests(t, h)) })
	if err := h.d.rec.sync(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want(true), dests(t, h)); diff != "" {
		t.Fatalf("table (-want +got):\n%s", diff)
	}
	if n := len(h.d.lvs.sched.Statuses()); n != 2 {
		t.Errorf("%d health checks, want 2: one per real server, not one per member", n)
	}

	vc := &h.d.cfg.VirtualServers[0]
	h.d.lvs.onTransition(health.Transition{Name: checkName(vc, &vc.RealServers[1], 0), Up: false})
	if err := h.d.rec.sync(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want(false), dests(t, h)); diff != "" {
		t.Errorf("after real server 2 went down (-want +got):\n%s", diff)
	}
	if st := h.d.lvs.status(); len(st.vss) != 1 || !strings.Contains(st.vss[0].Service, "192.0.2.10:80") {
		t.Errorf("status = %+v, want one virtual server named by its first member", st.vss)
	}

	h.d.lvs.onTransition(health.Transition{Name: checkName(vc, &vc.RealServers[1], 0), Up: true})
	if err := h.d.rec.sync(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want(true), dests(t, h)); diff != "" {
		t.Errorf("after real server 2 came back (-want +got):\n%s", diff)
	}
}
