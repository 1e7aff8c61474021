package kaconf

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReadStrict checks that vrrp_strict changes what keepalived 2.2.7 changes (so a
// keepalived node and a director node with the same file send the same adverts), and
// that each change is a warning naming the line whose meaning changed.
func TestReadStrict(t *testing.T) {
	src := `global_defs {
   vrrp_strict
}
vrrp_instance V {
   state MASTER
   interface eth0
   virtual_router_id 51
   priority 100
   preempt_delay 10
   authentication {
      auth_type PASS
      auth_pass 1111
   }
   virtual_ipaddress {
      192.0.2.1
   }
}
`
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	in := c.Instances[0]
	got := []any{in.StrictMode, in.State, in.Auth == nil, in.PreemptDelay, in.Accept, in.LowerPrioNoAdvert, in.GARPLowerPrioRepeat}
	want := []any{true, StateBackup, true, in.PreemptDelay * 0, false, true, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("strict, state, no auth, preempt_delay, accept, lower_prio_no_advert, garp_lower_prio_repeat (-want +got):\n%s", diff)
	}
	wantW := []string{
		"k.conf:4: vrrp_instance: vrrp_instance V does not accept (no_accept, or strict mode's default): keepalived 2.2.7 adds firewall rules that drop traffic to its virtual addresses while it is MASTER; the director adds none, so they answer (add your own rules where that matters)",
		"k.conf:5: state: with vrrp_strict, state MASTER must match being the address owner (priority 255): keepalived 2.2.7 starts it as BACKUP (read the same way)",
		"k.conf:9: preempt_delay: with vrrp_strict, keepalived 2.2.7 resets preempt_delay to 0 (read the same way)",
		"k.conf:10: authentication: with vrrp_strict, keepalived 2.2.7 ignores authentication and sends adverts without it (read the same way)",
	}
	if diff := cmp.Diff(wantW, warnStrings(warns)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}

	t.Run("refused", func(t *testing.T) {
		tests := []struct{ name, body, want string }{
			{"unicast peers", "unicast_peer {\n192.0.2.9\n}\nvirtual_ipaddress {\n192.0.2.1\n}\n", "k.conf:4: unicast_peer: bad value: with strict_mode at k.conf:3, keepalived 2.2.7 refuses unicast peers"},
			{"no VIP", "", "k.conf:1: vrrp_instance: bad value: vrrp_instance V has no virtual_ipaddress: keepalived 2.2.7 requires one with VRRP version 3 or strict mode"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := readString("vrrp_instance V {\ninterface eth0\nstrict_mode\n" + tt.body + "virtual_router_id 1\n}\n")
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want %q", err, tt.want)
				}
			})
		}
	})
}

// TestReadAcceptedAsKeepalived reads lines the reader once refused although keepalived
// 2.2.7 runs them.
func TestReadAcceptedAsKeepalived(t *testing.T) {
	src := `global_defs {
   enable_script_security 0
   default_interface bond0
}
vrrp_script chk {
   script "/bin/false"
}
vrrp_script chk {
   script "/bin/true"
}
vrrp_instance V {
   interface eth0
   virtual_router_id 1
   nopreempt 1
   unicast_src_ip 192.0.2.2/24
   unicast_peer {
      192.0.2.3/24
   }
   track_script {
      chk
   }
}
vrrp_instance W {
   unicast_src_ip 192.0.2.2
   unicast_peer {
      192.0.2.3
   }
   virtual_router_id 2
   virtual_ipaddress {
      192.0.2.10
   }
}
`
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	v, w := c.Instances[0], c.Instances[1]
	got := []any{c.Global.EnableScriptSecurity, v.Nopreempt, v.UnicastSrcIP, v.UnicastPeers, len(c.Scripts), c.Scripts[0].Command.Args[0], w.VIPs[0].Dev}
	want := []any{true, true, netip.MustParseAddr("192.0.2.2"), []netip.Addr{netip.MustParseAddr("192.0.2.3")}, 1, "/bin/true", "bond0"}
	if diff := cmp.Diff(want, got, eqNetip); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantW := []string{
		`k.conf:2: enable_script_security: keepalived 2.2.7 ignores "0" after enable_script_security and sets it (read the same way)`,
		"k.conf:8: vrrp_script: vrrp_script chk is defined twice (first at k.conf:5): keepalived 2.2.7 uses the last (read the same way)",
		`k.conf:11: vrrp_instance: vrrp_instance V has no virtual_ipaddress: keepalived 2.2.7 runs it ("at least one is sensible")`,
		`k.conf:14: nopreempt: keepalived 2.2.7 ignores "1" after nopreempt and sets it (read the same way)`,
	}
	if diff := cmp.Diff(wantW, warnStrings(warns)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestReadVirtualServerAsKeepalived covers keepalived 2.2.7's virtual_server defaults:
// UDP without protocol, and a DR real server on another port, which IPVS uses on the
// virtual server's port while the checker connects to the port written.
func TestReadVirtualServerAsKeepalived(t *testing.T) {
	src := `virtual_server 192.0.2.1 0 {
   lb_kind DR
   persistence_timeout 50
   real_server 198.51.100.1 443 {
      TCP_CHECK {
      }
   }
}
`
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	vs := c.VirtualServers[0]
	rs := vs.RealServers[0]
	got := []any{vs.Protocol, rs.Addr, rs.Checks[0].ConnectIP, rs.Checks[0].ConnectPort}
	want := []any{ProtocolUDP, netip.MustParseAddrPort("198.51.100.1:0"), netip.MustParseAddr("198.51.100.1"), uint16(443)}
	if diff := cmp.Diff(want, got, eqNetip); diff != "" {
		t.Errorf("protocol, real server, check address and port (-want +got):\n%s", diff)
	}
	wantW := []string{
		`k.conf:1: virtual_server: no protocol: keepalived 2.2.7 defaults to UDP ("no protocol set - defaulting to UDP"; read the same way): write protocol TCP if TCP is meant`,
		"k.conf:4: real_server: DR cannot change the port: keepalived resets the real server's port to 0 for IPVS and health-checks port 443 (read the same way)",
	}
	if diff := cmp.Diff(wantW, warnStrings(warns)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestReadConditionalLines reads keepalived's "@ID line" and "@^ID line" (doc/samples
// keepalived.conf.conditional_conf): kept on the host whose config ID matches (or, for
// @^, does not), dropped elsewhere.
func TestReadConditionalLines(t *testing.T) {
	src := `vrrp_instance V {
   interface eth0
   virtual_router_id 1
@high   priority 200
@low    priority 100
@^high  advert_int 2
@high
   virtual_ipaddress {
      192.0.2.1
   }
}
`
	fsys := fstest.MapFS{"k.conf": {Data: []byte(src)}}
	for _, tt := range []struct {
		id       string
		priority int
		advert   time.Duration
	}{
		{"high", 200, time.Second},
		{"low", 100, 2 * time.Second},
		{"other", 100, 2 * time.Second},
	} {
		c, _, err := read(context.Background(), fsSource{fsys}, "k.conf", tt.id)
		if err != nil {
			t.Fatalf("config ID %s: %v", tt.id, err)
		}
		in := c.Instances[0]
		if in.Priority != tt.priority || in.AdvertInt != tt.advert {
			t.Errorf("config ID %s: priority %d, advert_int %v; want %d, %v", tt.id, in.Priority, in.AdvertInt, tt.priority, tt.advert)
		}
	}
}

// TestReadParameters reads keepalived's $NAME=VALUE parameters: a definition line, then
// $NAME and ${NAME} replaced wherever they appear (include paths too), definitions
// using others ($NAME must end at a blank, a comma, a ) or the line's end, so $IF" stays
// as written, as in keepalived), and a definition that never stops expanding refused with its line.
func TestReadParameters(t *testing.T) {
	fsys := fstest.MapFS{
		"k.conf": {Data: []byte(`$IF=eth1   # the interface
$VIP = 192.0.2.7
$ADDR=${VIP}/24
$FILE=more
vrrp_instance V {
   interface $IF
   virtual_router_id 3
   virtual_ipaddress {
      $ADDR dev ${IF}
   }
   notify "/bin/echo ${IF} $IF"
}
include ${FILE}.conf
`)},
		"more.conf": {Data: []byte("global_defs {\n router_id r-$IF\n}\n")},
	}
	c, _, err := Read(fsys, "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	in := c.Instances[0]
	got := []any{in.Interface, in.VIPs[0].Prefix.String(), in.VIPs[0].Dev, in.Notify.Args, c.Global.RouterID}
	want := []any{"eth1", "192.0.2.7/24", "eth1", []string{"/bin/echo", "eth1", "$IF"}, "r-eth1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	for _, tt := range []struct{ name, src, want string }{
		{"endless", "$A=$A x\nglobal_defs {\n router_id $A\n}\n", "k.conf:3: (line): limit exceeded: parameter substitution does not end"},
		{"multi-line", "$A=a \\\n b\n", "k.conf:1: $A=a \\: syntax error: multi-line parameter definitions are not supported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readString(tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
