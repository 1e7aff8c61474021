package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
)

// The expected texts are what ipvsadm 1.31 prints; TestIntegrationSameOutputAsIpvsadm
// checks every format against the real ipvsadm in the qemu guest.
func TestFormatGolden(t *testing.T) {
	info := ipvs.Info{Version: 0x010201, ConnTableSize: 4096}
	snap := []ipvs.ServiceStatus{
		{Service: ipvs.Service{Family: ipvs.IPv6, FWMark: 100, Scheduler: "rr"}},
		{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.SCTP, Address: netip.MustParseAddr("10.0.0.2"), Port: 5060, Scheduler: "wrr"}},
		{Service: ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "sh",
			Flags: ipvs.FlagSHFallback | ipvs.FlagPersistent | ipvs.FlagOnePacket, Timeout: 300 * time.Second, Netmask: 24, PersistenceEngine: "sip"},
			Stats: ipvs.Stats{Connections: 12, PacketsIn: 123456789, PacketsOut: 1234567890, BytesIn: 123456789012, BytesOut: 1 << 50},
			Destinations: []ipvs.DestinationStatus{
				{Destination: ipvs.Destination{Family: ipvs.IPv4, Address: netip.MustParseAddr("192.168.1.10"), Port: 8080, Weight: 1, UpperThreshold: 9, LowerThreshold: 2},
					ActiveConns: 3, InactiveConns: 4, PersistentConns: 5},
				{Destination: ipvs.Destination{Family: ipvs.IPv6, Address: netip.MustParseAddr("2001:db8::10"), Port: 80, Forward: ipvs.Tunnel, Weight: 2,
					TunnelType: ipvs.TunnelGUE, TunnelPort: 6080}},
				{Destination: ipvs.Destination{Family: ipvs.IPv4, Address: netip.MustParseAddr("192.168.1.13"), Port: 80, Forward: ipvs.Tunnel, Weight: 1,
					TunnelType: ipvs.TunnelGUE, TunnelPort: 60800, TunnelFlags: ipvs.TunnelRemoteChecksum}},
				{Destination: ipvs.Destination{Family: ipvs.IPv4, Address: netip.MustParseAddr("192.168.1.11"), Port: 80, Forward: ipvs.Tunnel, Weight: 1,
					TunnelType: ipvs.TunnelGRE, TunnelFlags: ipvs.TunnelChecksum}},
				{Destination: ipvs.Destination{Family: ipvs.IPv4, Address: netip.MustParseAddr("192.168.1.12"), Port: 80, Forward: ipvs.Tunnel, Weight: 1}},
			}},
	}
	tests := []struct {
		name string
		o    listOpts
		want string
	}{
		{"list", listOpts{}, `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 sh (sh-fallback) persistent 300 mask 255.255.255.0 pe sip ops
  -> 192.168.1.10:8080            Masq    1      3          4         
  -> 192.168.1.11:80              Tunnel  1      0          0         
  -> 192.168.1.12:80              Tunnel  1      0          0         
  -> 192.168.1.13:80              Tunnel  1      0          0         
  -> [2001:db8::10]:80            Tunnel  2      0          0         
SCTP 10.0.0.2:5060 wrr
FWM  100 IPv6 rr
`},
		{"tun-info", listOpts{f: fmtTunInfo}, `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn
TCP  10.0.0.1:80 sh (sh-fallback) persistent 300 mask 255.255.255.0 pe sip ops
  -> 192.168.1.10:8080            Masq    n/a           1      3          4         
  -> 192.168.1.11:80              Tunnel  gre:+c        1      0          0         
  -> 192.168.1.12:80              Tunnel  ipip          1      0          0         
  -> 192.168.1.13:80              Tunnel  gue:60800:r+c 1      0          0         
  -> [2001:db8::10]:80            Tunnel  gue:6080:-c   2      0          0         
SCTP 10.0.0.2:5060 wrr
FWM  100 IPv6 rr
`},
		{"stats", listOpts{f: fmtStats}, `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.0.0.1:80                        12  123456K    1234M     123G    1125T
  -> 192.168.1.10:8080                   0        0        0        0        0
  -> 192.168.1.11:80                     0        0        0        0        0
  -> 192.168.1.12:80                     0        0        0        0        0
  -> 192.168.1.13:80                     0        0        0        0        0
  -> [2001:db8::10]:80                   0        0        0        0        0
SCTP 10.0.0.2:5060                       0        0        0        0        0
FWM  100 IPv6                            0        0        0        0        0
`},
		{"thresholds", listOpts{f: fmtThresholds}, `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn 
  -> RemoteAddress:Port
TCP  10.0.0.1:80 sh (sh-fallback) persistent 300 mask 255.255.255.0 pe sip ops
  -> 192.168.1.10:8080            9          2          3          4         
  -> 192.168.1.11:80              0          0          0          0         
  -> 192.168.1.12:80              0          0          0          0         
  -> 192.168.1.13:80              0          0          0          0         
  -> [2001:db8::10]:80            0          0          0          0         
SCTP 10.0.0.2:5060 wrr
FWM  100 IPv6 rr
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeList(&b, info, snap, tt.o, true, true)
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("save", func(t *testing.T) {
		var b bytes.Buffer
		writeSave(&b, snap, true)
		want := "-A -t 10.0.0.1:80 -s sh -p 300 -M 255.255.255.0 --pe sip -o -b sh-fallback\n" +
			"-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 1\n" +
			"-a -t 10.0.0.1:80 -r 192.168.1.11:80 -i -w 1 --tun-type gre --tun-csum\n" +
			"-a -t 10.0.0.1:80 -r 192.168.1.12:80 -i -w 1 --tun-type ipip\n" +
			"-a -t 10.0.0.1:80 -r 192.168.1.13:80 -i -w 1 --tun-type gue --tun-port 60800 --tun-remcsum\n" +
			"-a -t 10.0.0.1:80 -r [2001:db8::10]:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-nocsum\n" +
			"-A --sctp-service 10.0.0.2:5060 -s wrr\n" +
			"-A -f 100 -6 -s rr\n"
		if diff := cmp.Diff(want, b.String()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestLargenum(t *testing.T) {
	tests := []struct {
		n     uint64
		exact bool
		want  string
	}{
		{0, false, "        0"},
		{99999999, false, " 99999999"},
		{100000000, false, "  100000K"},
		{999999999, false, "  999999K"},
		{1000000000, false, "    1000M"},
		{100000000000, false, "     100G"},
		{100000000000000, false, "     100T"},
		{5, true, "        5"},
		{123456789, true, " 123456789"},
	}
	for _, tt := range tests {
		if got := largenum(tt.n, tt.exact); got != tt.want {
			t.Errorf("largenum(%d, %v) = %q, want %q", tt.n, tt.exact, got, tt.want)
		}
	}
}

func ctl(t *testing.T, srv *ipvstest.Server, stdin string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, func() (*ipvs.Client, error) {
		return ipvs.NewClient(srv.Dial())
	}, "")
	if err != nil {
		t.Fatalf("ipvsctl %v: %v", args, err)
	}
	return out.String()
}

func TestCommandsAgainstFake(t *testing.T) {
	srv := ipvstest.New(nil)
	ctl(t, srv, "", "-A", "-t", "192.0.2.1:80", "-s", "rr", "-p")
	ctl(t, srv, "", "-a", "-t", "192.0.2.1:80", "-r", "198.51.100.10", "-w", "3")
	ctl(t, srv, "", "-a", "-t", "192.0.2.1:80", "-r", "198.51.100.11:8080", "-m")
	ctl(t, srv, "", "-e", "-t", "192.0.2.1:80", "-r", "198.51.100.11:8080", "-m", "-w", "0")
	ctl(t, srv, "", "-A", "-f", "5", "-6", "-s", "mh", "-b", "mh-fallback,mh-port")
	ctl(t, srv, "", "-a", "-f", "5", "-6", "-r", "2001:db8::10", "-i", "--tun-type", "gre", "--tun-csum")
	ctl(t, srv, "", "--set", "100", "20", "30")
	got := ctl(t, srv, "", "-Sn")
	want := "-A -t 192.0.2.1:80 -s rr -p 360\n" +
		"-a -t 192.0.2.1:80 -r 198.51.100.10:80 -g -w 3\n" +
		"-a -t 192.0.2.1:80 -r 198.51.100.11:8080 -m -w 0\n" +
		"-A -f 5 -6 -s mh -b mh-fallback,mh-port\n" +
		"-a -f 5 -6 -r [2001:db8::10]:0 -i -w 1 --tun-type gre --tun-csum\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-Sn (-want +got):\n%s", diff)
	}
	if got := ctl(t, srv, "", "-L", "--timeout"); got != "Timeout (tcp tcpfin udp): 100 20 30\n" {
		t.Errorf("--timeout: %q", got)
	}
	// Save, clear, restore: the same table comes back.
	ctl(t, srv, "", "-C")
	if got := ctl(t, srv, "", "-Sn"); got != "" {
		t.Fatalf("after -C: %q", got)
	}
	before := srv.Requests()
	ctl(t, srv, want, "-R")
	if n := srv.Requests() - before; n != 5 {
		t.Errorf("restore made %d requests, want 5 (one per rule)", n)
	}
	if diff := cmp.Diff(want, ctl(t, srv, "", "-Sn")); diff != "" {
		t.Errorf("after -R (-want +got):\n%s", diff)
	}
	ctl(t, srv, "", "-d", "-t", "192.0.2.1:80", "-r", "198.51.100.10:80")
	ctl(t, srv, "", "-D", "-f", "5", "-6")
	ctl(t, srv, "", "--start-daemon", "master", "--mcast-interface", "eth0", "--syncid", "3")
	if got := ctl(t, srv, "", "-L", "--daemon"); got != "master sync daemon (mcast=eth0, syncid=3, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n" {
		t.Errorf("--daemon: %q", got)
	}
	ctl(t, srv, "", "--stop-daemon", "master")
	if diff := cmp.Diff("-A -t 192.0.2.1:80 -s rr -p 360\n-a -t 192.0.2.1:80 -r 198.51.100.11:8080 -m -w 0\n", ctl(t, srv, "", "-Sn")); diff != "" {
		t.Errorf("final (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-A"},
		{"-a", "-t", "192.0.2.1:80"},
		{"-A", "-t", "not-an-address"},
		{"-A", "-D", "-t", "192.0.2.1:80"},
		{"-a", "-t", "192.0.2.1:80", "-r", "198.51.100.1", "-w", "-1"},
		{"--bogus"},
	} {
		if _, err := parseCommand(args); err == nil {
			t.Errorf("parseCommand(%q) accepted", args)
		}
	}
}

// TestParseLikeIpvsadm pins what a few command lines become, as ipvsadm 1.31 parses
// them (TestIntegrationSameAsIpvsadm checks them against ipvsadm in the guest).
func TestParseLikeIpvsadm(t *testing.T) {
	mapped := netip.MustParseAddr("::ffff:192.0.2.60")
	tests := []struct {
		args string
		svc  ipvs.Service
		dst  ipvs.Destination
	}{
		{"-A -t 192.0.2.1:80 -p -M 24", ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.1"),
			Port: 80, Scheduler: "wlc", Flags: ipvs.FlagPersistent, Timeout: 360 * time.Second, IPv4Mask: netip.MustParseAddr("0.0.0.24")}, ipvs.Destination{}},
		{"-A -f 1 -p 1 -M 255.255", ipvs.Service{Family: ipvs.IPv4, FWMark: 1, Scheduler: "wlc", Flags: ipvs.FlagPersistent,
			Timeout: time.Second, IPv4Mask: netip.MustParseAddr("255.0.0.255")}, ipvs.Destination{}},
		{"-A -f 1 -M 0xffff0000", ipvs.Service{Family: ipvs.IPv4, FWMark: 1, Scheduler: "wlc", Netmask: 16}, ipvs.Destination{}},
		{"-A -u [::ffff:192.0.2.60]:53", ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.UDP, Address: mapped, Port: 53, Scheduler: "wlc"}, ipvs.Destination{}},
		{"-a -t=192.0.2.1:80 -r=198.51.100.1:8080 -m -w=3 -x=4", ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80},
			ipvs.Destination{Family: ipvs.IPv4, Address: netip.MustParseAddr("198.51.100.1"), Port: 8080, Forward: ipvs.Masquerade, Weight: 3, UpperThreshold: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			c, err := parseCommand(strings.Fields(tt.args))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.svc, c.svc, cmp.Comparer(func(a, b ipvs.Service) bool { return a == b })); diff != "" {
				t.Errorf("service (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.dst, c.dst, cmp.Comparer(func(a, b ipvs.Destination) bool { return a == b })); tt.dst.Address.IsValid() && diff != "" {
				t.Errorf("destination (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExitCodes checks ipvsadm's statuses, including the order of its checks: a bad
// value before popt's error fails as the value does.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		args string
		code int
	}{
		{"-A -t 192.0.2.1:80 -p x --bogus", 2},
		{"-A -t 192.0.2.1:80 --bogus -p x", 255},
		{"-A -t 192.0.2.1:80 -w", 255},
		{"-A -t 192.0.2.1:80 -w 5 -s", 255}, // popt fails before the option check
		{"--bogus -A", 255},
		{"foo", 255},
		{"-A foo -t 192.0.2.1:80", 2},
		{"-A -t 192.0.2.1:80 -M 256.0.0.0", 2},
		{"-A -u 2001:db8::1 -M 0", 2},
	}
	for _, tt := range tests {
		_, err := parseCommand(strings.Fields(tt.args))
		if err == nil {
			t.Errorf("%s: accepted", tt.args)
			continue
		}
		if got := exitCode(err); got != tt.code {
			t.Errorf("%s: exit %d (%v), want %d", tt.args, got, err, tt.code)
		}
	}
}

// TestRestoreLikeIpvsadm runs -R against the fake: the lines before a bad one are
// applied, a refused change fails its line only, the status is the last line's, and a
// listing inside the input prints in its turn.
func TestRestoreLikeIpvsadm(t *testing.T) {
	tests := []struct {
		name, in string
		code     int // 0 for success
		stdout   string
		save     string
	}{
		{"comment stops", "-A -t 192.0.2.1:80\n# comment\n-A -t 192.0.2.2:80\n", 255, "", "-A -t 192.0.2.1:80 -s wlc\n"},
		{"bad value stops", "-A -t 192.0.2.1:80\n-A -t 192.0.2.2:80 -p 0\n-A -t 192.0.2.3:80\n", 2, "", "-A -t 192.0.2.1:80 -s wlc\n"},
		{"popt error fails its line", "-A -t 192.0.2.1:80 --bogus\n-A -t 192.0.2.3:80\n", 0, "", "-A -t 192.0.2.3:80 -s wlc\n"},
		{"refused change then a good one", "-A -t 192.0.2.1:80\n-A -t 192.0.2.1:80\n-A -t 192.0.2.3:80\n", 0, "",
			"-A -t 192.0.2.1:80 -s wlc\n-A -t 192.0.2.3:80 -s wlc\n"},
		{"refused last change", "-A -t 192.0.2.1:80\n-A -t 192.0.2.1:80\n", 255, "", "-A -t 192.0.2.1:80 -s wlc\n"},
		{"listing in turn", "ipvsadm -A -t 192.0.2.1:80 -s rr\n\n \t\r\n-S -n\n-A\t-t 192.0.2.3:80 ipvsadm\n", 0,
			"-A -t 192.0.2.1:80 -s rr\n", "-A -t 192.0.2.1:80 -s rr\n-A -t 192.0.2.3:80 -s wlc\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ipvstest.New(nil)
			var out bytes.Buffer
			err := run(context.Background(), []string{"-R"}, strings.NewReader(tt.in), &out, func() (*ipvs.Client, error) {
				return ipvs.NewClient(srv.Dial())
			}, "")
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != tt.code {
				t.Errorf("exit %d (%v), want %d", code, err, tt.code)
			}
			if diff := cmp.Diff(tt.stdout, out.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.save, ctl(t, srv, "", "-Sn")); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}

// TestListFromTableFile lists the fake's table with a kernel table listing beside it:
// destinations come from the listing where it has them exactly, from netlink dumps
// where it does not (a tunnel, a mark of both families, a service missing from it or
// listed twice), and the output is the same as without the listing.
func TestListFromTableFile(t *testing.T) {
	srv := ipvstest.New(nil)
	for _, l := range []string{
		"-A -t 192.0.2.1:80 -s rr", "-a -t 192.0.2.1:80 -r 198.51.100.1 -w 7", "-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 0",
		"-A -u [2001:db8::1]:53 -p", "-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m",
		"-A -f 5", "-A -f 5 -6", "-a -f 5 -6 -r 2001:db8::11 -m",
		"-A -f 6", "-a -f 6 -r 198.51.100.3 -i --tun-type gre",
		"-A -t 192.0.2.2:80", "-a -t 192.0.2.2:80 -r 198.51.100.4",
		"-A -t 192.0.2.3:80", "-a -t 192.0.2.3:80 -r 198.51.100.5",
	} {
		ctl(t, srv, "", strings.Fields(l)...)
	}
	// What the kernel would print, with counts the fake does not keep, a mark it lists
	// for both families, a tunnel, 192.0.2.2:80 listed twice and 192.0.2.3:80 missing.
	table := `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  C0000201:0050 rr 
  -> C6336401:0050      Route   7      3          4         
  -> C6336402:1F90      Masq    0      0          1         
UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 wlc persistent 360 FFFFFFFF
  -> [2001:0db8:0000:0000:0000:0000:0000:0010]:0035      Masq    1      5          6         
FWM  00000005 wlc 
FWM  00000005 wlc 
  -> [2001:0db8:0000:0000:0000:0000:0000:0011]:0000      Masq    1      9          9         
FWM  00000006 wlc 
  -> C6336403:0000      Tunnel  1      9          9         
TCP  C0000202:0050 wlc 
  -> C6336404:0050      Route   1      9          9         
TCP  C0000202:0050 wlc 
  -> C6336404:0050      Route   1      9          9         
`
	file := t.TempDir() + "/ip_vs"
	if err := os.WriteFile(file, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	list := func(tableFile string, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), args, strings.NewReader(""), &out, func() (*ipvs.Client, error) {
			return ipvs.NewClient(srv.Dial())
		}, tableFile); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if diff := cmp.Diff(list("", "-Sn"), list(file, "-Sn")); diff != "" {
		t.Errorf("-Sn with the table file differs (-without +with):\n%s", diff)
	}
	plain := list("", "-Ln")
	want := plain
	// The listing's counts show where it was read: the first two services only.
	want = strings.Replace(want, "  -> 198.51.100.1:80              Route   7      0          0", "  -> 198.51.100.1:80              Route   7      3          4", 1)
	want = strings.Replace(want, "  -> 198.51.100.2:8080            Masq    0      0          0", "  -> 198.51.100.2:8080            Masq    0      0          1", 1)
	want = strings.Replace(want, "  -> [2001:db8::10]:53            Masq    1      0          0", "  -> [2001:db8::10]:53            Masq    1      5          6", 1)
	if strings.Count(want, "3          4") != 1 || strings.Count(want, "5          6") != 1 || want == plain {
		t.Fatalf("the expected listing was not edited:\n%s", want)
	}
	if diff := cmp.Diff(want, list(file, "-Ln")); diff != "" {
		t.Errorf("-Ln with the table file (-want +got):\n%s", diff)
	}
}

// TestRestoreBatches runs -R over several of restore's batches, which apply while the
// next is parsed: a refused change in a middle batch is reported with its line and does
// not fail the restore, the last line's does, and every other change is made.
func TestRestoreBatches(t *testing.T) {
	for _, lastDup := range []bool{false, true} {
		var in strings.Builder
		n := 2*applyChunk + 300
		for i := 1; i <= n; i++ {
			switch {
			case i == applyChunk+5, lastDup && i == n:
				in.WriteString("-A -t 10.0.1.1:80\n") // line 1's service again
			default:
				fmt.Fprintf(&in, "-A -t 10.%d.%d.1:80\n", i/256, i%256)
			}
		}
		srv := ipvstest.New(nil)
		c, err := ipvs.NewClient(srv.Dial())
		if err != nil {
			t.Fatal(err)
		}
		var out, errw bytes.Buffer
		err = restore(context.Background(), &kernel{Client: c}, strings.NewReader(in.String()), &out, &errw)
		c.Close()
		if lastDup != (err != nil) {
			t.Errorf("last line refused %v: restore returned %v", lastDup, err)
		}
		if want := fmt.Sprintf("ipvsctl: line %d: ", applyChunk+5); !strings.HasPrefix(errw.String(), want) {
			t.Errorf("errors %q, want the first to start %q", errw.String(), want)
		}
		want := n - 1
		if lastDup {
			want--
		}
		if got := strings.Count(ctl(t, srv, "", "-Sn"), "-A "); got != want {
			t.Errorf("last line refused %v: %d services, want %d", lastDup, got, want)
		}
	}
}
