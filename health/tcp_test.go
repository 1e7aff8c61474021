package health

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"regexp"
	"syscall"
	"testing"
	"time"
)

func TestTCPChecker(t *testing.T) {
	echo := listenTCP(t, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		_, _ = io.WriteString(c, "+OK "+line)
	})
	silent := listenTCP(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	closer := listenTCP(t, func(c net.Conn) {})
	refused := closedPort(t, "tcp")

	tests := []struct {
		name    string
		c       *TCPChecker
		timeout time.Duration
		wantErr error
	}{
		{name: "connect", c: &TCPChecker{Address: echo}},
		{name: "exact", c: &TCPChecker{Address: echo, Send: []byte("PING\n"), Expect: &Expect{Exact: []byte("+OK PING\n")}}},
		{name: "prefix", c: &TCPChecker{Address: echo, Send: []byte("PING\n"), Expect: &Expect{Prefix: []byte("+OK")}}},
		{name: "regexp", c: &TCPChecker{Address: echo, Send: []byte("PING\n"), Expect: &Expect{Regexp: regexp.MustCompile(`^\+OK P.NG`)}}},
		{name: "exact mismatch", c: &TCPChecker{Address: echo, Send: []byte("PING\n"), Expect: &Expect{Exact: []byte("+OK PONG\n")}}, wantErr: ErrMismatch},
		{name: "prefix mismatch", c: &TCPChecker{Address: echo, Send: []byte("PING\n"), Expect: &Expect{Prefix: []byte("-ERR")}}, wantErr: ErrMismatch},
		{name: "regexp mismatch at EOF", c: &TCPChecker{Address: closer, Expect: &Expect{Regexp: regexp.MustCompile(`x`)}}, wantErr: ErrMismatch},
		{name: "refused", c: &TCPChecker{Address: refused}, wantErr: syscall.ECONNREFUSED},
		{name: "no reply times out", c: &TCPChecker{Address: silent, Send: []byte("PING\n"), Expect: &Expect{Prefix: []byte("+OK")}}, timeout: 300 * time.Millisecond, wantErr: ErrTimeout},
		{name: "bound source", c: &TCPChecker{Address: echo, Dial: DialConfig{Source: netip.MustParseAddr("127.0.0.2")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer noLeak(t)()
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			start := time.Now()
			_, err := checkErr(t, tt.c, timeout, tt.wantErr)
			if errors.Is(err, ErrTimeout) && time.Since(start) < timeout {
				t.Errorf("timed out after %v, before the %v deadline", time.Since(start), timeout)
			}
		})
	}
}

func TestTCPCheckerSourceSeenByServer(t *testing.T) {
	got := make(chan string, 1)
	addr := listenTCP(t, func(c net.Conn) { got <- c.RemoteAddr().(*net.TCPAddr).IP.String() })
	c := &TCPChecker{Address: addr, Dial: DialConfig{Source: netip.MustParseAddr("127.0.0.3")}}
	checkErr(t, c, 5*time.Second, nil)
	if ip := <-got; ip != "127.0.0.3" {
		t.Errorf("server saw source %s, want 127.0.0.3", ip)
	}
}

// TestTCPCheckerNoTimeWait checks that probes close with RST: neither end of the
// connection keeps a TIME_WAIT entry.
func TestTCPCheckerNoTimeWait(t *testing.T) {
	addr := listenTCP(t, func(c net.Conn) { _, _ = io.WriteString(c, "hello\n") })
	c := &TCPChecker{Address: addr, Expect: &Expect{Prefix: []byte("hello")}}
	for range 20 {
		checkErr(t, c, 5*time.Second, nil)
	}
	if tw := timeWaitFor(t, portOf(t, addr)); len(tw) > 0 {
		t.Errorf("%d TIME_WAIT sockets left for port %d:\n%q", len(tw), portOf(t, addr), tw)
	}
}

func TestTCPCheckerCancel(t *testing.T) {
	addr := listenTCP(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	defer noLeak(t)()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := (&TCPChecker{Address: addr, Expect: &Expect{Prefix: []byte("x")}}).Check(ctx)
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("Check after cancel: err %v after %v; want an error soon after 100ms", err, time.Since(start))
	}
}

func TestExpectMatch(t *testing.T) {
	tests := []struct {
		name         string
		e            Expect
		in           string
		ok, needMore bool
	}{
		{"exact short", Expect{Exact: []byte("abc")}, "ab", false, true},
		{"exact wrong short", Expect{Exact: []byte("abc")}, "x", false, false},
		{"exact", Expect{Exact: []byte("abc")}, "abc", true, false},
		{"exact long", Expect{Exact: []byte("abc")}, "abcd", false, false},
		{"prefix", Expect{Prefix: []byte("ab")}, "abcd", true, false},
		{"prefix short", Expect{Prefix: []byte("ab")}, "a", false, true},
		{"regexp later", Expect{Regexp: regexp.MustCompile("d$")}, "abc", false, true},
		{"prefix and regexp", Expect{Prefix: []byte("a"), Regexp: regexp.MustCompile("c")}, "abc", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, more := tt.e.match([]byte(tt.in))
			if ok != tt.ok || more != tt.needMore {
				t.Errorf("match(%q) = %v, %v; want %v, %v", tt.in, ok, more, tt.ok, tt.needMore)
			}
		})
	}
}

// TestTCPCheckerFor: a checker built from a netip.AddrPort has the host:port Address
// that the string form would have, connects to it, and an invalid AddrPort fails.
func TestTCPCheckerFor(t *testing.T) {
	for _, tt := range []struct {
		ap   netip.AddrPort
		want string
	}{
		{netip.MustParseAddrPort("192.0.2.1:80"), "192.0.2.1:80"},
		{netip.MustParseAddrPort("[2001:db8::1]:443"), "[2001:db8::1]:443"},
		{netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.1"), 8080), "[::ffff:192.0.2.1]:8080"},
	} {
		if got := TCPCheckerFor(tt.ap).Address; got != tt.want {
			t.Errorf("TCPCheckerFor(%v).Address = %q, want %q", tt.ap, got, tt.want)
		}
	}

	up := listenTCP(t, func(c net.Conn) {})
	c := TCPCheckerFor(netip.MustParseAddrPort(up))
	if c.Address != up {
		t.Errorf("Address = %q, want %q", c.Address, up)
	}
	checkErr(t, c, 5*time.Second, nil)
	checkErr(t, TCPCheckerFor(netip.MustParseAddrPort(closedPort(t, "tcp"))), 5*time.Second, syscall.ECONNREFUSED)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := TCPCheckerFor(netip.AddrPort{}).Check(ctx); err == nil {
		t.Error("Check of TCPCheckerFor(netip.AddrPort{}) succeeded")
	}
}
