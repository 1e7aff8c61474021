package health

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/textproto"
	"time"
)

// SMTPChecker reads an SMTP server's 220 banner, sends HELO and requires a 250 reply
// (keepalived's SMTP_CHECK), then says QUIT.
type SMTPChecker struct {
	// Address is host:port to connect to. Required.
	Address string
	// Dial binds the socket (source, interface, fwmark).
	Dial DialConfig
	// HeloName is the name sent with HELO; empty means "localhost".
	HeloName string
}

// Check implements Checker.
func (c *SMTPChecker) Check(ctx context.Context) (Result, error) {
	ctx, cancel, deadline := withDeadline(ctx)
	defer cancel()
	res, err := c.check(ctx, deadline)
	if err != nil {
		return Result{}, wrapErr(ctx, "smtp "+c.Address, err)
	}
	return res, nil
}

func (c *SMTPChecker) check(ctx context.Context, deadline time.Time) (Result, error) {
	helo := c.HeloName
	if helo == "" {
		helo = "localhost"
	}
	conn, err := c.Dial.dial(ctx, "tcp", c.Address, deadline)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	defer closeOnDone(ctx, conn)()
	r := textproto.NewReader(bufio.NewReader(io.LimitReader(conn, defaultMaxRead)))
	if err := smtpReply(r, 220, "banner"); err != nil {
		return Result{}, err
	}
	if _, err := fmt.Fprintf(conn, "HELO %s\r\n", helo); err != nil {
		return Result{}, fmt.Errorf("send HELO: %w", err)
	}
	if err := smtpReply(r, 250, "HELO"); err != nil {
		return Result{}, err
	}
	_, _ = io.WriteString(conn, "QUIT\r\n")
	return Result{Detail: "220 banner, 250 HELO"}, nil
}

func smtpReply(r *textproto.Reader, want int, what string) error {
	code, msg, err := r.ReadResponse(want)
	if err != nil {
		if _, ok := err.(*textproto.Error); ok {
			return mismatch("%s: %d %s", what, code, msg)
		}
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}
