package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestTCPCheckerConnectOnly covers the connect-only path that bypasses net.Dialer (an IP
// literal, nothing to send or expect), and the cases that fall back to net.Dialer.
func TestTCPCheckerConnectOnly(t *testing.T) {
	up := listenTCP(t, func(c net.Conn) { _, _ = c.Read(make([]byte, 1)) })
	refused := closedPort(t, "tcp")
	port := portOf(t, up)
	passed, cancelPassed := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelPassed()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name     string
		c        *TCPChecker
		ctx      context.Context
		wantErr  error
		wantText string // substring of the error message
	}{
		{name: "up", c: &TCPChecker{Address: up}},
		{name: "ipv4-mapped target", c: &TCPChecker{Address: netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), uint16(port)).String()}},
		{name: "bound source", c: &TCPChecker{Address: up, Dial: DialConfig{Source: mustAddr("127.0.0.5")}}},
		{name: "refused", c: &TCPChecker{Address: refused}, wantErr: syscall.ECONNREFUSED, wantText: "dial tcp " + refused + ": connect: connection refused"},
		{name: "deadline passed", c: &TCPChecker{Address: up}, ctx: passed, wantErr: ErrTimeout},
		{name: "cancelled", c: &TCPChecker{Address: up}, ctx: cancelled, wantErr: context.Canceled},
		{name: "host name falls back to net.Dialer", c: &TCPChecker{Address: net.JoinHostPort("localhost", portString(port))}},
		{name: "source of the other family falls back", c: &TCPChecker{Address: up, Dial: DialConfig{Source: mustAddr("::1")}}, wantText: "no suitable address"},
		{name: "unbindable source", c: &TCPChecker{Address: up, Dial: DialConfig{Source: mustAddr("192.0.2.99")}}, wantErr: syscall.EADDRNOTAVAIL, wantText: "bind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer noLeak(t)()
			ctx := tt.ctx
			if ctx == nil {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
			}
			res, err := tt.c.Check(ctx)
			switch {
			case tt.wantErr == nil && tt.wantText == "" && err != nil:
				t.Fatalf("Check: unexpected error %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("Check: error %v, want one matching %v", err, tt.wantErr)
			case tt.wantText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantText)):
				t.Fatalf("Check: error %v, want one containing %q", err, tt.wantText)
			case err != nil && !strings.HasPrefix(err.Error(), "health: tcp "):
				t.Errorf("error %q lacks the probe prefix", err)
			case err == nil && res.Detail != "connected":
				t.Errorf("Detail %q, want %q", res.Detail, "connected")
			}
		})
	}
}

func TestTCPCheckerConnectOnlyIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	checkErr(t, &TCPChecker{Address: ln.Addr().String()}, 5*time.Second, nil)
	checkErr(t, &TCPChecker{Address: ln.Addr().String(), Dial: DialConfig{Source: mustAddr("::1")}}, 5*time.Second, nil)
}

// TestTCPCheckerConnectOnlyNoTimeWait checks that connect-only probes close with RST.
func TestTCPCheckerConnectOnlyNoTimeWait(t *testing.T) {
	addr := listenTCP(t, func(c net.Conn) { _, _ = c.Read(make([]byte, 1)) })
	c := &TCPChecker{Address: addr}
	for range 20 {
		checkErr(t, c, 5*time.Second, nil)
	}
	if tw := timeWaitFor(t, portOf(t, addr)); len(tw) > 0 {
		t.Errorf("%d TIME_WAIT sockets left for port %d:\n%q", len(tw), portOf(t, addr), tw)
	}
}

// fullListener returns the address of a loopback listener (backlog 0) whose accept
// queue is full, so that the kernel drops further SYNs and a connect stays in
// SYN_SENT, and a function that accepts the queued connection (letting the next SYN
// retransmission through).
func fullListener(t *testing.T) (addr string, drain func()) {
	t.Helper()
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(lfd) })
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(lfd)
	if err != nil {
		t.Fatal(err)
	}
	addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port)).String()
	// Fill the queue: a backlog of 0 holds one established connection.
	filler, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	return addr, func() {
		nfd, _, err := unix.Accept(lfd)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		t.Cleanup(func() { unix.Close(nfd) })
	}
}

// TestTCPCheckerConnectOnlyWaits covers the netpoller path of a connect-only probe,
// taken when the handshake does not finish within the connect call: the deadline, a
// cancellation, and a connection that completes later (after a SYN retransmission).
func TestTCPCheckerConnectOnlyWaits(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		addr, _ := fullListener(t)
		defer noLeak(t)()
		start := time.Now()
		_, err := checkErr(t, &TCPChecker{Address: addr}, 300*time.Millisecond, ErrTimeout)
		if el := time.Since(start); el < 300*time.Millisecond {
			t.Errorf("returned after %v, before the deadline", el)
		}
		if err != nil && !strings.Contains(err.Error(), "i/o timeout") {
			t.Errorf("error %q, want an i/o timeout", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		addr, _ := fullListener(t)
		defer noLeak(t)()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := (&TCPChecker{Address: addr}).Check(ctx)
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Errorf("error %v, want context.Canceled and not ErrTimeout", err)
		}
		if el := time.Since(start); el < 100*time.Millisecond || el > 2*time.Second {
			t.Errorf("returned %v after start, want soon after the 100ms cancel", el)
		}
	})
	t.Run("completes later", func(t *testing.T) {
		addr, drain := fullListener(t)
		defer noLeak(t)()
		time.AfterFunc(200*time.Millisecond, drain)
		start := time.Now()
		checkErr(t, &TCPChecker{Address: addr}, 10*time.Second, nil)
		if el := time.Since(start); el < 200*time.Millisecond {
			t.Errorf("connected after %v, before the queue had room", el)
		}
	})
}

func portString(p int) string { return strconv.Itoa(p) }

// TestTCPCheckerCheckUntil covers the Scheduler's entry point, where the deadline comes
// apart from a context that has none: it must behave as Check with that deadline.
func TestTCPCheckerCheckUntil(t *testing.T) {
	up := listenTCP(t, func(c net.Conn) { _, _ = c.Read(make([]byte, 1)) })
	silent := listenTCP(t, func(c net.Conn) { _, _ = c.Read(make([]byte, 1)) })
	refused := closedPort(t, "tcp")
	full, _ := fullListener(t)
	tests := []struct {
		name    string
		c       *TCPChecker
		timeout time.Duration
		cancel  time.Duration // cancel the context after this long; zero never
		wantErr error
	}{
		{name: "up", c: &TCPChecker{Address: up}, timeout: 5 * time.Second},
		{name: "refused", c: &TCPChecker{Address: refused}, timeout: 5 * time.Second, wantErr: syscall.ECONNREFUSED},
		{name: "deadline passed", c: &TCPChecker{Address: up}, timeout: -time.Second, wantErr: ErrTimeout},
		{name: "handshake times out", c: &TCPChecker{Address: full}, timeout: 300 * time.Millisecond, wantErr: ErrTimeout},
		{name: "handshake cancelled", c: &TCPChecker{Address: full}, timeout: 5 * time.Second, cancel: 100 * time.Millisecond, wantErr: context.Canceled},
		{name: "expect falls back and times out", c: &TCPChecker{Address: silent, Expect: &Expect{Prefix: []byte("x")}}, timeout: 300 * time.Millisecond, wantErr: ErrTimeout},
		{name: "host name falls back", c: &TCPChecker{Address: net.JoinHostPort("localhost", strconv.Itoa(portOf(t, up)))}, timeout: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer noLeak(t)()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			start := time.Now()
			deadline := start.Add(tt.timeout)
			_, err := tt.c.checkUntil(ctx, deadline)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("checkUntil: unexpected error %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("checkUntil: error %v, want one matching %v", err, tt.wantErr)
			case errors.Is(tt.wantErr, ErrTimeout) && time.Now().Before(deadline):
				t.Errorf("timed out %v before the deadline", time.Until(deadline))
			case time.Since(start) > max(tt.timeout, 0)+2*time.Second:
				t.Errorf("returned after %v", time.Since(start))
			}
		})
	}
}

// TestSchedulerTCPChecks runs the Scheduler with real connect-only TCP checks (the
// checkUntil path): an up target stays up, a refused one goes down.
func TestSchedulerTCPChecks(t *testing.T) {
	up := listenTCP(t, func(c net.Conn) { _, _ = c.Read(make([]byte, 1)) })
	refused := closedPort(t, "tcp")
	defer noLeak(t)()
	downs := make(chan Transition, 4)
	s := NewScheduler(&SchedulerConfig{OnTransition: func(tr Transition) { downs <- tr }})
	for name, addr := range map[string]string{"up": up, "refused": refused} {
		if err := s.Add(name, Check{Checker: &TCPChecker{Address: addr}, Interval: 20 * time.Millisecond, Timeout: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case tr := <-downs:
		if tr.Name != "refused" || tr.Event != EventDown || !errors.Is(tr.Err, syscall.ECONNREFUSED) {
			t.Errorf("transition %+v, want refused down with ECONNREFUSED", tr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no down transition after 30s")
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, _ := s.Status("up")
		if st.Attempts >= 3 {
			if !st.Up || st.Failures != 0 {
				t.Errorf("up check: %+v, want up without failures", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("up check made %d attempts in 30s", st.Attempts)
		}
	}
}
