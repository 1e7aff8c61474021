package kaconf

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const rulesConf = `global_defs {
   default_interface eth9
}
static_rules {
   from 192.0.2.0/24 table 100 preference 100
   to 198.51.100.0/24 not lookup main priority 200 tos 0x10 fwmark 7/0xff iif eth0 oif eth1
   from 2001:db8::/32 uidrange 1000-2000 ipproto tcp sport 1000-2000 dport 80-80 table 101 order 300
   from all preference 400 suppress_prefixlength 0 table main
   from 192.0.2.9 preference 10 goto 100
   from 192.0.2.10 preference 11 type prohibit
   from 192.0.2.11 table 7
}
static_ipaddress {
   192.0.2.50/24 dev eth0 scope link
   192.0.2.51
}
vrrp_instance VI_1 {
   interface eth0
   virtual_router_id 1
   virtual_ipaddress {
     192.0.2.1
   }
   virtual_rules {
     from 203.0.113.0/24 table 200 preference 500
     to 203.0.113.7 blackhole
     to 2001:db8:7::/48 fwmark 5/0xffffffff nop
   }
}
`

func TestReadRules(t *testing.T) {
	c, warns, err := readString(rulesConf)
	if err != nil {
		t.Fatal(err)
	}
	// Preferences are given as keepalived 2.2.7 gives them (its -t says so for
	// the IPv4 ones): counting down from 16384 per family.
	var got []string
	for _, w := range warns {
		got = append(got, w.Pos.String()+" "+w.Message)
	}
	want := []string{
		`k.conf:11 rule has no preference: set to 16384 as keepalived 2.2.7 does ("This is probably not what you want")`,
		`k.conf:25 rule has no preference: set to 16383 as keepalived 2.2.7 does ("This is probably not what you want")`,
		`k.conf:26 rule has no preference: set to 16384 as keepalived 2.2.7 does ("This is probably not what you want")`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	p := netip.MustParsePrefix
	wantStatic := []Rule{
		{Pos: Pos{"k.conf", 5}, From: p("192.0.2.0/24"), Priority: 100, Action: "table", Table: 100},
		{Pos: Pos{"k.conf", 6}, To: p("198.51.100.0/24"), Not: true, Priority: 200, TOS: 0x10, FwMark: 7, FwMask: 0xff,
			Iif: "eth0", Oif: "eth1", Action: "table", Table: 254},
		{Pos: Pos{"k.conf", 7}, V6: true, From: p("2001:db8::/32"), UIDRange: [2]uint32{1000, 2000}, HasUIDRange: true,
			IPProto: 6, SPort: [2]uint16{1000, 2000}, DPort: [2]uint16{80, 80}, Action: "table", Table: 101, Priority: 300},
		{Pos: Pos{"k.conf", 8}, Priority: 400, HasSuppressPrefixLen: true, Action: "table", Table: 254},
		{Pos: Pos{"k.conf", 9}, From: p("192.0.2.9/32"), Priority: 10, Action: "goto", Goto: 100},
		{Pos: Pos{"k.conf", 10}, From: p("192.0.2.10/32"), Priority: 11, Action: "prohibit"},
		{Pos: Pos{"k.conf", 11}, From: p("192.0.2.11/32"), Priority: 16384, Action: "table", Table: 7},
	}
	if diff := cmp.Diff(wantStatic, c.StaticRules, eqNetip); diff != "" {
		t.Errorf("static_rules (-want +got):\n%s", diff)
	}
	wantVirtual := []Rule{
		{Pos: Pos{"k.conf", 24}, From: p("203.0.113.0/24"), Priority: 500, Action: "table", Table: 200},
		{Pos: Pos{"k.conf", 25}, To: p("203.0.113.7/32"), Priority: 16383, Action: "blackhole"},
		{Pos: Pos{"k.conf", 26}, V6: true, To: p("2001:db8:7::/48"), FwMark: 5, Priority: 16384, Action: "nop"},
	}
	if diff := cmp.Diff(wantVirtual, c.Instances[0].VirtualRules, eqNetip); diff != "" {
		t.Errorf("virtual_rules (-want +got):\n%s", diff)
	}
	wantAddrs := []VIP{
		{Pos: Pos{"k.conf", 14}, Prefix: p("192.0.2.50/24"), Dev: "eth0", Scope: "link"},
		{Pos: Pos{"k.conf", 15}, Prefix: p("192.0.2.51/32"), Dev: "eth9"}, // default_interface
	}
	if diff := cmp.Diff(wantAddrs, c.StaticAddresses, eqNetip); diff != "" {
		t.Errorf("static_ipaddress (-want +got):\n%s", diff)
	}

	// Format writes them back in canonical form, every preference written, and
	// reading it gives the same rules and addresses.
	out := string(Format(c))
	for _, line := range []string{
		"static_rules {",
		"to 198.51.100.0/24 not preference 200 tos 16 fwmark 7/0xff iif eth0 oif eth1 table 254",
		"from 2001:db8::/32 preference 300 uidrange 1000-2000 ipproto 6 sport 1000-2000 dport 80-80 table 101",
		"from 192.0.2.9/32 preference 10 goto 100",
		"virtual_rules {",
		"to 203.0.113.7/32 preference 16383 blackhole",
		"static_ipaddress {",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("Format output lacks %q:\n%s", line, out)
		}
	}
	c2, warns2, err := readString(out)
	if err != nil {
		t.Fatalf("reading Format's output: %v\n%s", err, out)
	}
	if len(warns2) != 0 {
		t.Errorf("Format's output warns: %v", warns2)
	}
	ignorePos := cmp.Comparer(func(a, b Pos) bool { return true })
	if diff := cmp.Diff(c.StaticRules, c2.StaticRules, ignorePos, eqNetip); diff != "" {
		t.Errorf("static_rules after Format (-read +reread):\n%s", diff)
	}
	if diff := cmp.Diff(c.Instances[0].VirtualRules, c2.Instances[0].VirtualRules, ignorePos, eqNetip); diff != "" {
		t.Errorf("virtual_rules after Format (-read +reread):\n%s", diff)
	}
	if diff := cmp.Diff(c.StaticAddresses, c2.StaticAddresses, ignorePos, eqNetip); diff != "" {
		t.Errorf("static_ipaddress after Format (-read +reread):\n%s", diff)
	}
}

// TestReadRulesErrors: every refused option and bad value is an error naming the
// block, the word and the line.
func TestReadRulesErrors(t *testing.T) {
	for _, tc := range []struct {
		line string
		want string
		is   error
	}{
		{"from 192.0.2.0/24 realms 3 table 7 preference 5", `virtual_rules option "realms" is not supported`, ErrUnknownKeyword},
		{"from 192.0.2.0/24 l3mdev preference 5", `virtual_rules option "l3mdev" is not supported`, ErrUnknownKeyword},
		{"from 192.0.2.0/24 table 7 preference 5 protocol 18", `virtual_rules option "protocol" is not supported`, ErrUnknownKeyword},
		{"from 192.0.2.0/24 table 7 preference 5 no_track", `virtual_rules option "no_track" is not supported`, ErrUnknownKeyword},
		{"from 192.0.2.0/24 table 7 preference 5 tunnel-id 3", `virtual_rules option "tunnel-id" is not supported`, ErrUnknownKeyword},
		{"from 192.0.2.0/24 table 7 preference 5 sup_group 3", `virtual_rules option "sup_group" is not supported`, ErrUnknownKeyword},
		{"inet6 from 2001:db8::/32 table 7 preference 5", `virtual_rules option "inet6" is not supported (keepalived 2.2.7 ignores the word after it`, ErrUnknownKeyword},
		{"from 192.0.2.0/24 table 7 preference 5 frob 3", `virtual_rules option "frob" is not supported`, ErrUnknownKeyword},
		{"from 192.0.2.0/24 table 7 pref 5", `virtual_rules option "pref" is not supported`, ErrUnknownKeyword},
		{"from 192.0.2.0/24 preference 5 type throw", `rule type "throw" is not supported`, ErrUnknownKeyword},
		{"from 192.0.2.0/24 preference 100", "rule has no action", ErrValue},
		{"from 192.0.2.0/24 preference 100 goto 50", "preference 100 is not below goto target 50", ErrValue},
		{"from 192.0.2.0/24 goto 50", "goto 50 needs a preference", ErrValue},
		{"from 192.0.2.0/24 table 1 blackhole preference 3", "a rule has one action (table and blackhole)", ErrValue},
		{"from 192.0.2.0/24 blackhole suppress_prefixlength 0 preference 3", "suppress_prefixlength needs a table action", ErrValue},
		{"from 192.0.2.1/24 table 3 preference 3", "from 192.0.2.1/24 has bits set past its length", ErrValue},
		{"from 192.0.2.0/24 to 2001:db8::1 table 3 preference 3", "mixes IPv4 and IPv6", ErrValue},
		{"from 192.0.2.0/24 table 0 preference 3", `table "0" is not main`, ErrValue},
		{"from 192.0.2.0/24 table 3 preference -3", `preference "-3" is not a number`, ErrValue},
		{"from 192.0.2.0/24 table 3 preference 3 dport 80", `dport "80" is not a range P-Q`, ErrValue},
		{"from 192.0.2.0/24 table 3 preference 3 sport 0-3", `sport "0-3" is not a range P-Q`, ErrValue},
		{"from 192.0.2.0/24 table 3 preference 3 ipproto 200", `ipproto "200" is not a protocol number`, ErrValue},
		{"from 192.0.2.0/24 table 3 preference 3 uidrange 7", `uidrange "7" is not a range A-B`, ErrValue},
		{"from 192.0.2.0/24 table 3 preference 3 uidrange 0-4294967295", `uidrange "0-4294967295" is not a range A-B of user IDs with A <= B < 4294967295`, ErrValue},
		{"from 192.0.2.0/24 table 3 preference 3 fwmark x", `fwmark "x" is not N or N/MASK`, ErrValue},
		{"from 192.0.2.0/24 table 3 preference 3 fwmark 5/0", `fwmark "5/0" is not N or N/MASK`, ErrValue},
		{"from 192.0.2.0/24 table 3 preference 3 tos 300", `tos "300" is not a number in 0..255`, ErrValue},
		{"from 192.0.2.0/24 table", "option table needs a value", ErrSyntax},
		{"from 192.0.2.0/24 table 3 preference 3 oif abcdefghijklmnop", `oif "abcdefghijklmnop" is not an interface name`, ErrValue},
		{"from nowhere.example table 3 preference 3", `"nowhere.example" is not an address`, ErrValue},
	} {
		src := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n virtual_rules {\n  " + tc.line + "\n }\n}\n"
		_, _, err := readString(src)
		if err == nil {
			t.Errorf("%q: no error", tc.line)
			continue
		}
		if !strings.Contains(err.Error(), "k.conf:8") || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
			t.Errorf("%q: error %q, want k.conf:8 and %q (%v)", tc.line, err, tc.want, tc.is)
		}
	}
	_, _, err := readString("static_rules {\n from 192.0.2.0/24 table 3 preference 3 track_group g\n}\n")
	if err == nil || !strings.Contains(err.Error(), "k.conf:2") || !strings.Contains(err.Error(), `static_rules option "track_group" is not supported`) {
		t.Errorf("static_rules track_group: %v", err)
	}
	_, _, err = readString("static_ipaddress {\n 192.0.2.7 dev eth0 track_group g\n}\n")
	if err == nil || !strings.Contains(err.Error(), "k.conf:2") || !strings.Contains(err.Error(), `option "track_group" is not supported`) {
		t.Errorf("static_ipaddress track_group: %v", err)
	}
}
