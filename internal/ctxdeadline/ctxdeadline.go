// Package ctxdeadline bounds one call on a socket by a context: the context's deadline
// becomes the socket's, and cancelling the context moves the deadline to the past, so
// that a blocked read or write returns. vip and route use it for their rtnetlink
// sockets.
package ctxdeadline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Setter is a socket with net.Conn-style deadlines, such as *netlink.Conn.
type Setter interface {
	SetDeadline(t time.Time) error
}

// Arm sets s's deadline to ctx's (none when ctx has none) and arranges for ctx's
// cancellation to end a blocked call. The returned function disarms both; it must be
// called when the call ends, before the next call arms s again.
func Arm(ctx context.Context, s Setter) (disarm func(), err error) {
	dl, _ := ctx.Deadline()
	if err := s.SetDeadline(dl); err != nil {
		return nil, err
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	return func() {
		if !stop() {
			// The cancel is running: let it set its past deadline before this
			// clears it, or it could land on the next call and fail it at once.
			<-fired
		}
		s.SetDeadline(time.Time{})
	}, nil
}

// Err makes an error that ctx caused also wrap ctx.Err(), so that callers can test
// for context.Canceled or context.DeadlineExceeded. The socket's deadline can pass a
// moment before the context's own timer fires; such a timeout counts as ctx's too.
func Err(ctx context.Context, err error) error {
	if err == nil {
		return err
	}
	cerr := ctx.Err()
	if cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr == nil || errors.Is(err, cerr) {
		return err
	}
	return fmt.Errorf("%w: %w", err, cerr)
}
