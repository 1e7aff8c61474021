package main

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
	"golang.org/x/net/dns/dnsmessage"
)

// TestProbeCheckerConfig: each keepalived checker becomes the health probe with
// keepalived's values.
func TestProbeCheckerConfig(t *testing.T) {
	tf := filepath.Join(t.TempDir(), "tf")
	cfg := readConf(t, `
track_file tf {
    file `+tf+`
    weight 2
}
virtual_server 192.0.2.10 53 {
    protocol UDP
    delay_loop 3
    real_server 192.0.2.21 53 {
        weight 5
        DNS_CHECK {
            type TXT
            name example.com
        }
        UDP_CHECK {
            payload 0102
            require_reply 0a0b
        }
        PING_CHECK {
            bindto 192.0.2.1
        }
        SMTP_CHECK {
            connect_port 25
        }
        FILE_CHECK {
            track_file tf
        }
    }
}
`)
	checks := cfg.VirtualServers[0].RealServers[0].Checks
	got := []health.Checker{}
	for i := range checks[:4] {
		hc := healthCheck(&checks[i], false)
		got = append(got, hc.Checker)
		if i == 0 && (hc.Retry != 3 || hc.RetryDelay != 3*time.Second || hc.Interval != 3*time.Second) {
			t.Errorf("DNS_CHECK timing %+v, want retry 3, delay_before_retry = delay_loop 3s", hc)
		}
	}
	want := []health.Checker{
		&health.DNSChecker{Address: "192.0.2.21:53", Name: "example.com", Type: dnsmessage.TypeTXT},
		&health.UDPChecker{Address: "192.0.2.21:53", Payload: []byte{1, 2}, RequireReply: true, Expect: &health.Expect{Prefix: []byte{0x0a, 0x0b}}},
		&health.ICMPChecker{Address: "192.0.2.21", Dial: health.DialConfig{Source: netip.MustParseAddr("192.0.2.1")}},
		&health.SMTPChecker{Address: "192.0.2.21:25", HeloName: "smtpchecker.keepalived.org"},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}
	fc := fileCheck(&checks[4], cfg.TrackFile("tf"), 5)
	if diff := cmp.Diff(&fileChecker{path: tf, weight: 2, base: 5}, fc.Checker, cmp.AllowUnexported(fileChecker{})); diff != "" {
		t.Errorf("FILE_CHECK (-want +got):\n%s", diff)
	}
}

// TestFileCheckerValues: keepalived's reading of a track file's value.
func TestFileCheckerValues(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		weight        int
		reverse       bool
		up            bool
		w             int // the real server's weight when weight != 0
	}{
		{"missing file is 0", "", 0, false, true, 0},
		{"non-zero with weight 0 is down", "1\n", 0, false, false, 0},
		{"zero with weight 0 reverse is down", "0", 0, true, false, 0},
		{"non-zero with weight 0 reverse is up", "3", 0, true, true, 0},
		{"weight adds", " 4 trailing", 2, false, true, 10 + 8},
		{"reverse subtracts, clamped at 0", "-0x10", 1, false, true, 0},
		{"hex and reverse", "0x3", 2, true, true, 10 - 6},
		{"octal", "010", 1, false, true, 18},
		{"garbage is 0", "abc", 5, false, true, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "f")
			os.Remove(p)
			if tc.content != "" {
				if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, err := (&fileChecker{path: p, weight: tc.weight, reverse: tc.reverse, base: 10}).Check(t.Context())
			if (err == nil) != tc.up {
				t.Fatalf("up = %v (%v), want %v", err == nil, err, tc.up)
			}
			if tc.weight != 0 && (!r.WeightSet || r.Weight != tc.w) {
				t.Errorf("weight %d (set %v), want %d", r.Weight, r.WeightSet, tc.w)
			}
		})
	}
}

// TestNewCheckersTakeRealServersOutAndBack runs a UDP_CHECK, a DNS_CHECK and a
// FILE_CHECK against servers on loopback (and a file) through the director and a fake
// IPVS: a closed UDP port, a DNS server that stops answering and a track file set to
// 1 take their real servers out; reopening, answering and 0 bring them back.
func TestNewCheckersTakeRealServersOutAndBack(t *testing.T) {
	udp := newUDPSwitch(t, nil)
	dns := newUDPSwitch(t, dnsAnswer)
	tf := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(tf, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fileRS := miscDynAddrOf(t)
	conf := `
track_file state {
    file ` + tf + `
    weight 0
}
virtual_server 192.0.2.10 53 {
    protocol UDP
    delay_loop 0.2
    real_server ` + hostPort(udp.addr) + ` {
        UDP_CHECK {
            connect_timeout 0.5
            retry 0
        }
    }
    real_server ` + hostPort(dns.addr) + ` {
        DNS_CHECK {
            type A
            name up.example.
            connect_timeout 0.5
            retry 0
        }
    }
    real_server ` + hostPort(fileRS) + ` {
        FILE_CHECK {
            track_file state
        }
    }
}
`
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(t.Context(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	svc := "UDP 192.0.2.10:53 -> "
	all := []string{svc + udp.addr + " w1", svc + dns.addr + " w1", svc + fileRS + " w1"}
	slices.Sort(all)
	settle := func(what string, want []string) {
		t.Helper()
		waitFor(t, what, func() bool { return cmp.Equal(want, dests(t, h)) })
	}
	settle("all up", all)
	udp.off()
	dns.off()
	if err := os.WriteFile(tf, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	settle("all out", []string(nil))
	udp.on()
	dns.on()
	if err := os.WriteFile(tf, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	settle("all back", all)
}

// udpSwitch is a UDP server on a fixed loopback port that a test turns off (the port
// is then closed: the kernel answers with ICMP port unreachable) and on again. reply,
// when not nil, makes the answer to each datagram.
type udpSwitch struct {
	t     *testing.T
	addr  string
	reply func([]byte) []byte
	mu    sync.Mutex
	conn  net.PacketConn
	done  chan struct{}
}

func newUDPSwitch(t *testing.T, reply func([]byte) []byte) *udpSwitch {
	s := &udpSwitch{t: t, reply: reply}
	s.on()
	s.addr = s.conn.LocalAddr().String()
	t.Cleanup(s.off)
	return s
}

func (s *udpSwitch) on() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		return
	}
	a := s.addr
	if a == "" {
		a = "127.0.0.1:0"
	}
	c, err := net.ListenPacket("udp", a)
	if err != nil {
		s.t.Fatal(err)
	}
	s.conn, s.done = c, make(chan struct{})
	go func() {
		defer close(s.done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if s.reply != nil {
				if r := s.reply(buf[:n]); r != nil {
					_, _ = c.WriteTo(r, from)
				}
			}
		}
	}()
}

func (s *udpSwitch) off() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return
	}
	s.conn.Close()
	<-s.done
	s.conn = nil
}

// dnsAnswer answers an A query with 192.0.2.53.
func dnsAnswer(q []byte) []byte {
	var m dnsmessage.Message
	if err := m.Unpack(q); err != nil || len(m.Questions) != 1 {
		return nil
	}
	m.Header.Response = true
	m.Answers = []dnsmessage.Resource{{
		Header: dnsmessage.ResourceHeader{Name: m.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
		Body:   &dnsmessage.AResource{A: [4]byte{192, 0, 2, 53}},
	}}
	b, err := m.Pack()
	if err != nil {
		return nil
	}
	return b
}
