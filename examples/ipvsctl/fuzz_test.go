package main

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/ipvs"
)

// procTable writes services and their destinations as the kernel's /proc/net/ip_vs
// does (net/netfilter/ipvs/ip_vs_ctl.c, ip_vs_info_seq_show).
func procTable(svcs []ipvs.ServiceStatus) string {
	var b strings.Builder
	b.WriteString("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n")
	hex := func(a netip.Addr, port uint16) string {
		if a.Is4() {
			v := a.As4()
			return fmt.Sprintf("%08X:%04X", be32(v[:]), port)
		}
		v := a.As16()
		var g []string
		for i := 0; i < 16; i += 2 {
			g = append(g, fmt.Sprintf("%02x%02x", v[i], v[i+1]))
		}
		return fmt.Sprintf("[%s]:%04X", strings.Join(g, ":"), port)
	}
	for _, st := range svcs {
		s := st.Service
		if s.FWMark != 0 {
			fmt.Fprintf(&b, "FWM  %08X %s ", s.FWMark, s.Scheduler)
		} else {
			fmt.Fprintf(&b, "%s  %s %s ", s.Protocol, hex(s.Address, s.Port), s.Scheduler)
		}
		if s.Flags&ipvs.FlagPersistent != 0 {
			fmt.Fprintf(&b, "persistent %d %08X\n", int(s.Timeout.Seconds()), 0xffffffff)
		} else {
			b.WriteString("\n")
		}
		for _, d := range st.Destinations {
			fmt.Fprintf(&b, "  -> %s      %-7s %-6d %-10d %-10d\n", hex(d.Destination.Address, d.Destination.Port),
				d.Destination.Forward, d.Destination.Weight, d.ActiveConns, d.InactiveConns)
		}
	}
	return b.String()
}

// FuzzParseTableFile checks parseTableFile on any text: it must not panic, every
// destination it returns must be one the file can give exactly (no tunnel), and a table
// written back as the kernel writes it must read back the same.
func FuzzParseTableFile(f *testing.F) {
	f.Add(procTable([]ipvs.ServiceStatus{
		{Service: ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80, Scheduler: "rr"},
			Destinations: []ipvs.DestinationStatus{{Destination: ipvs.Destination{Family: ipvs.IPv4,
				Address: netip.MustParseAddr("198.51.100.1"), Port: 80, Forward: ipvs.DirectRoute, Weight: 1}, ActiveConns: 2}}},
		{Service: ipvs.Service{FWMark: 7, Scheduler: "wlc", Flags: ipvs.FlagPersistent, Timeout: 360e9}},
		{Service: ipvs.Service{Protocol: ipvs.UDP, Address: netip.MustParseAddr("2001:db8::1"), Port: 53, Scheduler: "sh"},
			Destinations: []ipvs.DestinationStatus{{Destination: ipvs.Destination{Family: ipvs.IPv6,
				Address: netip.MustParseAddr("2001:db8::10"), Port: 53, Forward: ipvs.Masquerade, Weight: 0}, InactiveConns: 9}}},
	}))
	f.Add("TCP  C0000201:0050 rr \n  -> C6336401:0050      Tunnel  1      0          0\n")
	f.Add("FWM  zz rr\n  -> [::1]:0000 Masq 1 0 0\n\n  ->\n")
	f.Fuzz(func(t *testing.T, text string) {
		got := parseTableFile([]byte(text))
		var svcs []ipvs.ServiceStatus
		for k, ds := range got {
			for _, d := range ds {
				if d.Destination.Forward == ipvs.Tunnel || !d.Destination.Address.IsValid() {
					t.Fatalf("%+v: destination %+v", k, d)
				}
			}
			s := ipvs.Service{FWMark: k.fwmark, Protocol: k.protocol, Address: k.addr, Port: k.port, Scheduler: "rr"}
			if k.fwmark == 0 && k.addr.Is4() {
				s.Family = ipvs.IPv4
			} else if k.fwmark == 0 {
				s.Family = ipvs.IPv6
			}
			svcs = append(svcs, ipvs.ServiceStatus{Service: s, Destinations: ds})
		}
		again := parseTableFile([]byte(procTable(svcs)))
		if len(again) != len(got) {
			t.Fatalf("%d services read back as %d:\n%s", len(got), len(again), procTable(svcs))
		}
		for k, ds := range got {
			back := again[k]
			if len(back) != len(ds) {
				t.Fatalf("%+v: %d destinations read back as %d", k, len(ds), len(back))
			}
			for i := range ds {
				if back[i] != ds[i] {
					t.Fatalf("%+v: %+v read back as %+v", k, ds[i], back[i])
				}
			}
		}
	})
}

// FuzzInetAton checks inetAton on any text against netip for the dotted-quad form both
// take, and that what it takes prints and reads back the same.
func FuzzInetAton(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "255.255", "0x7f.1", "010.0.0.1", "4294967295", "1.2.3.4.5", "", "0x", "1..2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := inetAton(s)
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			if !ok || addr4(v) != a {
				t.Fatalf("inetAton(%q) = %v, %v; netip reads %v", s, addr4(v), ok, a)
			}
		}
		if ok {
			if w, ok2 := inetAton(addr4(v).String()); !ok2 || w != v {
				t.Fatalf("inetAton(%q) = %v, which reads back as %v, %v", s, addr4(v), addr4(w), ok2)
			}
		}
	})
}

// FuzzParseService checks parseService on any text: it must not panic, and an address
// it takes with a port prints as netip does and reads back the same.
func FuzzParseService(f *testing.F) {
	for _, s := range []string{"192.0.2.1:80", "[2001:db8::1]:53", "2001:db8::1", "[192.0.2.1]:9", "::ffff:1.2.3.4", "1234", "1.2.3.4: 8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, ok := parseService(s)
		if !ok || !ap.hasPort {
			return
		}
		text := netip.AddrPortFrom(ap.addr, ap.port).String()
		back, ok := parseService(text)
		if !ok || back.addr != ap.addr || back.port != ap.port {
			t.Fatalf("parseService(%q) = %v, which reads back as %+v, %v", s, text, back, ok)
		}
	})
}
