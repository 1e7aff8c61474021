package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// TCPChecker connects to a TCP port (keepalived's TCP_CHECK), optionally sends bytes and
// checks the reply. It closes with SO_LINGER 0 (a RST), so no TIME_WAIT entry stays on
// the checking host per probe.
type TCPChecker struct {
	// Address is host:port to connect to. Required.
	Address string
	// Dial binds the socket (source, interface, fwmark).
	Dial DialConfig
	// Send is written after the connection is established; nil writes nothing.
	Send []byte
	// Expect, when non-nil and non-zero, is the reply required after Send.
	Expect *Expect
	// MaxRead caps how many reply bytes are read; zero means 64 KiB.
	MaxRead int
}

// TCPCheckerFor returns a connect-only TCPChecker for ap, the form in which package
// ipvs and netip-based code hold a real server (netip.AddrPortFrom(d.Address,
// d.Port) for an ipvs.Destination d). It sets Address to ap's host:port form
// ("192.0.2.1:80", "[2001:db8::1]:80"), which the connect-only path parses back
// without name resolution; set the other fields on the result as needed. An invalid
// ap (the zero value) gives a checker whose Check fails.
func TCPCheckerFor(ap netip.AddrPort) *TCPChecker {
	if !ap.IsValid() {
		// AddrPort.String gives "invalid AddrPort", which a dial would try to resolve.
		return &TCPChecker{}
	}
	return &TCPChecker{Address: ap.String()}
}

// Check implements Checker.
func (c *TCPChecker) Check(ctx context.Context) (Result, error) {
	ctx, cancel, deadline := withDeadline(ctx)
	defer cancel()
	if err := c.check(ctx, deadline); err != nil {
		return Result{}, wrapErr(ctx, "tcp "+c.Address, err)
	}
	return Result{Detail: "connected"}, nil
}

// checkUntil is Check for the Scheduler, which passes its own context (for
// cancellation) and the attempt's deadline separately, so that a connect-only check,
// which needs no Done channel, costs no context or timer. Other checks get a context
// with the deadline as usual.
func (c *TCPChecker) checkUntil(ctx context.Context, deadline time.Time) (Result, error) {
	if len(c.Send) == 0 && c.Expect.isZero() {
		if ap, err := netip.ParseAddrPort(c.Address); err == nil {
			if handled, err := c.Dial.connectOnly(ctx, ap, deadline); handled {
				if err != nil {
					return Result{}, wrapErr(ctx, "tcp "+c.Address, err)
				}
				return Result{Detail: "connected"}, nil
			}
		}
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	return c.Check(ctx)
}

func (c *TCPChecker) check(ctx context.Context, deadline time.Time) error {
	if len(c.Send) == 0 && c.Expect.isZero() {
		// Connect-only (the common TCP_CHECK): skip net.Dialer when the address is
		// an IP literal. See connectOnly.
		if ap, err := netip.ParseAddrPort(c.Address); err == nil {
			if handled, err := c.Dial.connectOnly(ctx, ap, deadline); handled {
				return err
			}
		}
	}
	conn, err := c.Dial.dial(ctx, "tcp", c.Address, deadline)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer closeOnDone(ctx, conn)()
	if len(c.Send) > 0 {
		if _, err := conn.Write(c.Send); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	if c.Expect.isZero() {
		return nil
	}
	if err := readExpect(conn, c.Expect, c.MaxRead); err != nil {
		if !errors.Is(err, ErrMismatch) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read: %w", err)
		}
		return err
	}
	return nil
}
