package main

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestARPRoundTrip(t *testing.T) {
	p := arpPacket{
		Op:        arpReply,
		SenderMAC: [6]byte{0x02, 0, 0, 0, 0, 1},
		SenderIP:  netip.MustParseAddr("192.0.2.100"),
		TargetMAC: [6]byte{0x02, 0, 0, 0, 0, 9},
		TargetIP:  netip.MustParseAddr("192.0.2.9"),
	}
	b := p.appendTo(nil)
	want := []byte{0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 0, 0, 0, 1, 192, 0, 2, 100, 2, 0, 0, 0, 0, 9, 192, 0, 2, 9}
	if !bytes.Equal(want, b) {
		t.Fatalf("encoded\n%v, want\n%v", b, want)
	}
	// Ethernet pads ARP to 46 bytes: the padding is ignored.
	got, err := parseARP(append(b, make([]byte, 18)...))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestParseARPErrors(t *testing.T) {
	good := (&arpPacket{Op: arpRequest, SenderIP: netip.IPv4Unspecified(), TargetIP: netip.IPv4Unspecified()}).appendTo(nil)
	for _, tc := range []struct {
		name string
		mod  func(b []byte) []byte
	}{
		{"truncated", func(b []byte) []byte { return b[:27] }},
		{"not Ethernet", func(b []byte) []byte { b[1] = 6; return b }},
		{"not IPv4", func(b []byte) []byte { b[2], b[3] = 0x86, 0xdd; return b }},
		{"hardware length", func(b []byte) []byte { b[4] = 8; return b }},
		{"protocol length", func(b []byte) []byte { b[5] = 16; return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseARP(tc.mod(bytes.Clone(good))); err == nil {
				t.Error("parsed without error")
			}
		})
	}
}

func FuzzParseARP(f *testing.F) {
	f.Add((&arpPacket{Op: arpReply, SenderIP: netip.MustParseAddr("192.0.2.1"), TargetIP: netip.MustParseAddr("192.0.2.2")}).appendTo(nil))
	f.Add([]byte{0, 1, 8, 0, 6, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseARP(b)
		if err != nil {
			return
		}
		again := p.appendTo(nil)
		if !bytes.Equal(b[:arpLen], again) {
			t.Fatalf("round trip:\n%x\n%x", b[:arpLen], again)
		}
	})
}

func TestRogueHolders(t *testing.T) {
	m1 := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	m2 := net.HardwareAddr{2, 0, 0, 0, 0, 2}
	b1 := net.HardwareAddr{2, 0, 0, 0, 0, 3}
	b2 := net.HardwareAddr{2, 0, 0, 0, 0, 4}
	for _, tc := range []struct {
		name             string
		masters, holders []net.HardwareAddr
		want             []net.HardwareAddr
	}{
		{name: "only the master answers", masters: []net.HardwareAddr{m1}, holders: []net.HardwareAddr{m1}},
		{name: "nobody answers", masters: []net.HardwareAddr{m1}},
		{name: "a backup answers too", masters: []net.HardwareAddr{m1}, holders: []net.HardwareAddr{m1, b1}, want: []net.HardwareAddr{b1}},
		{name: "only a backup answers", masters: []net.HardwareAddr{m1}, holders: []net.HardwareAddr{b1}, want: []net.HardwareAddr{b1}},
		{name: "two masters of a split brain both answer", masters: []net.HardwareAddr{m1, m2}, holders: []net.HardwareAddr{m2, m1}},
		{name: "sorted, duplicates once", masters: []net.HardwareAddr{m1}, holders: []net.HardwareAddr{b2, b1, b2, m1}, want: []net.HardwareAddr{b1, b2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, rogueHolders(tc.masters, tc.holders), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestConflictFilter(t *testing.T) {
	v1, v2 := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")
	type step struct {
		vip                  netip.Addr
		conflict             bool
		wantRaise, wantClear bool
	}
	for _, tc := range []struct {
		name    string
		confirm int
		steps   []step
	}{
		{"a passing conflict is not reported", 3, []step{
			{v1, true, false, false}, {v1, true, false, false}, {v1, false, false, false}, {v1, true, false, false},
		}},
		{"a lasting conflict is reported once, cleared once", 3, []step{
			{v1, true, false, false}, {v1, true, false, false}, {v1, true, true, false}, {v1, true, false, false},
			{v1, false, false, true}, {v1, false, false, false},
		}},
		{"confirm 1 reports at once", 1, []step{{v1, true, true, false}, {v1, false, false, true}}},
		{"zero confirm means 1", 0, []step{{v1, true, true, false}}},
		{"VIPs are counted apart", 2, []step{
			{v1, true, false, false}, {v2, true, false, false}, {v2, true, true, false}, {v1, false, false, false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newConflictFilter(tc.confirm)
			for i, s := range tc.steps {
				raise, cleared := f.observe(s.vip, s.conflict)
				if raise != s.wantRaise || cleared != s.wantClear {
					t.Fatalf("step %d (%v conflict=%v): raise=%v cleared=%v, want %v %v", i, s.vip, s.conflict, raise, cleared, s.wantRaise, s.wantClear)
				}
			}
		})
	}
}
