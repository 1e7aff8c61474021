package kaconf

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const groupConf = `virtual_server_group WEB {
   192.0.2.10 80
   192.0.2.20-22 443
   2001:db8::a-c 80
   fwmark 7
   192.0.2.30
}
virtual_server group WEB {
   protocol TCP
   real_server 198.51.100.1 8080 {
      TCP_CHECK {
      }
   }
   real_server 198.51.100.2 {
   }
}
`

func TestReadVSGroup(t *testing.T) {
	c, warns, err := readString(groupConf)
	if err != nil {
		t.Fatal(err)
	}
	mp := netip.MustParseAddrPort
	ma := netip.MustParseAddr
	want := []VirtualServerGroup{{Pos: at("k.conf", 1), Name: "WEB", Members: []VSGroupMember{
		{Pos: at("k.conf", 2), Addr: mp("192.0.2.10:80"), Last: ma("192.0.2.10")},
		{Pos: at("k.conf", 3), Addr: mp("192.0.2.20:443"), Last: ma("192.0.2.22")},
		{Pos: at("k.conf", 4), Addr: mp("[2001:db8::a]:80"), Last: ma("2001:db8::c")},
		{Pos: at("k.conf", 5), FWMark: 7},
		{Pos: at("k.conf", 6), Addr: mp("192.0.2.30:0"), Last: ma("192.0.2.30")},
	}}}
	if diff := cmp.Diff(want, c.VirtualServerGroups, eqNetip); diff != "" {
		t.Fatalf("groups (-want +got):\n%s", diff)
	}
	if got := c.VirtualServerGroup("WEB").Members[1].Addrs(); len(got) != 3 || got[2] != ma("192.0.2.22") {
		t.Errorf("range addresses = %v", got)
	}
	vs := c.VirtualServers[0]
	if vs.Group != "WEB" || vs.Addr.IsValid() || vs.FWMark != 0 || vs.Protocol != ProtocolTCP {
		t.Errorf("virtual server = group %q addr %v fwmark %d protocol %q", vs.Group, vs.Addr, vs.FWMark, vs.Protocol)
	}
	// A member without a port makes the services persistent, as keepalived.
	if vs.PersistenceTimeout != defaultPersistence {
		t.Errorf("persistence = %v, want %v (a port-0 member)", vs.PersistenceTimeout, defaultPersistence)
	}
	if !strings.Contains(warnText(warns), "port 0") {
		t.Errorf("no port-0 warning in %v", warns)
	}
	// A real server without a port keeps port 0: each service's own port.
	if p := vs.RealServers[1].Addr.Port(); p != 0 {
		t.Errorf("real server port = %d, want 0", p)
	}
	roundTrip(t, "groupConf", c)
	out := string(Format(c))
	for _, s := range []string{"virtual_server_group WEB {\n   192.0.2.10 80\n   192.0.2.20-22 443\n   2001:db8::a-c 80\n   fwmark 7\n   192.0.2.30 0\n}\n", "virtual_server group WEB {\n   protocol TCP\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("Format lacks %q:\n%s", s, out)
		}
	}
}

func warnText(ws []Warning) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.Message + "\n")
	}
	return b.String()
}

func TestReadVSGroupMarksOnly(t *testing.T) {
	c, _, err := readString("virtual_server_group M {\n fwmark 1\n fwmark 0x10\n fwmark 1 inet6\n}\nvirtual_server group M {\n protocol TCP\n real_server 198.51.100.1 80 {\n }\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	// keepalived ignores the protocol of a group of fwmarks alone.
	if vs := c.VirtualServers[0]; vs.Protocol != "" || vs.PersistenceTimeout != 0 {
		t.Errorf("protocol %q persistence %v, want none", vs.Protocol, vs.PersistenceTimeout)
	}
	if m := c.VirtualServerGroups[0].Members; len(m) != 3 || m[1].FWMark != 16 || m[2].Family != "inet6" || m[0].Family != "" {
		t.Errorf("members = %+v", m)
	}
	roundTrip(t, "marks", c)
	if out := string(Format(c)); !strings.Contains(out, "   fwmark 1 inet6\n") {
		t.Errorf("Format lacks the family:\n%s", out)
	}
}

func TestReadVSGroupErrors(t *testing.T) {
	const vs = "virtual_server group G {\n protocol TCP\n real_server 198.51.100.1 80 {\n }\n}\n"
	tests := []struct {
		name, src string
		line      int
		sentinel  error
		msg       string
	}{
		{"unknown group", vs, 1, ErrReference, "virtual_server_group G is not defined"},
		{"empty group", "virtual_server_group G {\n}\n" + vs, 1, ErrValue, "no entries"},
		{"range backwards", "virtual_server_group G {\n 192.0.2.9-3 80\n}\n" + vs, 2, ErrValue, "not greater"},
		{"range equal", "virtual_server_group G {\n 192.0.2.9-9 80\n}\n" + vs, 2, ErrValue, "not greater"},
		{"range too large", "virtual_server_group G {\n 192.0.2.1-256 80\n}\n" + vs, 2, ErrValue, "0..255"},
		{"range v6 decimal words", "virtual_server_group G {\n 2001:db8::1-1g 80\n}\n" + vs, 2, ErrValue, "0..65535"},
		{"full end address", "virtual_server_group G {\n 192.0.2.1-192.0.2.9 80\n}\n" + vs, 2, ErrValue, "not an address"},
		{"prefix", "virtual_server_group G {\n 192.0.2.0/24 80\n}\n" + vs, 2, ErrValue, "not supported"},
		{"bad address", "virtual_server_group G {\n 192.0.2 80\n}\n" + vs, 2, ErrValue, "not an IP address"},
		{"bad port", "virtual_server_group G {\n 192.0.2.1 70000\n}\n" + vs, 2, ErrValue, ""},
		{"fwmark 0", "virtual_server_group G {\n fwmark 0\n}\n" + vs, 2, ErrValue, "fwmark"},
		{"fwmark family", "virtual_server_group G {\n fwmark 1 inet4\n}\n" + vs, 2, ErrValue, "not inet or inet6"},
		{"fwmark extra", "virtual_server_group G {\n fwmark 1 inet 2\n}\n" + vs, 2, ErrSyntax, "optionally inet or inet6"},
		{"fwmark twice", "virtual_server_group G {\n fwmark 1 inet6\n fwmark 1 inet6\n}\n" + vs, 3, ErrReference, "fwmark 1 inet6 is already in"},
		{"block inside", "virtual_server_group G {\n 192.0.2.1 80 {\n }\n}\n" + vs, 2, ErrSyntax, "block"},
		{"duplicate member", "virtual_server_group G {\n 192.0.2.1-5 80\n 192.0.2.3 80\n}\n" + vs, 3, ErrReference, "192.0.2.3:80 is already in virtual_server_group G at k.conf:2"},
		{"duplicate group", "virtual_server_group G {\n fwmark 1\n}\nvirtual_server_group G {\n fwmark 2\n}\n" + vs, 4, ErrReference, "already defined at k.conf:1"},
		{"no name", "virtual_server group {\n}\n", 1, ErrSyntax, "needs a virtual_server_group name"},
		{"clash with plain", "virtual_server_group G {\n 192.0.2.1-3 80\n}\n" + vs + "virtual_server 192.0.2.2 80 {\n protocol TCP\n real_server 198.51.100.1 80 {\n }\n}\n", 4, ErrReference, "192.0.2.2:80 of virtual_server_group G is already defined by the virtual server at k.conf:9"},
		{"two users, one protocol", "virtual_server_group G {\n fwmark 3\n}\n" + vs + vs, 9, ErrReference, "fwmark 3 of virtual_server_group G"},
		{"too many", "virtual_server_group G {\n 2001:db8::1-ffff 80\n}\n" + vs, 2, ErrLimit, "more than 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readString(tt.src)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			var e *Error
			if !errors.As(err, &e) || e.Pos != at("k.conf", tt.line) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want k.conf:%d and %q", err, tt.line, tt.msg)
			}
		})
	}
	// Two virtual servers may share a group with different protocols (TCP and UDP
	// on the same addresses), as in keepalived's examples.
	udp := strings.Replace(vs, "TCP", "UDP", 1)
	if _, _, err := readString("virtual_server_group G {\n 192.0.2.1 53\n}\n" + vs + udp); err != nil {
		t.Errorf("TCP and UDP on one group: %v", err)
	}
}
