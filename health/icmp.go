package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// ErrICMPPermission means the process may open neither an unprivileged ICMP ping socket
// nor a raw socket. The error that wraps it names net.ipv4.ping_group_range, its value
// and the network namespace, and also wraps the errno (so errors.Is(err,
// os.ErrPermission) holds).
var ErrICMPPermission = errors.New("health: icmp sockets not permitted")

// ICMPChecker sends one ICMP (or ICMPv6) echo request and waits for the matching reply
// (keepalived's PING_CHECK). It first opens an unprivileged ping socket (allowed when
// the process's group is inside net.ipv4.ping_group_range of its network namespace) and
// falls back to a raw socket (needs CAP_NET_RAW).
type ICMPChecker struct {
	// Address is the target host name or IP address (no port). Required.
	Address string
	// Dial binds the socket (source, interface, fwmark).
	Dial DialConfig
	// Size is the echo payload size in bytes; zero (or less than 16) means 16.
	Size int
}

// Check implements Checker.
func (c *ICMPChecker) Check(ctx context.Context) (Result, error) {
	ctx, cancel, deadline := withDeadline(ctx)
	defer cancel()
	dst, err := resolveAddr(ctx, c.Address)
	if err != nil {
		return Result{}, wrapErr(ctx, "icmp "+c.Address, err)
	}
	start := time.Now()
	raw, err := ping(ctx, c.Dial, dst, max(c.Size, 16), deadline)
	if err != nil {
		return Result{}, wrapErr(ctx, "icmp "+c.Address, err)
	}
	via := "ping socket"
	if raw {
		via = "raw socket"
	}
	return Result{Detail: fmt.Sprintf("echo reply in %v via %s", time.Since(start).Round(time.Microsecond), via)}, nil
}

func resolveAddr(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	as, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(as) == 0 {
		return netip.Addr{}, fmt.Errorf("no address for %q", host)
	}
	return as[0].Unmap(), nil
}
