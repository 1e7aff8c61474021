//go:build linux

package health

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestICMPChecker pings loopback. As root the ping or raw socket works and the check must
// pass; without privileges the ping socket depends on net.ipv4.ping_group_range, and when
// neither socket is allowed the documented error must come back.
func TestICMPChecker(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "::1"} {
		t.Run(addr, func(t *testing.T) {
			if addr == "::1" {
				if ln, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				} else {
					ln.Close()
				}
			}
			defer noLeak(t)()
			_, err := (&ICMPChecker{Address: addr, Size: 56}).Check(t.Context())
			if errors.Is(err, ErrICMPPermission) {
				msg := err.Error()
				for _, want := range []string{"net.ipv4.ping_group_range", "network namespace net:[", "CAP_NET_RAW"} {
					if !strings.Contains(msg, want) {
						t.Errorf("error %q does not mention %q", msg, want)
					}
				}
				if !errors.Is(err, os.ErrPermission) {
					t.Errorf("error %v does not match os.ErrPermission", err)
				}
				t.Skipf("ICMP not permitted here, documented error checked: %v", err)
			}
			if err != nil {
				t.Fatalf("ping %s: %v", addr, err)
			}
		})
	}
}

// TestICMPCheckerBadSource binds a source address that is not local: the check must
// fail at once, not hang until its deadline.
func TestICMPCheckerBadSource(t *testing.T) {
	defer noLeak(t)()
	c := &ICMPChecker{Address: "127.0.0.1"}
	c.Dial.Source = mustAddr("192.0.2.55")
	start := time.Now()
	_, err := c.Check(t.Context())
	if errors.Is(err, ErrICMPPermission) {
		t.Skipf("ICMP not permitted: %v", err)
	}
	if err == nil {
		t.Fatal("ping from a non-local source succeeded")
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}
