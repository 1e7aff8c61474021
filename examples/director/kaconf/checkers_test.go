package kaconf

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReadNewCheckers reads DNS_CHECK, UDP_CHECK, PING_CHECK, SMTP_CHECK and
// FILE_CHECK with nothing set (keepalived 2.2.7's defaults) and with every option.
func TestReadNewCheckers(t *testing.T) {
	const conf = `
track_file tf {
    file /run/tf
}
track_file tf2 {
    file "/run/tf 2"
    weight -3 reverse
    init_file 7 overwrite
}
virtual_server 192.0.2.10 53 {
    protocol UDP
    delay_loop 10
    real_server 192.0.2.21 53 {
        DNS_CHECK {
        }
        UDP_CHECK {
        }
        PING_CHECK {
        }
        SMTP_CHECK {
            connect_port 25
        }
        FILE_CHECK {
            track_file tf
        }
    }
    real_server 192.0.2.22 53 {
        DNS_CHECK {
            type aaaa
            name www.example.com
            retry 1
            delay_before_retry 2
            connect_timeout 4
            connect_ip 192.0.2.99
            connect_port 5353
            bindto 192.0.2.1
        }
        UDP_CHECK {
            payload 01 02ab
            require_reply 0aX1 ff
            min_reply_length 2
            max_reply_length 9
        }
        PING_CHECK {
            connect_ip 192.0.2.98
            retry 2
        }
        SMTP_CHECK {
            connect_port 2525
            helo_name mx.example.com
        }
        FILE_CHECK {
            track_file tf2
            weight 0
        }
        FILE_CHECK {
            track_file tf2
        }
    }
}
`
	c, warns, err := readString(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		if !strings.Contains(w.Message, "defaults to UDP") && !strings.Contains(w.Message, "X wildcards") {
			t.Errorf("unexpected warning %v", w)
		}
	}
	wantTF := []TrackFile{
		{Pos: at("k.conf", 2), Name: "tf", File: "/run/tf", Weight: 1},
		{Pos: at("k.conf", 5), Name: "tf2", File: "/run/tf 2", Weight: -3, Reverse: true,
			InitFile: true, InitValue: 7, InitOverwrite: true},
	}
	if diff := cmp.Diff(wantTF, c.TrackFiles, eqNetip); diff != "" {
		t.Errorf("track files (-want +got):\n%s", diff)
	}
	ip := netip.MustParseAddr
	s10 := 10 * time.Second
	def := func(typ CheckType, line int) Check {
		return Check{Pos: at("k.conf", line), Type: typ, ConnectIP: ip("192.0.2.21"), ConnectPort: 53,
			ConnectTimeout: 5 * time.Second, Retry: 1, DelayBeforeRetry: time.Second, DelayLoop: s10, Warmup: s10}
	}
	dns := def(CheckDNS, 14)
	dns.Retry, dns.DelayBeforeRetry, dns.DNSType = 3, s10, "SOA"
	udp := def(CheckUDP, 16)
	udp.UDPMaxReply = 255
	smtp := def(CheckSMTP, 20)
	smtp.ConnectPort, smtp.HeloName = 25, "smtpchecker.keepalived.org"
	want0 := []Check{dns, udp, def(CheckPing, 18), smtp,
		{Pos: at("k.conf", 23), Type: CheckFile, TrackFile: "tf", FileWeight: 1}}
	if diff := cmp.Diff(want0, c.VirtualServers[0].RealServers[0].Checks, eqNetip); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	all := func(typ CheckType, line int) Check {
		c := def(typ, line)
		c.ConnectIP = ip("192.0.2.22")
		return c
	}
	dns = all(CheckDNS, 28)
	dns.DNSType, dns.DNSName, dns.Retry, dns.DelayBeforeRetry, dns.ConnectTimeout = "AAAA", "www.example.com", 1, 2*time.Second, 4*time.Second
	dns.ConnectIP, dns.ConnectPort, dns.BindTo = ip("192.0.2.99"), 5353, ip("192.0.2.1")
	udp = all(CheckUDP, 38)
	udp.UDPPayload = []byte{1, 2, 0xab}
	udp.UDPRequireReply, udp.UDPReply, udp.UDPReplyMask = true, []byte{0x0a, 0x01, 0xff}, []byte{0, 0xf0, 0}
	udp.UDPMinReply, udp.UDPMaxReply = 2, 9
	ping := all(CheckPing, 44)
	ping.ConnectIP, ping.Retry = ip("192.0.2.98"), 2
	smtp = all(CheckSMTP, 48)
	smtp.ConnectPort, smtp.HeloName = 2525, "mx.example.com"
	want1 := []Check{dns, udp, ping, smtp,
		{Pos: at("k.conf", 52), Type: CheckFile, TrackFile: "tf2", FileWeight: 0},
		{Pos: at("k.conf", 56), Type: CheckFile, TrackFile: "tf2", FileWeight: -3, FileReverse: true}}
	if diff := cmp.Diff(want1, c.VirtualServers[0].RealServers[1].Checks, eqNetip); diff != "" {
		t.Errorf("all options (-want +got):\n%s", diff)
	}
	// Format writes them back.
	again, _, err := readString(string(Format(c)))
	if err != nil {
		t.Fatalf("reading Format's output: %v", err)
	}
	if diff := cmp.Diff(c, again, eqNetip, ignorePos); diff != "" {
		t.Errorf("round trip (-first +again):\n%s", diff)
	}
}

// TestReadNewCheckerErrors: what keepalived 2.2.7 reports for these checkers.
func TestReadNewCheckerErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"unknown DNS type", "DNS_CHECK {\n type SRV\n}", "DNS_CHECK type \"SRV\" is not one of"},
		{"empty DNS label", "DNS_CHECK {\n name a..b\n}", "empty label"},
		{"bad payload", "UDP_CHECK {\n payload 0g\n}", "not a hex string"},
		{"wildcard in payload", "UDP_CHECK {\n payload 0X\n}", "not a hex string"},
		{"FILE_CHECK without track_file", "FILE_CHECK {\n}", "FILE_CHECK without track_file"},
		{"undefined track_file", "FILE_CHECK {\n track_file nope\n}", "track_file nope is not defined"},
		{"nb_get_retry in DNS_CHECK", "DNS_CHECK {\n nb_get_retry 2\n}", "nb_get_retry"},
		{"connect_port in FILE_CHECK", "FILE_CHECK {\n connect_port 2\n}", "connect_port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := "virtual_server 192.0.2.10 53 {\nprotocol UDP\nreal_server 192.0.2.21 53 {\n" + tc.body + "\n}\n}\n"
			_, _, err := readString(conf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, _, err := readString("track_file t {\n weight 2\n}\n"); err == nil || !strings.Contains(err.Error(), "without file") {
		t.Errorf("track_file without file: %v", err)
	}
}
