//go:build linux

package health

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"golang.org/x/sys/unix"
)

// TestIntegrationDialThroughVIP builds a director and a direct-routing real server in two
// namespaces. The real server holds the VIP 203.0.113.10/32 on lo; the director reaches
// the VIP only through a policy route selected by fwmark 0x42. Probes with the mark (and
// bound to the interface and source) pass; without it they cannot route.
func TestIntegrationDialThroughVIP(t *testing.T) {
	dir := testenv.NewNetNS(t)
	rs := testenv.NewNetNS(t)
	testenv.Veth(t, dir, "eth0", rs, "eth0")
	dir.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
	rs.MustExec(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")
	rs.MustExec(t, "ip", "addr", "add", "203.0.113.10/32", "dev", "lo")
	dir.MustExec(t, "ip", "rule", "add", "fwmark", "0x42", "lookup", "100")
	dir.MustExec(t, "ip", "route", "add", "203.0.113.10/32", "via", "192.0.2.2", "dev", "eth0", "table", "100")

	var ln net.Listener
	if err := rs.Do(func() (err error) {
		ln, err = net.Listen("tcp", "203.0.113.10:8080")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// Read the request (if any) first: closing with unread data would reset
				// the connection before the client reads the reply.
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\nvip ok\n")
				c.(*net.TCPConn).CloseWrite()
				c.SetReadDeadline(time.Now().Add(time.Second))
				io.Copy(io.Discard, c)
			}()
		}
	}()

	mark := DialConfig{Mark: 0x42}
	tests := []struct {
		name    string
		c       Checker
		wantErr error
	}{
		{name: "tcp with mark", c: &TCPChecker{Address: "203.0.113.10:8080", Dial: mark, Expect: &Expect{Regexp: regexp.MustCompile(`vip ok`)}}},
		{name: "tcp with mark, interface and source", c: &TCPChecker{Address: "203.0.113.10:8080",
			Dial: DialConfig{Mark: 0x42, Interface: "eth0", Source: mustAddr("192.0.2.1")}}},
		{name: "tcp without mark", c: &TCPChecker{Address: "203.0.113.10:8080"}, wantErr: syscall.ENETUNREACH},
		{name: "icmp with mark", c: &ICMPChecker{Address: "203.0.113.10", Dial: mark}},
		{name: "icmp without mark", c: &ICMPChecker{Address: "203.0.113.10"}, wantErr: syscall.ENETUNREACH},
		{name: "udp unreachable through vip", c: &UDPChecker{Address: "203.0.113.10:9", Dial: mark, Payload: []byte("x")}, wantErr: syscall.ECONNREFUSED},
		{name: "http with mark", c: &HTTPChecker{Address: "203.0.113.10:8080", Dial: mark, Regexp: regexp.MustCompile(`^vip ok`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			_ = dir.Do(func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_, err = tt.c.Check(ctx)
				return nil
			})
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Check: %v", err)
			case tt.wantErr == errAny && err == nil:
				t.Errorf("Check succeeded, want an error")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("Check: error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestIntegrationICMPPingSocket allows ping sockets in a fresh namespace and checks that
// the unprivileged path is the one used.
func TestIntegrationICMPPingSocket(t *testing.T) {
	ns := testenv.NewNetNS(t)
	var res Result
	err := ns.Do(func() error {
		if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0); err != nil {
			return err
		}
		var err error
		res, err = (&ICMPChecker{Address: "127.0.0.1"}).Check(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.Detail, "via ping socket") {
		t.Errorf("Detail = %q, want the ping socket path", res.Detail)
	}
}

// TestIntegrationICMPPermissionError forbids ping sockets in a fresh namespace and drops
// CAP_NET_RAW from the checking thread's effective set, so neither socket is allowed:
// the error must name the sysctl, its value and the namespace.
func TestIntegrationICMPPermissionError(t *testing.T) {
	ns := testenv.NewNetNS(t)
	var checkErr error
	err := ns.Do(func() error {
		if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("1 0"), 0); err != nil {
			return err
		}
		restore, err := dropEffectiveCap(unix.CAP_NET_RAW)
		if err != nil {
			return err
		}
		_, checkErr = (&ICMPChecker{Address: "127.0.0.1"}).Check(context.Background())
		return restore()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(checkErr, ErrICMPPermission) || !errors.Is(checkErr, os.ErrPermission) {
		t.Fatalf("error %v, want ErrICMPPermission and os.ErrPermission", checkErr)
	}
	nsLink, _ := os.Readlink("/proc/self/ns/net")
	for _, want := range []string{`net.ipv4.ping_group_range "1 0"`, "network namespace net:[", "CAP_NET_RAW"} {
		if !strings.Contains(checkErr.Error(), want) {
			t.Errorf("error %q does not mention %q", checkErr, want)
		}
	}
	if strings.Contains(checkErr.Error(), nsLink) {
		t.Errorf("error names the host namespace %s, want the test's", nsLink)
	}
}

// dropEffectiveCap clears one capability from the calling thread's effective set (the
// thread must be locked) and returns a function that restores it.
func dropEffectiveCap(c int) (restore func() error, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return nil, err
	}
	orig := data
	data[c/32].Effective &^= 1 << (uint(c) % 32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return nil, err
	}
	return func() error { return unix.Capset(&hdr, &orig[0]) }, nil
}
