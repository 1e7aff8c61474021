package health

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// UDPChecker sends one datagram on a connected UDP socket (keepalived's UDP_CHECK). An
// ICMP port-unreachable (or any ICMP error the kernel reports on the socket) means down.
//
// With no Expect and RequireReply false, the check waits ReplyWait for an ICMP error and
// passes when none came: silence is success, as with keepalived. Otherwise it needs a
// reply datagram that satisfies Expect.
type UDPChecker struct {
	// Address is host:port to send to. Required.
	Address string
	// Dial binds the socket (source, interface, fwmark).
	Dial DialConfig
	// Payload is the datagram to send; nil sends an empty datagram.
	Payload []byte
	// Expect, when non-nil and non-zero, is what the reply must hold; it implies
	// RequireReply.
	Expect *Expect
	// RequireReply makes a missing reply a failure.
	RequireReply bool
	// ReplyWait bounds how long to wait for a reply or ICMP error; zero means until the
	// check's deadline.
	ReplyWait time.Duration
}

// Check implements Checker.
func (c *UDPChecker) Check(ctx context.Context) (Result, error) {
	ctx, cancel, deadline := withDeadline(ctx)
	defer cancel()
	res, err := c.check(ctx, deadline)
	if err != nil {
		return Result{}, wrapErr(ctx, "udp "+c.Address, err)
	}
	return res, nil
}

func (c *UDPChecker) check(ctx context.Context, deadline time.Time) (Result, error) {
	conn, err := c.Dial.dial(ctx, "udp", c.Address, deadline)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	defer closeOnDone(ctx, conn)()
	needReply := c.RequireReply || !c.Expect.isZero()
	wait := deadline
	if c.ReplyWait > 0 {
		if w := time.Now().Add(c.ReplyWait); w.Before(wait) {
			wait = w
		}
	}
	_ = conn.SetReadDeadline(wait)
	if _, err := conn.Write(c.Payload); err != nil {
		return Result{}, fmt.Errorf("send: %w", err)
	}
	buf := make([]byte, 65536)
	n, err := conn.Read(buf)
	if err != nil {
		// Silence until the wait (or the whole-check deadline, whichever closed the
		// socket first) is success when no reply is required; cancellation is not.
		silent := errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)
		if !needReply && silent && !errors.Is(ctx.Err(), context.Canceled) {
			return Result{Detail: "no ICMP error"}, nil
		}
		return Result{}, fmt.Errorf("read: %w", err)
	}
	if !c.Expect.isZero() {
		if ok, _ := c.Expect.match(buf[:n]); !ok {
			return Result{}, mismatch("reply %q does not match %s", clip(buf[:n]), c.Expect)
		}
	}
	return Result{Detail: fmt.Sprintf("%d-byte reply", n)}, nil
}
