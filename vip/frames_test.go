package vip

import (
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}

func TestGARPBytes(t *testing.T) {
	tests := []struct {
		name  string
		reply bool
		want  string
	}{
		{"request", false, "ffffffffffff" + "02005e102030" + "0806" +
			"0001" + "0800" + "06" + "04" + "0001" +
			"02005e102030" + "c0000264" + "000000000000" + "c0000264"},
		{"reply", true, "ffffffffffff" + "02005e102030" + "0806" +
			"0001" + "0800" + "06" + "04" + "0002" +
			"02005e102030" + "c0000264" + "02005e102030" + "c0000264"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := garp(testMAC, netip.MustParseAddr("192.0.2.100"), tt.reply)
			got := hex.EncodeToString(f.marshal())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("frame (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNABytes(t *testing.T) {
	src := netip.MustParseAddr("fe80::5eff:fe10:2030")
	target := netip.MustParseAddr("2001:db8::100")
	f := unsolicitedNA(testMAC, src, target, false)
	b := f.marshal()
	// Ethernet: all-nodes multicast MAC, IPv6.
	if got := hex.EncodeToString(b[:14]); got != "333300000001"+"02005e102030"+"86dd" {
		t.Errorf("Ethernet header = %s", got)
	}
	ip := b[14:]
	if ip[7] != 255 {
		t.Errorf("hop limit = %d, want 255", ip[7])
	}
	if got := netip.AddrFrom16([16]byte(ip[24:40])); got != netip.MustParseAddr("ff02::1") {
		t.Errorf("destination = %s, want ff02::1", got)
	}
	icmp := ip[40:]
	if icmp[0] != 136 || icmp[4] != 0x20 {
		t.Errorf("type %d flags %#x, want 136 and override only", icmp[0], icmp[4])
	}
	if got := hex.EncodeToString(icmp[24:32]); got != "0201"+"02005e102030" {
		t.Errorf("target link-layer option = %s", got)
	}
	if _, err := parseNAFrame(b); err != nil {
		t.Fatalf("parse own frame: %v", err)
	}
	b[len(b)-1] ^= 1
	if _, err := parseNAFrame(b); !errors.Is(err, errFrame) {
		t.Fatalf("a corrupted frame parsed: %v", err)
	}
	// Router flag.
	r := unsolicitedNA(testMAC, src, target, true)
	if got := r.marshal()[14+40+4]; got != 0xa0 {
		t.Errorf("router NA flags = %#x, want 0xa0", got)
	}
}

// TestICMPv6ChecksumVerifies checks the checksum independently of icmpv6Checksum:
// the one's complement sum of pseudo-header and message, checksum included, is 0xffff.
func TestICMPv6ChecksumVerifies(t *testing.T) {
	f := naFrame{
		srcIP: netip.MustParseAddr("fe80::1"), dstIP: netip.MustParseAddr("ff02::1"),
		hopLimit: 255, flags: naFlagOverride, target: netip.MustParseAddr("2001:db8::1"),
		lladdr: [6]byte{2, 0, 0, 0, 0, 1},
	}
	b := f.marshal()
	m := b[14+40:]
	var sum uint32
	for _, part := range [][]byte{b[14+8 : 14+40], m} {
		for i := 0; i < len(part); i += 2 {
			sum += uint32(part[i])<<8 | uint32(part[i+1])
		}
	}
	sum += 32 + 58
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	if sum != 0xffff {
		t.Fatalf("checksum does not verify: folded sum %#x", sum)
	}
}

func TestParseARPRejects(t *testing.T) {
	good := garp(testMAC, netip.MustParseAddr("192.0.2.1"), false)
	tests := []struct {
		name   string
		mangle func([]byte) []byte
	}{
		{"short", func(b []byte) []byte { return b[:20] }},
		{"ethertype", func(b []byte) []byte { b[12] = 0x08; b[13] = 0x00; return b }},
		{"hardware type", func(b []byte) []byte { b[15] = 6; return b }},
		{"hardware length", func(b []byte) []byte { b[18] = 8; return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseARPFrame(tt.mangle(good.marshal())); !errors.Is(err, errFrame) {
				t.Fatalf("parse = %v, want errFrame", err)
			}
		})
	}
	// Ethernet padding after the packet is ignored.
	padded := append(good.marshal(), make([]byte, 18)...)
	got, err := parseARPFrame(padded)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(good, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.AllowUnexported(arpFrame{})); diff != "" {
		t.Fatalf("padded frame (-want +got):\n%s", diff)
	}
}

func FuzzARPFrame(f *testing.F) {
	f.Add(garp(testMAC, netip.MustParseAddr("192.0.2.100"), false).marshal())
	f.Add(garp(testMAC, netip.MustParseAddr("203.0.113.9"), true).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseARPFrame(b)
		if err != nil {
			return
		}
		// Round trip: what parsed re-encodes to the same packet.
		if got := fr.marshal(); string(got) != string(b[:arpFrameLen]) {
			t.Fatalf("round trip:\n in %x\nout %x", b[:arpFrameLen], got)
		}
	})
}

func FuzzNAFrame(f *testing.F) {
	src := netip.MustParseAddr("fe80::1")
	na := unsolicitedNA(testMAC, src, netip.MustParseAddr("2001:db8::100"), false)
	f.Add(na.marshal())
	nr := unsolicitedNA(testMAC, src, netip.MustParseAddr("2001:db8::1"), true)
	f.Add(nr.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseNAFrame(b)
		if err != nil {
			return
		}
		if got := fr.marshal(); string(got) != string(b[:naFrameLen]) {
			t.Fatalf("round trip:\n in %x\nout %x", b[:naFrameLen], got)
		}
	})
}
