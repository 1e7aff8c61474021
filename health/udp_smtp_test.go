package health

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// listenUDP runs a UDP server on loopback; reply maps a request to a reply (nil: none).
func listenUDP(t *testing.T, reply func([]byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := reply(buf[:n]); r != nil {
				_, _ = pc.WriteTo(r, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestUDPChecker(t *testing.T) {
	echo := listenUDP(t, func(b []byte) []byte { return append([]byte("echo:"), b...) })
	silent := listenUDP(t, func([]byte) []byte { return nil })
	closed := closedPort(t, "udp")
	tests := []struct {
		name    string
		c       UDPChecker
		timeout time.Duration
		wantErr error
	}{
		{name: "echo exact", c: UDPChecker{Address: echo, Payload: []byte("ping"), Expect: &Expect{Exact: []byte("echo:ping")}}},
		{name: "echo prefix", c: UDPChecker{Address: echo, Payload: []byte("ping"), Expect: &Expect{Prefix: []byte("echo:")}}},
		{name: "echo mismatch", c: UDPChecker{Address: echo, Payload: []byte("ping"), Expect: &Expect{Exact: []byte("pong")}}, wantErr: ErrMismatch},
		{name: "require reply", c: UDPChecker{Address: echo, Payload: []byte("x"), RequireReply: true}},
		{name: "silence is up", c: UDPChecker{Address: silent, Payload: []byte("x"), ReplyWait: 200 * time.Millisecond}},
		{name: "silence until the check deadline is up", c: UDPChecker{Address: silent, Payload: []byte("x")}, timeout: 300 * time.Millisecond},
		{name: "silence with reply required", c: UDPChecker{Address: silent, Payload: []byte("x"), RequireReply: true}, timeout: 300 * time.Millisecond, wantErr: ErrTimeout},
		{name: "port unreachable", c: UDPChecker{Address: closed, Payload: []byte("x"), ReplyWait: 2 * time.Second}, wantErr: errConnRefused},
		{name: "port unreachable with expect", c: UDPChecker{Address: closed, Payload: []byte("x"), Expect: &Expect{Prefix: []byte("e")}}, wantErr: errConnRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer noLeak(t)()
			checkErr(t, &tt.c, cmpOr(tt.timeout, 5*time.Second), tt.wantErr)
		})
	}
}

// smtpServer greets with banner, answers HELO with heloReply and QUIT with 221.
func smtpServer(t *testing.T, banner, heloReply string, sawHelo chan<- string) string {
	return listenTCP(t, func(c net.Conn) {
		io.WriteString(c, banner)
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch {
			case strings.HasPrefix(line, "HELO "):
				if sawHelo != nil {
					sawHelo <- strings.TrimSpace(line)
				}
				io.WriteString(c, heloReply)
			case strings.HasPrefix(line, "QUIT"):
				io.WriteString(c, "221 bye\r\n")
				return
			}
		}
	})
}

func TestSMTPChecker(t *testing.T) {
	saw := make(chan string, 1)
	good := smtpServer(t, "220-mail.example.test ESMTP\r\n220 ready\r\n", "250 mail.example.test\r\n", saw)
	busy := smtpServer(t, "554 no service\r\n", "250 x\r\n", nil)
	rejectHelo := smtpServer(t, "220 ready\r\n", "501 bad name\r\n", nil)
	mute := listenTCP(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	tests := []struct {
		name    string
		c       SMTPChecker
		timeout time.Duration
		wantErr error
	}{
		{name: "multi-line banner and helo", c: SMTPChecker{Address: good, HeloName: "director.example.test"}},
		{name: "554 banner", c: SMTPChecker{Address: busy}, wantErr: ErrMismatch},
		{name: "helo rejected", c: SMTPChecker{Address: rejectHelo}, wantErr: ErrMismatch},
		{name: "no banner", c: SMTPChecker{Address: mute}, timeout: 300 * time.Millisecond, wantErr: ErrTimeout},
		{name: "refused", c: SMTPChecker{Address: closedPort(t, "tcp")}, wantErr: errConnRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer noLeak(t)()
			checkErr(t, &tt.c, cmpOr(tt.timeout, 5*time.Second), tt.wantErr)
		})
	}
	if got := <-saw; got != "HELO director.example.test" {
		t.Errorf("server saw %q, want HELO director.example.test", got)
	}
}
