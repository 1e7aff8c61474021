package ipvs

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/netlink"
)

// exact compares values field by field: Service and Destination have an Equal method
// that resolves defaults, which would hide a field the code under test forgot to set.
var exact = cmp.Options{
	cmpopts.EquateComparable(netip.Addr{}),
	cmp.Comparer(func(a, b Service) bool { return a == b }),
	cmp.Comparer(func(a, b Destination) bool { return a == b }),
}

// attr builds one netlink attribute by hand: length, type, payload, padding.
func attr(typ uint16, payload ...byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(payload)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func ne16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func ne32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func ne64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

func encodeWith(t *testing.T, fn func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nest is attr with the NLA_F_NESTED bit that netlink's encoder sets.
func nest(typ uint16, payload ...[]byte) []byte { return attr(typ|0x8000, cat(payload...)...) }

func TestEncodeService(t *testing.T) {
	v4addr := []byte{192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	flags := cat(ne32(0x1), ne32(0xffffffff))
	tests := []struct {
		name string
		svc  Service
		full bool
		want []byte
	}{
		{
			name: "tcp identity: port big-endian, address in 16 bytes",
			svc:  Service{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 0x1f90},
			want: nest(attrService, attr(svcAF, ne16(2)...), attr(svcProtocol, ne16(6)...), attr(svcAddr, v4addr...), attr(svcPort, 0x1f, 0x90)),
		},
		{
			name: "fwmark identity has no protocol, address or port",
			svc:  Service{FWMark: 100},
			want: nest(attrService, attr(svcAF, ne16(2)...), attr(svcFWMark, ne32(100)...)),
		},
		{
			name: "full v4: default scheduler, flags+mask, timeout, netmask in network order",
			svc: Service{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80,
				Flags: FlagPersistent | flagHashed, Timeout: 300 * time.Second, Netmask: 24},
			full: true,
			want: nest(attrService, attr(svcAF, ne16(2)...), attr(svcProtocol, ne16(6)...), attr(svcAddr, v4addr...), attr(svcPort, 0, 80),
				attr(svcSchedName, 'w', 'l', 'c', 0), attr(svcFlags, flags...), attr(svcTimeout, ne32(300)...), attr(svcNetmask, 255, 255, 255, 0)),
		},
		{
			name: "full v4 default netmask is 255.255.255.255",
			svc:  Service{FWMark: 1, Scheduler: RoundRobin},
			full: true,
			want: nest(attrService, attr(svcAF, ne16(2)...), attr(svcFWMark, ne32(1)...),
				attr(svcSchedName, 'r', 'r', 0), attr(svcFlags, cat(ne32(0), ne32(0xffffffff))...), attr(svcTimeout, ne32(0)...), attr(svcNetmask, 255, 255, 255, 255)),
		},
		{
			name: "full v6: netmask is a native prefix length, default 128, pe name",
			svc:  Service{Family: IPv6, FWMark: 1, Scheduler: "sh", PersistenceEngine: "sip"},
			full: true,
			want: nest(attrService, attr(svcAF, ne16(10)...), attr(svcFWMark, ne32(1)...),
				attr(svcSchedName, 's', 'h', 0), attr(svcPEName, 's', 'i', 'p', 0), attr(svcFlags, cat(ne32(0), ne32(0xffffffff))...), attr(svcTimeout, ne32(0)...), attr(svcNetmask, ne32(128)...)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encodeWith(t, func(ae *netlink.AttributeEncoder) { encodeService(ae, tt.svc, tt.full) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("bytes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeDestination(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::10").As16()
	tests := []struct {
		name string
		d    Destination
		full bool
		want []byte
	}{
		{
			name: "identity",
			d:    Destination{Address: netip.MustParseAddr("2001:db8::10"), Port: 443},
			want: nest(attrDest, attr(dstAddr, v6[:]...), attr(dstPort, 0x01, 0xbb), attr(dstAddrFamily, ne16(10)...)),
		},
		{
			name: "gue tunnel: type u8, port big-endian, flags u16",
			d: Destination{Address: netip.MustParseAddr("2001:db8::10"), Port: 443, Forward: Tunnel, Weight: 3,
				UpperThreshold: 10, LowerThreshold: 2, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum},
			full: true,
			want: nest(attrDest, attr(dstAddr, v6[:]...), attr(dstPort, 0x01, 0xbb), attr(dstAddrFamily, ne16(10)...),
				attr(dstFwdMethod, ne32(2)...), attr(dstWeight, ne32(3)...), attr(dstUThresh, ne32(10)...), attr(dstLThresh, ne32(2)...),
				attr(dstTunType, 1), attr(dstTunPort, 0x17, 0xc0), attr(dstTunFlags, ne16(1)...)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encodeWith(t, func(ae *netlink.AttributeEncoder) { encodeDest(ae, tt.d, tt.full) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("bytes (-want +got):\n%s", diff)
			}
		})
	}
}

// Replies as the kernel builds them (ip_vs_genl_fill_service / _dest): nests without
// NLA_F_NESTED, HASHED set, both STATS and STATS64 (with PAD attributes).
func TestDecodeKernelReplies(t *testing.T) {
	stats32 := cat(attr(statConns, ne32(1)...), attr(statInPkts, ne32(2)...), attr(statOutPkts, ne32(3)...),
		attr(statInBytes, ne64(4)...), attr(statOutBytes, ne64(5)...), attr(statCPS, ne32(6)...),
		attr(statInPPS, ne32(7)...), attr(statOutPPS, ne32(8)...), attr(statInBPS, ne32(9)...), attr(statOutBPS, ne32(10)...))
	var stats64 []byte
	for i := uint16(1); i <= 10; i++ {
		stats64 = cat(stats64, attr(11), attr(i, ne64(uint64(i)<<32)...))
	}
	want32 := Stats{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	want64 := Stats{1 << 32, 2 << 32, 3 << 32, 4 << 32, 5 << 32, 6 << 32, 7 << 32, 8 << 32, 9 << 32, 10 << 32}
	v4 := []byte{192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	v6 := netip.MustParseAddr("2001:db8::1").As16()

	svcTests := []struct {
		name string
		body []byte
		want ServiceStatus
	}{
		{
			name: "v4 tcp with stats64",
			body: attr(attrService, cat(attr(svcAF, ne16(2)...), attr(svcProtocol, ne16(6)...), attr(svcAddr, v4...), attr(svcPort, 0, 80),
				attr(svcSchedName, 'r', 'r', 0), attr(svcFlags, cat(ne32(0x3), ne32(0xffffffff))...), attr(svcTimeout, ne32(300)...),
				attr(svcNetmask, 255, 255, 0, 0), attr(svcStats, stats32...), attr(svcStats64, stats64...))...),
			want: ServiceStatus{Service: Service{Family: IPv4, Protocol: TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80,
				Scheduler: "rr", Flags: FlagPersistent, Timeout: 300 * time.Second, Netmask: 16}, Stats: want64},
		},
		{
			name: "v6 fwmark, legacy stats only, netmask 128 is default",
			body: attr(attrService, cat(attr(svcAF, ne16(10)...), attr(svcFWMark, ne32(9)...),
				attr(svcSchedName, 'm', 'h', 0), attr(svcFlags, cat(ne32(0x2|0x8), ne32(0xffffffff))...), attr(svcTimeout, ne32(0)...),
				attr(svcNetmask, ne32(128)...), attr(svcStats, stats32...))...),
			want: ServiceStatus{Service: Service{Family: IPv6, FWMark: 9, Scheduler: "mh", Flags: FlagMHFallback}, Stats: want32},
		},
		{
			name: "v6 address with /48",
			body: attr(attrService, cat(attr(svcAF, ne16(10)...), attr(svcProtocol, ne16(17)...), attr(svcAddr, v6[:]...), attr(svcPort, 0, 53),
				attr(svcSchedName, 'w', 'l', 'c', 0), attr(svcNetmask, ne32(48)...))...),
			want: ServiceStatus{Service: Service{Family: IPv6, Protocol: UDP, Address: netip.MustParseAddr("2001:db8::1"), Port: 53,
				Scheduler: "wlc", Netmask: 48}},
		},
	}
	for _, tt := range svcTests {
		t.Run("service/"+tt.name, func(t *testing.T) {
			got, err := decodeServiceMessage(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, exact); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	destTests := []struct {
		name      string
		body      []byte
		svcFamily Family
		want      DestinationStatus
	}{
		{
			name: "kernel 6.x dest with tunnel attrs and counters",
			body: attr(attrDest, cat(attr(dstAddr, v6[:]...), attr(dstPort, 0x1f, 0x90), attr(dstFwdMethod, ne32(2)...),
				attr(dstWeight, ne32(7)...), attr(dstTunType, 2), attr(dstTunPort, 0, 0), attr(dstTunFlags, ne16(2)...),
				attr(dstUThresh, ne32(100)...), attr(dstLThresh, ne32(10)...), attr(dstActiveConns, ne32(70000)...),
				attr(dstInactConns, ne32(3)...), attr(dstPersistConns, ne32(4)...), attr(dstAddrFamily, ne16(10)...),
				attr(dstStats, stats32...), attr(dstStats64, stats64...))...),
			svcFamily: IPv4,
			want: DestinationStatus{Destination: Destination{Family: IPv6, Address: netip.MustParseAddr("2001:db8::1"), Port: 8080,
				Forward: Tunnel, Weight: 7, UpperThreshold: 100, LowerThreshold: 10, TunnelType: TunnelGRE, TunnelFlags: TunnelRemoteChecksum},
				Stats: want64, ActiveConns: 70000, InactiveConns: 3, PersistentConns: 4},
		},
		{
			name: "pre-3.18 dest without address family uses the service's",
			body: attr(attrDest, cat(attr(dstAddr, v4...), attr(dstPort, 0, 80), attr(dstFwdMethod, ne32(3|0x100)...),
				attr(dstWeight, ne32(1)...))...),
			svcFamily: IPv4,
			want: DestinationStatus{Destination: Destination{Family: IPv4, Address: netip.MustParseAddr("192.0.2.1"), Port: 80,
				Forward: DirectRoute, Weight: 1}},
		},
	}
	for _, tt := range destTests {
		t.Run("dest/"+tt.name, func(t *testing.T) {
			got, err := decodeDestMessage(tt.body, tt.svcFamily)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, exact); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	tests := map[string][]byte{
		"truncated attribute":  {8, 0, 1, 0, 1},
		"no service attribute": attr(attrDest),
		"short port":           attr(attrService, cat(attr(svcAF, ne16(2)...), attr(svcPort, 1))...),
		"short v6 address":     attr(attrService, cat(attr(svcAF, ne16(10)...), attr(svcAddr, 1, 2, 3, 4))...),
		"unknown family":       attr(attrService, cat(attr(svcAF, ne16(99)...), attr(svcAddr, 1, 2, 3, 4))...),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeServiceMessage(b); err == nil {
				t.Error("no error")
			}
		})
	}
}

func encodeBody(svc Service, d *Destination) []byte {
	ae := netlink.NewAttributeEncoder()
	encodeService(ae, svc, true)
	if d != nil {
		encodeDest(ae, *d, true)
	}
	b, _ := ae.Encode()
	return b
}

// FuzzDecode checks that decoding never panics and that whatever decodes re-encodes
// and decodes to the same value.
func FuzzDecode(f *testing.F) {
	f.Add(encodeBody(Service{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80, Netmask: 24, Timeout: time.Minute}, nil))
	f.Add(encodeBody(Service{Family: IPv6, FWMark: 3, Scheduler: "sh", Flags: FlagSHPort}, nil))
	d := Destination{Address: netip.MustParseAddr("2001:db8::5"), Port: 80, Forward: Tunnel, TunnelType: TunnelGUE, TunnelPort: 1}
	f.Add(encodeBody(Service{Protocol: UDP, Address: netip.MustParseAddr("2001:db8::1"), Port: 53}, &d))
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, err := decodeServiceMessage(b); err == nil {
			s := st.Service
			if s.Family != IPv4 && s.Family != IPv6 {
				return // identity the kernel would never send
			}
			if s.FWMark == 0 && !s.Address.IsValid() {
				return
			}
			if s.Netmask < 0 || s.Netmask > s.maxBits() {
				return
			}
			back, err := decodeServiceMessage(encodeBody(s, nil))
			if err != nil {
				t.Fatalf("re-decode of %+v: %v", s, err)
			}
			want := s
			want.Timeout = want.Timeout.Truncate(time.Second)
			if want.Scheduler == "" {
				want.Scheduler = DefaultScheduler
			}
			if diff := cmp.Diff(want, back.Service, exact); diff != "" {
				t.Fatalf("service round trip (-want +got):\n%s", diff)
			}
		}
		if st, err := decodeDestMessage(b, IPv4); err == nil {
			d := st.Destination
			if (d.Family != IPv4 && d.Family != IPv6) || !d.Address.IsValid() {
				return
			}
			back, err := decodeDestMessage(encodeBody(Service{FWMark: 1}, &d), IPv4)
			if err != nil {
				t.Fatalf("re-decode of %+v: %v", d, err)
			}
			want := normalizeDest(d)
			want.Forward &= fwdMask
			if diff := cmp.Diff(want, back.Destination, exact); diff != "" {
				t.Fatalf("destination round trip (-want +got):\n%s", diff)
			}
		}
	})
}

// Inputs the fuzzer found, kept as named cases.
func TestDecodeFuzzFindings(t *testing.T) {
	t.Run("8-byte timeout is read as the kernel's u32", func(t *testing.T) {
		b := attr(attrService, cat(attr(svcAF, ne16(2)...), attr(svcFWMark, ne32(1)...), attr(svcTimeout, ne64(1<<32+7)...))...)
		got, err := decodeServiceMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Service.Timeout != 7*time.Second {
			t.Errorf("Timeout = %v, want 7s", got.Service.Timeout)
		}
	})
	t.Run("fwmark service ignores a stray port", func(t *testing.T) {
		b := attr(attrService, cat(attr(svcAF, ne16(10)...), attr(svcFWMark, ne32(1)...), attr(svcPort, 0x30, 0x30))...)
		got, err := decodeServiceMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Service.Port != 0 {
			t.Errorf("Port = %d, want 0", got.Service.Port)
		}
	})
}
