package health

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// startDNS runs a small authoritative server on 127.0.0.1 UDP. It answers:
// www.example.test. A 192.0.2.10 and 192.0.2.11, AAAA 2001:db8::10, TXT "v=ok";
// alias.example.test. CNAME www.example.test.; mx.example.test. MX 10 mail.example.test.;
// stray.example.test. A 192.0.2.20 after first sending a reply with the wrong ID;
// slow.example.test. never; everything else NXDOMAIN.
func startDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			name := q.Name.String()
			if name == "slow.example.test." {
				continue
			}
			rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true}
			if name == "stray.example.test." {
				bad := dnsmessage.Header{ID: h.ID + 1, Response: true}
				b := dnsmessage.NewBuilder(nil, bad)
				_ = b.StartQuestions()
				_ = b.Question(q)
				msg, _ := b.Finish()
				_, _ = pc.WriteTo(msg, from)
			}
			known := map[string]bool{"www.example.test.": true, "alias.example.test.": true, "mx.example.test.": true, "stray.example.test.": true}
			if !known[name] {
				rh.RCode = dnsmessage.RCodeNameError
			}
			b := dnsmessage.NewBuilder(nil, rh)
			b.EnableCompression()
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
			switch {
			case name == "www.example.test." && q.Type == dnsmessage.TypeA:
				_ = b.AResource(hdr, dnsmessage.AResource{A: [4]byte{192, 0, 2, 10}})
				_ = b.AResource(hdr, dnsmessage.AResource{A: [4]byte{192, 0, 2, 11}})
			case name == "www.example.test." && q.Type == dnsmessage.TypeAAAA:
				_ = b.AAAAResource(hdr, dnsmessage.AAAAResource{AAAA: netip.MustParseAddr("2001:db8::10").As16()})
			case name == "www.example.test." && q.Type == dnsmessage.TypeTXT:
				_ = b.TXTResource(hdr, dnsmessage.TXTResource{TXT: []string{"v=", "ok"}})
			case name == "alias.example.test.":
				_ = b.CNAMEResource(hdr, dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName("www.example.test.")})
			case name == "mx.example.test." && q.Type == dnsmessage.TypeMX:
				_ = b.MXResource(hdr, dnsmessage.MXResource{Pref: 10, MX: dnsmessage.MustNewName("mail.example.test.")})
			case name == "stray.example.test." && q.Type == dnsmessage.TypeA:
				_ = b.AResource(hdr, dnsmessage.AResource{A: [4]byte{192, 0, 2, 20}})
			}
			msg, err := b.Finish()
			if err != nil {
				continue
			}
			_, _ = pc.WriteTo(msg, from)
		}
	}()
	return pc.LocalAddr().String()
}

func TestDNSChecker(t *testing.T) {
	addr := startDNS(t)
	tests := []struct {
		name       string
		c          DNSChecker
		timeout    time.Duration
		wantErr    error
		wantDetail string
	}{
		{name: "a any answer", c: DNSChecker{Name: "www.example.test"}, wantDetail: "192.0.2.10 192.0.2.11"},
		{name: "a expected second", c: DNSChecker{Name: "www.example.test.", Expect: []string{"192.0.2.11"}}, wantDetail: "192.0.2.11"},
		{name: "a wrong answer", c: DNSChecker{Name: "www.example.test.", Expect: []string{"192.0.2.99"}}, wantErr: ErrMismatch},
		{name: "aaaa", c: DNSChecker{Name: "www.example.test.", Type: dnsmessage.TypeAAAA, Expect: []string{"2001:db8:0::10"}}, wantDetail: "2001:db8::10"},
		{name: "txt", c: DNSChecker{Name: "www.example.test.", Type: dnsmessage.TypeTXT, Expect: []string{"v=ok"}}},
		{name: "cname", c: DNSChecker{Name: "alias.example.test.", Type: dnsmessage.TypeCNAME, Expect: []string{"WWW.example.test"}}},
		{name: "mx", c: DNSChecker{Name: "mx.example.test.", Type: dnsmessage.TypeMX, Expect: []string{"mail.example.test."}}},
		{name: "no answer of the type", c: DNSChecker{Name: "mx.example.test.", Type: dnsmessage.TypeA}, wantErr: ErrMismatch},
		{name: "nxdomain", c: DNSChecker{Name: "nope.example.test."}, wantErr: ErrMismatch},
		{name: "reply with wrong id ignored", c: DNSChecker{Name: "stray.example.test."}, wantDetail: "192.0.2.20"},
		{name: "no reply", c: DNSChecker{Name: "slow.example.test."}, timeout: 300 * time.Millisecond, wantErr: ErrTimeout},
		{name: "port unreachable", c: DNSChecker{Address: closedPort(t, "udp"), Name: "www.example.test."}, wantErr: errConnRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer noLeak(t)()
			c := tt.c
			if c.Address == "" {
				c.Address = addr
			}
			timeout := cmpOr(tt.timeout, 5*time.Second)
			res, _ := checkErr(t, &c, timeout, tt.wantErr)
			if tt.wantDetail != "" && res.Detail != tt.wantDetail {
				t.Errorf("Detail = %q, want %q", res.Detail, tt.wantDetail)
			}
		})
	}
}

func cmpOr(a, b time.Duration) time.Duration {
	if a != 0 {
		return a
	}
	return b
}

// FuzzParseDNSReply builds a reply from fuzzed A and TXT data, and checks that the
// parser returns exactly what was packed (round trip), and never panics on the raw
// input either.
func FuzzParseDNSReply(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1}, "hello", uint16(7), []byte{0x00})
	f.Add([]byte{}, "", uint16(0), []byte{0x81, 0x80, 0, 1})
	f.Fuzz(func(t *testing.T, a []byte, txt string, id uint16, raw []byte) {
		q := dnsmessage.Question{Name: dnsmessage.MustNewName("f.example.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
		_, _ = parseDNSReply(raw, id, q) // must not panic

		var want []string
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true})
		b.EnableCompression()
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET}
		for len(a) >= 4 {
			_ = b.AResource(hdr, dnsmessage.AResource{A: [4]byte(a[:4])})
			want = append(want, netip.AddrFrom4([4]byte(a[:4])).String())
			a = a[4:]
		}
		if len(txt) > 0 && len(txt) < 256 {
			_ = b.TXTResource(hdr, dnsmessage.TXTResource{TXT: []string{txt}}) // other type: skipped
		}
		msg, err := b.Finish()
		if err != nil {
			t.Skip(err)
		}
		got, err := parseDNSReply(msg, id, q)
		if err != nil {
			t.Fatalf("parse own reply: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
	})
}
