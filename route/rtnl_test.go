package route

import (
	"net/netip"
	"testing"
)

func FuzzRtmsg(f *testing.F) {
	for _, m := range []rtmsg{
		{family: afInet, dstLen: 32, table: 100, protocol: DefaultProtocol, typ: rtnBlackhole, dst: netip.MustParseAddr("192.0.2.1")},
		{family: afInet6, dstLen: 128, table: 70000, protocol: 109, scope: rtScopeNowhere, dst: netip.MustParseAddr("2001:db8::1"), oif: 1, priority: 1024},
		{family: afInet, table: 254},
	} {
		b, err := m.marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{2, 32, 0, 0, 100, 108, 0, 6, 0, 0, 0, 0, 8, 0, 1, 0, 192, 0, 2}) // short RTA_DST
	f.Fuzz(func(t *testing.T, b []byte) {
		var m rtmsg
		if err := m.unmarshal(b); err != nil {
			return
		}
		out, err := m.marshal()
		if err != nil {
			t.Fatalf("marshal of a decoded message: %v", err)
		}
		var again rtmsg
		if err := again.unmarshal(out); err != nil {
			t.Fatalf("unmarshal of a marshalled message: %v", err)
		}
		if again != m {
			t.Fatalf("round trip: %+v, want %+v", again, m)
		}
	})
}

func TestRtmsgRejects(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{name: "short header", b: []byte{2, 32, 0, 0}},
		{name: "IPv6 address in an IPv4 route", b: func() []byte {
			m := rtmsg{family: afInet6, dstLen: 128, dst: netip.MustParseAddr("2001:db8::1")}
			b, _ := m.marshal()
			b[0] = afInet
			return b
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m rtmsg
			if err := m.unmarshal(tt.b); err == nil {
				t.Errorf("unmarshal accepted %x as %+v", tt.b, m)
			}
		})
	}
}
