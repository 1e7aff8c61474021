package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
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
	if s, _ := checkerMail("r", vc, &vc.RealServers[1], kaconf.CheckTCP, false, false); !strings.Contains(s, "of virtual server [G]:0 - DOWN") {
		t.Errorf("checker mail subject %q does not name the group as keepalived", s)
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

// TestVSGroupServices: a fwmark's family in the group sets its service's family,
// and without one the real servers' family is used, as for a fwmark virtual server.
func TestVSGroupServices(t *testing.T) {
	cfg := readConf(t, `
virtual_server_group G {
    2001:db8::1-2 80
    fwmark 5
    fwmark 5 inet
}
virtual_server group G {
    protocol UDP
    real_server 2001:db8::99 80 {
    }
}
`)
	var got []string
	for _, s := range groupServices(&cfg.VirtualServers[0], cfg.VirtualServerGroup("G")) {
		got = append(got, fmt.Sprintf("%s %v", s, s.Family))
	}
	want := []string{"UDP [2001:db8::1]:80 IPv6", "UDP [2001:db8::2]:80 IPv6", "FWM 5 IPv6 IPv6", "FWM 5 IPv4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
}

// TestVSGroupECMP: the scale-out mode refuses a group with a fwmark, naming it,
// and runs one of addresses.
func TestVSGroupECMP(t *testing.T) {
	const conf = "virtual_server_group G {\n    203.0.113.10-11 80\n    MARK\n}\nvirtual_server group G {\n    protocol TCP\n    real_server 198.51.100.1 80 {\n    }\n}\n"
	if err := checkECMP(readConf(t, strings.Replace(conf, "MARK", "", 1)), nil); err != nil {
		t.Errorf("addresses only: %v", err)
	}
	err := checkECMP(readConf(t, strings.Replace(conf, "MARK", "fwmark 9", 1)), nil)
	if err == nil || !strings.Contains(err.Error(), "group G") || !strings.Contains(err.Error(), "fwmark 9") {
		t.Errorf("fwmark in the group: err = %v", err)
	}
}
