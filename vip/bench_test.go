package vip

import (
	"net/netip"
	"testing"
)

func BenchmarkGARPMarshal(b *testing.B) {
	ip := netip.MustParseAddr("192.0.2.100")
	b.ReportAllocs()
	for b.Loop() {
		f := garp(testMAC, ip, false)
		_ = f.marshal()
	}
}

func BenchmarkNAMarshal(b *testing.B) {
	src, ip := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::100")
	b.ReportAllocs()
	for b.Loop() {
		f := unsolicitedNA(testMAC, src, ip, false)
		_ = f.marshal()
	}
}

func BenchmarkAnnouncerSend(b *testing.B) {
	a := &Announcer{w: &discard{}, mac: testMAC, src6: netip.MustParseAddr("fe80::1"), iface: "eth0"}
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Send(addrs...); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIfaddrUnmarshal(b *testing.B) {
	m := ifaddr{family: afInet6, prefixLen: 128, flags: ifaFNoDAD, index: 3, addr: netip.MustParseAddr("2001:db8::1"), proto: 0x6c, hasProto: true, setLifetime: true}
	buf, err := m.marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var got ifaddr
		if err := got.unmarshal(buf); err != nil {
			b.Fatal(err)
		}
	}
}
