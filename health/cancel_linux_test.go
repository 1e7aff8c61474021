package health

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestCheckersHonourCancel points every probe at a peer that never answers, cancels
// the context after 100 ms, and requires each to return promptly with
// context.Canceled reachable and no goroutine left behind. A second pass uses a
// 300 ms deadline instead and requires ErrTimeout.
func TestCheckersHonourCancel(t *testing.T) {
	mute := listenTCP(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	silentUDP := listenUDP(t, func([]byte) []byte { return nil })
	dns := startDNS(t)
	checkers := map[string]Checker{
		"tcp":   &TCPChecker{Address: mute, Expect: &Expect{Prefix: []byte("x")}},
		"http":  &HTTPChecker{Address: mute},
		"https": &HTTPChecker{Address: mute, TLS: &TLSConfig{InsecureSkipVerify: true}},
		"tls":   &TLSHandshakeChecker{Address: mute, TLS: &TLSConfig{InsecureSkipVerify: true}},
		"smtp":  &SMTPChecker{Address: mute},
		"dns":   &DNSChecker{Address: dns, Name: "slow.example.test."},
		"udp":   &UDPChecker{Address: silentUDP, RequireReply: true},
		"exec":  &ExecChecker{Argv: []string{"sleep", "60"}},
	}
	for name, c := range checkers {
		t.Run(name+"/cancel", func(t *testing.T) {
			defer noLeak(t)()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			_, err := c.Check(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("returned %v after start, want soon after the 100ms cancel", el)
			}
		})
		t.Run(name+"/deadline", func(t *testing.T) {
			defer noLeak(t)()
			start := time.Now()
			checkErr(t, c, 300*time.Millisecond, ErrTimeout)
			if el := time.Since(start); el < 300*time.Millisecond {
				t.Errorf("returned after %v, before the deadline", el)
			}
		})
	}
}
