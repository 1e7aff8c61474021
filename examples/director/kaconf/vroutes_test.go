package kaconf

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const routesConf = `static_routes {
   10.9.0.0/16 via 192.0.2.254 dev eth0 metric 5
   blackhole 10.66.0.0/16 table 100
}
vrrp_instance VI_1 {
   interface eth0
   virtual_router_id 1
   virtual_ipaddress {
     192.0.2.1
   }
   virtual_routes {
     src 192.0.2.1 to 198.51.100.0/24 gw 192.0.2.254 dev eth0 scope global table main preference 7
     to unreachable 203.0.113.7
     default via 192.0.2.254 table 200
     10.1.0.0/24 oif eth0 scope link
   }
}
static_routes {
   prohibit 2001:db8:66::/48
   default via 2001:db8::1 dev eth1
}
`

func TestReadRoutes(t *testing.T) {
	c, warns, err := readString(routesConf)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || warns[0].Pos.Line != 12 || !strings.Contains(warns[0].Message, `"gw" for routes is deprecated`) {
		t.Errorf("warnings: %v, want gw's deprecation at line 12", warns)
	}
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	wantStatic := []Route{
		{Pos: Pos{"k.conf", 2}, Dst: p("10.9.0.0/16"), Via: a("192.0.2.254"), Dev: "eth0", Metric: 5},
		{Pos: Pos{"k.conf", 3}, Type: "blackhole", Dst: p("10.66.0.0/16"), Table: 100},
		{Pos: Pos{"k.conf", 19}, Type: "prohibit", Dst: p("2001:db8:66::/48")},
		{Pos: Pos{"k.conf", 20}, Dst: p("::/0"), Via: a("2001:db8::1"), Dev: "eth1"},
	}
	if diff := cmp.Diff(wantStatic, c.StaticRoutes, eqNetip); diff != "" {
		t.Errorf("static_routes (-want +got):\n%s", diff)
	}
	wantVirtual := []Route{
		{Pos: Pos{"k.conf", 12}, Dst: p("198.51.100.0/24"), Src: a("192.0.2.1"), Via: a("192.0.2.254"), Dev: "eth0", Metric: 7},
		{Pos: Pos{"k.conf", 13}, Type: "unreachable", Dst: p("203.0.113.7/32")},
		{Pos: Pos{"k.conf", 14}, Dst: p("0.0.0.0/0"), Via: a("192.0.2.254"), Table: 200},
		{Pos: Pos{"k.conf", 15}, Dst: p("10.1.0.0/24"), Dev: "eth0", Scope: "link"},
	}
	if diff := cmp.Diff(wantVirtual, c.Instances[0].VirtualRoutes, eqNetip); diff != "" {
		t.Errorf("virtual_routes (-want +got):\n%s", diff)
	}

	// Format writes the routes back in canonical form, and reading it gives the
	// same routes.
	out := string(Format(c))
	for _, line := range []string{
		"static_routes {",
		"blackhole 10.66.0.0/16 table 100",
		"198.51.100.0/24 src 192.0.2.1 via 192.0.2.254 dev eth0 metric 7",
		"unreachable 203.0.113.7/32",
		"0.0.0.0/0 via 192.0.2.254 table 200",
		"::/0 via 2001:db8::1 dev eth1",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("Format output lacks %q:\n%s", line, out)
		}
	}
	c2, _, err := readString(out)
	if err != nil {
		t.Fatalf("reading Format's output: %v\n%s", err, out)
	}
	ignorePos := cmp.Comparer(func(a, b Pos) bool { return true })
	if diff := cmp.Diff(c.StaticRoutes, c2.StaticRoutes, ignorePos, eqNetip); diff != "" {
		t.Errorf("static_routes after Format (-read +reread):\n%s", diff)
	}
	if diff := cmp.Diff(c.Instances[0].VirtualRoutes, c2.Instances[0].VirtualRoutes, ignorePos, eqNetip); diff != "" {
		t.Errorf("virtual_routes after Format (-read +reread):\n%s", diff)
	}
}

// TestReadMultipathRoutes: keepalived's deprecated "via A or B" and its nexthop
// lines read as multipath routes, and Format writes them back as nexthop lines.
func TestReadMultipathRoutes(t *testing.T) {
	c, warns, err := readString(`static_routes {
   10.8.0.0/16 via 192.0.2.252 or 192.0.2.253 dev eth0 or 192.0.2.9
   10.7.0.0/16 metric 3 nexthop via 192.0.2.1 dev eth1 weight 3 nexthop dev eth2 nexthop gw 192.0.2.2
   default nexthop via 2001:db8::1 nexthop via 2001:db8::2 weight 256
}
`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.Pos.String()+" "+w.Message[:24])
	}
	want := []string{`k.conf:2 "or" for routes is depre`, `k.conf:2 second "or" 192.0.2.9: k`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	wantRoutes := []Route{
		{Pos: Pos{"k.conf", 2}, Dst: p("10.8.0.0/16"), Dev: "eth0", Nexthops: []Nexthop{{Via: a("192.0.2.252")}, {Via: a("192.0.2.253")}}},
		{Pos: Pos{"k.conf", 3}, Dst: p("10.7.0.0/16"), Metric: 3, Nexthops: []Nexthop{
			{Via: a("192.0.2.1"), Dev: "eth1", Weight: 3}, {Dev: "eth2"}, {Via: a("192.0.2.2")}}},
		{Pos: Pos{"k.conf", 4}, Dst: p("::/0"), Nexthops: []Nexthop{{Via: a("2001:db8::1")}, {Via: a("2001:db8::2"), Weight: 256}}},
	}
	if diff := cmp.Diff(wantRoutes, c.StaticRoutes, eqNetip); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	out := string(Format(c))
	if line := "10.8.0.0/16 dev eth0 nexthop via 192.0.2.252 nexthop via 192.0.2.253"; !strings.Contains(out, line) {
		t.Errorf("Format output lacks %q:\n%s", line, out)
	}
	c2, _, err := readString(out)
	if err != nil {
		t.Fatalf("reading Format's output: %v\n%s", err, out)
	}
	ignorePos := cmp.Comparer(func(a, b Pos) bool { return true })
	if diff := cmp.Diff(c.StaticRoutes, c2.StaticRoutes, ignorePos, eqNetip); diff != "" {
		t.Errorf("routes after Format (-read +reread):\n%s", diff)
	}
}

func TestReadRoutesErrors(t *testing.T) {
	for _, tc := range []struct {
		line string
		want string
		is   error
	}{
		{"10.0.0.0/8 via 192.0.2.1 onlink", `virtual_routes option "onlink" is not supported`, ErrUnknownKeyword},
		{"10.0.0.0/8 via 192.0.2.1 protocol 18", `virtual_routes option "protocol" is not supported`, ErrUnknownKeyword},
		{"10.0.0.0/8 or 192.0.2.2", `"or" 192.0.2.2 needs a via before it`, ErrValue},
		{"10.0.0.0/8 via 192.0.2.1 or", "option or needs an address", ErrSyntax},
		{"10.0.0.0/8 via 192.0.2.1 or 2001:db8::2", "next hop 2001:db8::2 is not of the destination's family", ErrValue},
		{"10.0.0.0/8 via 192.0.2.1 nexthop via 192.0.2.2", "has both via and next hops", ErrValue},
		{"10.0.0.0/8 via 192.0.2.1 or 192.0.2.2 nexthop via 192.0.2.3", "nexthop with \"or\"", ErrValue},
		{"10.0.0.0/8 nexthop via 192.0.2.1 onlink", `nexthop option "onlink" is not supported`, ErrUnknownKeyword},
		{"10.0.0.0/8 nexthop via 192.0.2.1 weight 257", `nexthop weight "257" is not a number in 1..256`, ErrValue},
		{"10.0.0.0/8 nexthop weight 2", "a nexthop needs via or dev", ErrValue},
		{"10.0.0.0/8 nexthop via", "nexthop option via needs a value", ErrSyntax},
		{"blackhole 10.0.0.0/8 nexthop dev eth0", "a blackhole route takes no via, dev or next hops", ErrValue},
		{"10.0.0.0/8 dev eth0 no_track", `virtual_routes option "no_track" is not supported`, ErrUnknownKeyword},
		{"throw 10.0.0.0/8", `route type "throw" is not supported`, ErrUnknownKeyword},
		{"10.0.0.0/8", "route to 10.0.0.0/8 needs via or dev", ErrValue},
		{"blackhole 10.0.0.0/8 dev eth0", "a blackhole route takes no via, dev or next hops", ErrValue},
		{"10.0.0.1/8 dev eth0", "has bits set past its length", ErrValue},
		{"10.0.0.0/8 via 2001:db8::1", "via 2001:db8::1 is not of the destination's family", ErrValue},
		{"10.0.0.0/8 via 192.0.2.1 metric -1", `metric "-1" is not a number`, ErrValue},
		{"10.0.0.0/8 via 192.0.2.1 table 0", `table "0" is not main`, ErrValue},
		{"10.0.0.0/8 via 192.0.2.1 scope universe", `scope "universe" is not one of`, ErrValue},
		{"10.0.0.0/8 via", "option via needs a value", ErrSyntax},
		{"src 192.0.2.1 dev eth0", "route has no destination", ErrSyntax},
		{"nowhere.example dev eth0", `"nowhere.example" is not an address`, ErrValue},
	} {
		src := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n virtual_routes {\n  " + tc.line + "\n }\n}\n"
		_, _, err := readString(src)
		if err == nil {
			t.Errorf("%q: no error", tc.line)
			continue
		}
		if !strings.Contains(err.Error(), "k.conf:8") || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
			t.Errorf("%q: error %q, want k.conf:8 and %q (%v)", tc.line, err, tc.want, tc.is)
		}
	}
	// static_routes errors name the block and line too.
	_, _, err := readString("static_routes {\n 10.0.0.0/8 via 192.0.2.1 mtu 1400\n}\n")
	if err == nil || !strings.Contains(err.Error(), "k.conf:2") || !strings.Contains(err.Error(), `static_routes option "mtu" is not supported`) {
		t.Errorf("static_routes mtu: %v", err)
	}
}
