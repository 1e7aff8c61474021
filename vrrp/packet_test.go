package vrrp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	src4 = netip.MustParseAddr("192.0.2.1")
	src6 = netip.MustParseAddr("fe80::1")
	vip4 = netip.MustParseAddr("192.0.2.100")
	vip6 = netip.MustParseAddr("2001:db8::100")
)

// Golden packets; the checksums were computed independently (by a short Python script).
var (
	goldenV2 = []byte{0x21, 51, 100, 1, AuthSimple, 1, 0x55, 0x03, 192, 0, 2, 100, '1', '1', '1', '1', 0, 0, 0, 0}
	// v3 over IPv4 to 224.0.0.18, with the pseudo-header (keepalived) and without (RFC 9568).
	goldenV3PH  = []byte{0x31, 51, 100, 1, 0, 100, 0x05, 0x72, 192, 0, 2, 100}
	goldenV3NPH = []byte{0x31, 51, 100, 1, 0, 100, 0xa8, 0x02, 192, 0, 2, 100}
	goldenV3v6  = append([]byte{0x31, 51, 100, 1, 0, 100, 0x3d, 0x8f}, vip6.AsSlice()...)
)

func TestParseGolden(t *testing.T) {
	pass := [8]byte{'1', '1', '1', '1'}
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		want     Advert
	}{
		{"v2 PASS", goldenV2, src4, MulticastIPv4, Advert{Version: 2, Type: 1, VRID: 51, Priority: 100, Interval: 100, AuthType: AuthSimple, AuthData: pass, Checksum: 0x5503, Addrs: []netip.Addr{vip4}}},
		{"v3 IPv4 pseudo-header", goldenV3PH, src4, MulticastIPv4, Advert{Version: 3, Type: 1, VRID: 51, Priority: 100, Interval: 100, Checksum: 0x0572, Form: ChecksumPseudoHeader, Addrs: []netip.Addr{vip4}}},
		{"v3 IPv4 no pseudo-header", goldenV3NPH, src4, MulticastIPv4, Advert{Version: 3, Type: 1, VRID: 51, Priority: 100, Interval: 100, Checksum: 0xa802, Form: ChecksumNoPseudoHeader, Addrs: []netip.Addr{vip4}}},
		{"v3 IPv6", goldenV3v6, src6, MulticastIPv6, Advert{Version: 3, Type: 1, VRID: 51, Priority: 100, Interval: 100, Checksum: 0x3d8f, Addrs: []netip.Addr{vip6}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Advert
			if err := Parse(tt.b, tt.src, tt.dst, &got); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
			// Encoding the decoded advert gives back the same bytes.
			out, err := got.Append(nil, tt.src, tt.dst)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(out, tt.b) {
				t.Errorf("Append = % x, want % x", out, tt.b)
			}
			if got.Len() != len(tt.b) {
				t.Errorf("Len = %d, want %d", got.Len(), len(tt.b))
			}
		})
	}
}

// Conformance 3: v2 without pseudo-header, v3 IPv6 with it, v3 IPv4 both accepted and
// the sent form configurable, keepalived's pseudo-header form by default.
func TestChecksumForms(t *testing.T) {
	a := Advert{Version: 3, VRID: 51, Priority: 100, Interval: 100, Addrs: []netip.Addr{vip4}}
	def, _ := a.Append(nil, src4, MulticastIPv4)
	if !bytes.Equal(def, goldenV3PH) {
		t.Errorf("default form = % x, want the pseudo-header form % x", def, goldenV3PH)
	}
	a.Form = ChecksumNoPseudoHeader
	nph, _ := a.Append(nil, src4, MulticastIPv4)
	if !bytes.Equal(nph, goldenV3NPH) {
		t.Errorf("no-pseudo-header form = % x, want % x", nph, goldenV3NPH)
	}
	// The v2 checksum ignores the addresses: a different dst changes nothing.
	v2 := Advert{Version: 2, VRID: 51, Priority: 100, Interval: 100, AuthType: AuthSimple, AuthData: [8]byte{'1', '1', '1', '1'}, Addrs: []netip.Addr{vip4}}
	got, _ := v2.Append(nil, src4, netip.MustParseAddr("192.0.2.2"))
	if !bytes.Equal(got, goldenV2) {
		t.Errorf("v2 unicast = % x, want % x", got, goldenV2)
	}
	// The v6 checksum covers the pseudo-header: another source breaks it.
	var p Advert
	if err := Parse(goldenV3v6, netip.MustParseAddr("fe80::2"), MulticastIPv6, &p); !errors.Is(err, DropChecksum) {
		t.Errorf("v6 advert from another source: err = %v, want %v", err, DropChecksum)
	}
}

func TestParseRejects(t *testing.T) {
	mut := func(b []byte, f func([]byte)) []byte {
		c := bytes.Clone(b)
		f(c)
		return c
	}
	// fix recomputes a v2 checksum after a mutation, so the mutation itself is tested.
	fix2 := func(b []byte) []byte {
		binary.BigEndian.PutUint16(b[6:8], 0)
		binary.BigEndian.PutUint16(b[6:8], checksum(0, b))
		return b
	}
	fix3 := func(b []byte) []byte {
		binary.BigEndian.PutUint16(b[6:8], 0)
		binary.BigEndian.PutUint16(b[6:8], checksum(pseudoSum(src4, MulticastIPv4, len(b)), b))
		return b
	}
	tests := []struct {
		name string
		b    []byte
		src  netip.Addr
		want DropReason
	}{
		{"empty", nil, src4, DropTruncated},
		{"short header", goldenV2[:7], src4, DropTruncated},
		{"v2 auth data missing", fix2(bytes.Clone(goldenV2[:12])), src4, DropTruncated},
		{"v2 auth data short", goldenV2[:19], src4, DropTruncated},
		{"v3 address cut", goldenV3PH[:11], src4, DropTruncated},
		{"count larger than packet", fix3(mut(goldenV3PH, func(b []byte) { b[3] = 2 })), src4, DropTruncated},
		{"trailing byte", append(bytes.Clone(goldenV3PH), 0), src4, DropTrailing},
		{"version 1", mut(goldenV2, func(b []byte) { b[0] = 0x11 }), src4, DropVersion},
		{"version 4", mut(goldenV3PH, func(b []byte) { b[0] = 0x41 }), src4, DropVersion},
		{"type 2", fix2(mut(goldenV2, func(b []byte) { b[0] = 0x22 })), src4, DropType},
		{"type 0 v3", fix3(mut(goldenV3PH, func(b []byte) { b[0] = 0x30 })), src4, DropType},
		{"v2 bad checksum", mut(goldenV2, func(b []byte) { b[7]++ }), src4, DropChecksum},
		{"v2 password changed", mut(goldenV2, func(b []byte) { b[12] = '2' }), src4, DropChecksum},
		{"v3 bad checksum", mut(goldenV3PH, func(b []byte) { b[7]++ }), src4, DropChecksum},
		{"v3 IPv6 bad checksum", mut(goldenV3v6, func(b []byte) { b[6]++ }), src6, DropChecksum},
		{"v3 count 0", fix3([]byte{0x31, 51, 100, 0, 0, 100, 0, 0}), src4, DropCountZero},
		{"v3 interval 0", fix3(mut(goldenV3PH, func(b []byte) { b[5] = 0 })), src4, DropIntervalZero},
		{"v2 interval 0", fix2(mut(goldenV2, func(b []byte) { b[5] = 0 })), src4, DropIntervalZero},
		{"v2 auth type AH", fix2(mut(goldenV2, func(b []byte) { b[4] = 2 })), src4, DropAuthType},
		{"v2 over IPv6", goldenV2, src6, DropFamily},
		{"invalid source", goldenV2, netip.Addr{}, DropFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Advert
			dst := MulticastIPv4
			if tt.src.Is6() {
				dst = MulticastIPv6
			}
			err := Parse(tt.b, tt.src, dst, &a)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %v, want %v", err, tt.want)
			}
			if got := ReasonOf(err); got != tt.want {
				t.Errorf("ReasonOf = %v, want %v", got, tt.want)
			}
		})
	}
}

// Conformance 2 (reserved bits): v3's four reserved bits are ignored on receive.
func TestParseIgnoresReservedBits(t *testing.T) {
	b := bytes.Clone(goldenV3NPH)
	b[4] |= 0xf0
	binary.BigEndian.PutUint16(b[6:8], 0)
	binary.BigEndian.PutUint16(b[6:8], checksum(0, b))
	var a Advert
	if err := Parse(b, src4, MulticastIPv4, &a); err != nil {
		t.Fatal(err)
	}
	if a.Interval != 100 {
		t.Errorf("Interval = %d, want 100", a.Interval)
	}
}

// TestV2AdvertWithoutAddresses: keepalived runs a VRRPv2 instance with no virtual
// address, sending adverts whose count is 0; they encode and parse back.
func TestV2AdvertWithoutAddresses(t *testing.T) {
	a := Advert{Version: 2, Type: TypeAdvertisement, VRID: 7, Priority: 100, Interval: 100, AuthType: AuthNone, Addrs: []netip.Addr{}}
	b, err := a.Append(nil, src4, MulticastIPv4)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != HeaderLen+AuthDataLen || b[3] != 0 {
		t.Fatalf("advert % x: want %d bytes with count 0", b, HeaderLen+AuthDataLen)
	}
	got := Advert{Addrs: make([]netip.Addr, 0, 4)}
	if err := Parse(b, src4, MulticastIPv4, &got); err != nil {
		t.Fatalf("Parse = %v", err)
	}
	got.Checksum = 0
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestAppendRejects(t *testing.T) {
	tests := []struct {
		name string
		a    Advert
		src  netip.Addr
	}{
		{"no addresses", Advert{Version: 3, VRID: 1, Interval: 100}, src4},
		{"version 1", Advert{Version: 1, VRID: 1, Interval: 100, Addrs: []netip.Addr{vip4}}, src4},
		{"v2 fractional interval", Advert{Version: 2, VRID: 1, Interval: 150, Addrs: []netip.Addr{vip4}}, src4},
		{"v2 interval 256 s", Advert{Version: 2, VRID: 1, Interval: 25600, Addrs: []netip.Addr{vip4}}, src4},
		{"v3 interval 4096", Advert{Version: 3, VRID: 1, Interval: 4096, Addrs: []netip.Addr{vip4}}, src4},
		{"v3 interval 0", Advert{Version: 3, VRID: 1, Addrs: []netip.Addr{vip4}}, src4},
		{"v2 over IPv6", Advert{Version: 2, VRID: 1, Interval: 100, Addrs: []netip.Addr{vip6}}, src6},
		{"mixed families", Advert{Version: 3, VRID: 1, Interval: 100, Addrs: []netip.Addr{vip4, vip6}}, src4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := []byte{0xaa}
			got, err := tt.a.Append(buf, tt.src, MulticastIPv4)
			if err == nil {
				t.Fatalf("Append succeeded: % x", got)
			}
			if !bytes.Equal(got, buf) {
				t.Errorf("failed Append changed the buffer to % x", got)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(goldenV2, false)
	f.Add(goldenV3PH, false)
	f.Add(goldenV3NPH, false)
	f.Add(goldenV3v6, true)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		src, dst := src4, MulticastIPv4
		if v6 {
			src, dst = src6, MulticastIPv6
		}
		var a Advert
		if err := Parse(b, src, dst, &a); err != nil {
			if ReasonOf(err) == DropNone {
				t.Fatalf("Parse error %v carries no DropReason", err)
			}
			return
		}
		// Round trip: what Parse accepts, Append encodes to the same bytes, except v3's
		// reserved bits, which are ignored on receive and sent as zero.
		out, err := a.Append(nil, src, dst)
		if err != nil {
			t.Fatalf("Append of a parsed advert: %v", err)
		}
		want := bytes.Clone(b)
		if a.Version == 3 {
			want[4] &= 0x0f
			binary.BigEndian.PutUint16(want[6:8], binary.BigEndian.Uint16(out[6:8]))
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("round trip:\n got % x\nwant % x", out, want)
		}
		var again Advert
		if err := Parse(out, src, dst, &again); err != nil {
			t.Fatalf("Parse of Append output: %v", err)
		}
		again.Checksum, a.Checksum = 0, 0
		if diff := cmp.Diff(a, again, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
			t.Fatalf("second parse (-first +second):\n%s", diff)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name     string
		pkt      []byte
		src, dst netip.Addr
	}{
		{"v2", goldenV2, src4, MulticastIPv4},
		{"v3-ipv4", goldenV3NPH, src4, MulticastIPv4},
		{"v3-ipv6", goldenV3v6, src6, MulticastIPv6},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := Advert{Addrs: make([]netip.Addr, 0, 16)}
			b.ReportAllocs()
			for b.Loop() {
				if err := Parse(bc.pkt, bc.src, bc.dst, &a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		a    Advert
		src  netip.Addr
	}{
		{"v2", Advert{Version: 2, VRID: 51, Priority: 100, Interval: 100, Addrs: []netip.Addr{vip4}}, src4},
		{"v3-ipv4", Advert{Version: 3, VRID: 51, Priority: 100, Interval: 100, Addrs: []netip.Addr{vip4}}, src4},
		{"v3-ipv6", Advert{Version: 3, VRID: 51, Priority: 100, Interval: 100, Addrs: []netip.Addr{vip6}}, src6},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 128)
			dst := MulticastIPv4
			if bc.src.Is6() {
				dst = MulticastIPv6
			}
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = bc.a.Append(buf[:0], bc.src, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
