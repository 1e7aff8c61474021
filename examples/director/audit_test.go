package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// TestAuditThresholdsReachIPVS: uthreshold and lthreshold become the IPVS
// destination's upper and lower thresholds, also for an inhibited real server kept
// at weight 0.
func TestAuditThresholdsReachIPVS(t *testing.T) {
	cfg := readConf(t, `
virtual_server 192.0.2.10 80 {
    lb_kind DR
    protocol TCP
    real_server 198.51.100.1 80 {
        uthreshold 100
        lthreshold 10
    }
    real_server 198.51.100.2 80 {
    }
}
`)
	noop := func(*kaconf.Command) {}
	l := newLVSRuntime(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), nil, &metrics{},
		lvsHooks{changed: func() {}, runAsync: noop, runSync: noop, mail: func(string, string) {}}, false, false, false)
	defer l.shutdown()
	if err := l.configure(cfg); err != nil {
		t.Fatal(err)
	}
	vss := l.desired()
	if len(vss) != 1 {
		t.Fatalf("desired: %d virtual servers, want 1", len(vss))
	}
	type th struct {
		Addr         netip.Addr
		Upper, Lower uint32
	}
	var got []th
	for _, d := range vss[0].Destinations {
		got = append(got, th{d.Address, d.UpperThreshold, d.LowerThreshold})
	}
	want := []th{
		{netip.MustParseAddr("198.51.100.1"), 100, 10},
		{netip.MustParseAddr("198.51.100.2"), 0, 0},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("destinations' thresholds (-want +got):\n%s", diff)
	}
}

// TestAuditLowerPrioNoAdvertReachesVRRP: an instance's lower_prio_no_advert overrides
// the global and reaches the VRRP engine's configuration.
func TestAuditLowerPrioNoAdvertReachesVRRP(t *testing.T) {
	cfg := readConf(t, `
global_defs {
    vrrp_lower_prio_no_advert
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    priority 100
    lower_prio_no_advert off
    virtual_ipaddress {
        192.0.2.1
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        192.0.2.2
    }
}
`)
	for i, want := range []bool{false, true} {
		c, err := vrrpConfig(cfg, &cfg.Instances[i], netip.MustParseAddr("192.0.2.100"))
		if err != nil {
			t.Fatal(err)
		}
		if c.NoLowerPriorityAdvert != want {
			t.Errorf("%s: NoLowerPriorityAdvert = %v, want %v", cfg.Instances[i].Name, c.NoLowerPriorityAdvert, want)
		}
	}
}

// TestAuditVSFlagsReachIPVS: flag-N, sh-*/mh-*, ops and persistence_engine become
// the IPVS service's flags and persistence engine.
func TestAuditVSFlagsReachIPVS(t *testing.T) {
	cfg := readConf(t, `
virtual_server 192.0.2.10 5060 {
    protocol UDP
    lb_algo sh
    sh-port
    flag-3
    ops
    persistence_timeout 60
    persistence_engine sip
    real_server 198.51.100.1 5060 {
    }
}
`)
	s := serviceOf(&cfg.VirtualServers[0])
	want := ipvs.FlagPersistent | ipvs.FlagOnePacket | ipvs.FlagSHPort | ipvs.FlagSched3
	if s.Flags != want || s.PersistenceEngine != "sip" {
		t.Errorf("service flags %v, engine %q; want %v, %q", s.Flags, s.PersistenceEngine, want, "sip")
	}
}

// TestAuditHTTPProtocol: HTTP_GET sends HTTP/1.0 as keepalived 2.2.7 does, and
// HTTP/1.1 with http_protocol 1.1; the request line reaches a real server.
func TestAuditHTTPProtocol(t *testing.T) {
	for _, tt := range []struct{ line, want string }{
		{"", "GET / HTTP/1.0"},
		{"http_protocol 1.0C", "GET / HTTP/1.0"},
		{"http_protocol 1.1", "GET / HTTP/1.1"},
	} {
		t.Run(tt.want+" "+tt.line, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			got := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- err.Error()
					return
				}
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				got <- strings.TrimSpace(line)
				io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
			}()
			port := ln.Addr().(*net.TCPAddr).Port
			cfg := readConf(t, fmt.Sprintf(`
virtual_server 192.0.2.10 80 {
    protocol TCP
    real_server 127.0.0.1 %d {
        HTTP_GET {
            %s
            url {
                path /
            }
        }
    }
}
`, port, tt.line))
			vs := &cfg.VirtualServers[0]
			hc := healthCheck(&vs.RealServers[0].Checks[0], vs.Alpha)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := hc.Checker.Check(ctx); err != nil {
				t.Fatal(err)
			}
			if line := <-got; line != tt.want {
				t.Errorf("request line %q, want %q", line, tt.want)
			}
		})
	}
}

// TestAuditSorryServerMethodReachesIPVS: the sorry server's destination is
// forwarded with sorry_server_lvs_method, the real servers with lb_kind.
func TestAuditSorryServerMethodReachesIPVS(t *testing.T) {
	cfg := readConf(t, `
virtual_server 192.0.2.10 80 {
    lb_kind NAT
    protocol TCP
    sorry_server 198.51.100.9 80
    sorry_server_lvs_method DR
    sorry_server_inhibit
    real_server 198.51.100.1 80 {
    }
}
`)
	noop := func(*kaconf.Command) {}
	l := newLVSRuntime(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), nil, &metrics{},
		lvsHooks{changed: func() {}, runAsync: noop, runSync: noop, mail: func(string, string) {}}, false, false, false)
	defer l.shutdown()
	if err := l.configure(cfg); err != nil {
		t.Fatal(err)
	}
	got := map[string]ipvs.ForwardMethod{}
	for _, d := range l.desired()[0].Destinations {
		got[d.Address.String()] = d.Forward
	}
	want := map[string]ipvs.ForwardMethod{"198.51.100.1": ipvs.Masquerade, "198.51.100.9": ipvs.DirectRoute}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forwarding (-want +got):\n%s", diff)
	}
}

// TestAuditNoCheckerEmails: with no_checker_emails a checker's change is mailed
// only when it changes the real server's state, as keepalived 2.2.7's checkers do.
func TestAuditNoCheckerEmails(t *testing.T) {
	for _, tt := range []struct {
		global string
		want   int
	}{{"", 2}, {"no_checker_emails", 1}} {
		t.Run(tt.global, func(t *testing.T) {
			cfg := readConf(t, `
global_defs {
    `+tt.global+`
}
virtual_server 192.0.2.10 80 {
    protocol TCP
    real_server 198.51.100.1 80 {
        smtp_alert
        TCP_CHECK {
        }
        TCP_CHECK {
            connect_port 81
        }
    }
}
`)
			var mails []string
			noop := func(*kaconf.Command) {}
			l := newLVSRuntime(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), nil, &metrics{},
				lvsHooks{changed: func() {}, runAsync: noop, runSync: noop, mail: func(s, _ string) { mails = append(mails, s) }}, false, false, false)
			defer l.shutdown()
			if err := l.configure(cfg); err != nil {
				t.Fatal(err)
			}
			vc := &cfg.VirtualServers[0]
			// The first checker's failure takes the real server down; the second's
			// changes nothing more.
			l.onTransition(health.Transition{Name: checkName(vc, &vc.RealServers[0], 0), Up: false})
			l.onTransition(health.Transition{Name: checkName(vc, &vc.RealServers[0], 1), Up: false})
			if len(mails) != tt.want {
				t.Errorf("%d mails (%q), want %d", len(mails), mails, tt.want)
			}
		})
	}
}

// TestAuditLVSFlushOnStop: with lvs_flush_on_stop the stop flushes the whole IPVS
// table, someone else's service too, as keepalived 2.2.7; with VS, or without it,
// only the director's services go.
func TestAuditLVSFlushOnStop(t *testing.T) {
	up, _ := listener(t)
	for _, tt := range []struct {
		line  string
		other bool // someone else's service is left
	}{{"", true}, {"lvs_flush_on_stop VS", true}, {"lvs_flush_on_stop", false}} {
		t.Run(tt.line, func(t *testing.T) {
			h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
			text := "global_defs {\n    " + tt.line + "\n}\n" + lvsText(up, closedPort(t), "1", "")
			ctx := context.Background()
			if err := h.d.start(ctx, readConf(t, text)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the service in the table", func() bool { return len(table(t, h)) == 1 })
			c, err := ipvs.NewClient(h.ipvs.Dial())
			if err != nil {
				t.Fatal(err)
			}
			other := ipvs.Service{Protocol: ipvs.UDP, Address: netip.MustParseAddr("192.0.2.20"), Port: 53}
			if err := c.CreateService(ctx, other); err != nil {
				t.Fatal(err)
			}
			c.Close()
			h.d.stop()
			var got []string
			for _, v := range table(t, h) {
				got = append(got, v.Service.String())
			}
			var want []string
			if tt.other {
				want = []string{other.String()}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("after stop (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuditIPFamilyReachesIPVS: a fwmark service with ip_family inet6 is an IPv6
// service even when its (tunnelled) real servers are IPv4.
func TestAuditIPFamilyReachesIPVS(t *testing.T) {
	cfg := readConf(t, `
virtual_server fwmark 7 {
    lb_kind TUN
    ip_family inet6
    real_server 198.51.100.1 0 {
    }
}
`)
	if s := serviceOf(&cfg.VirtualServers[0]); s.Family != ipvs.IPv6 {
		t.Errorf("family %v, want IPv6", s.Family)
	}
}

// TestAuditRSInitNotifies: with rs_init_notifies a real server that starts alive
// runs notify_up and writes its FIFO line, at start and when a reload adds it, not
// again for one a reload keeps; without it nothing runs until a transition.
func TestAuditRSInitNotifies(t *testing.T) {
	const conf = `
global_defs {
    GLOBAL
}
virtual_server 192.0.2.10 80 {
    protocol TCP
    real_server 198.51.100.1 80 {
        notify_up /bin/up1
    }
EXTRA}
`
	const extra = "    real_server 198.51.100.2 80 {\n        notify_up /bin/up2\n    }\n"
	for _, tt := range []struct {
		global    string
		start     []string
		afterLoad []string
	}{
		{"", nil, nil},
		{"rs_init_notifies", []string{"/bin/up1", "RS [198.51.100.1]:tcp:80 [192.0.2.10]:tcp:80 UP"},
			[]string{"/bin/up2", "RS [198.51.100.2]:tcp:80 [192.0.2.10]:tcp:80 UP"}},
	} {
		t.Run(tt.global, func(t *testing.T) {
			var got []string
			hooks := lvsHooks{changed: func() {}, runSync: func(*kaconf.Command) {}, mail: func(string, string) {},
				runAsync: func(c *kaconf.Command) {
					if c != nil {
						got = append(got, strings.Join(c.Args, " "))
					}
				},
				fifo: func(line string) { got = append(got, strings.TrimSpace(line)) }}
			l := newLVSRuntime(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), nil, &metrics{}, hooks, false, false, false)
			defer l.shutdown()
			r := strings.NewReplacer("GLOBAL", tt.global, "EXTRA", "")
			if err := l.configure(readConf(t, r.Replace(conf))); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.start, got); diff != "" {
				t.Errorf("at start (-want +got):\n%s", diff)
			}
			got = nil
			r = strings.NewReplacer("GLOBAL", tt.global, "EXTRA", extra)
			if err := l.configure(readConf(t, r.Replace(conf))); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.afterLoad, got); diff != "" {
				t.Errorf("after the reload (-want +got):\n%s", diff)
			}
		})
	}
}
