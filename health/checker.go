package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultTimeout is the deadline a probe applies to itself when the context passed to
// Check has none. It matches keepalived's connect_timeout default.
const DefaultTimeout = 5 * time.Second

// A Checker probes one target once. Check returns a nil error when the target is
// healthy, and an error saying why when it is not. A Checker must honour ctx: it returns
// no later than ctx's deadline (or DefaultTimeout when ctx has none), and it leaves no
// goroutine, socket or process behind when it returns.
//
// Checkers are safe for concurrent use as long as their exported fields are not changed
// while a Check runs; the Scheduler never runs one Checker concurrently with itself.
type Checker interface {
	Check(ctx context.Context) (Result, error)
}

// CheckerFunc adapts a function to the Checker interface.
type CheckerFunc func(ctx context.Context) (Result, error)

// Check calls f(ctx).
func (f CheckerFunc) Check(ctx context.Context) (Result, error) { return f(ctx) }

// Result is what a successful check reports besides "up".
type Result struct {
	// Weight is a weight the target asked for (keepalived's misc_dynamic); it is
	// meaningful only when WeightSet is true.
	Weight int
	// WeightSet reports whether the check produced a dynamic weight.
	WeightSet bool
	// Detail is a short human-readable note ("HTTP 200", "exit status 0").
	Detail string
}

// Errors that probes wrap, so that callers can branch with errors.Is. The underlying
// cause (a *net.OpError, a syscall.Errno such as ECONNREFUSED, a
// context.DeadlineExceeded) stays reachable through the same chain.
var (
	// ErrMismatch means the target answered, but not with what the check expects
	// (status code, body, digest, banner, DNS answer, exit status).
	ErrMismatch = errors.New("health: unexpected answer")
	// ErrTimeout means the whole-check deadline passed before the check finished.
	ErrTimeout = errors.New("health: check timed out")
	// ErrUnsupported means the probe needs something this platform lacks.
	ErrUnsupported = errors.New("health: not supported on this platform")
)

// withDeadline returns ctx bounded by DefaultTimeout when it has no deadline.
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc, time.Time) {
	if d, ok := ctx.Deadline(); ok {
		return ctx, func() {}, d
	}
	d := time.Now().Add(DefaultTimeout)
	ctx, cancel := context.WithDeadline(ctx, d)
	return ctx, cancel, d
}

// wrapErr prefixes err with the probe name and, when the deadline passed or ctx was
// cancelled, makes ErrTimeout or context.Canceled reachable as well as the cause.
func wrapErr(ctx context.Context, probe string, err error) error {
	if err == nil {
		return nil
	}
	if isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if !errors.Is(err, ErrTimeout) {
			return fmt.Errorf("health: %s: %w", probe, &tagged{ErrTimeout, err})
		}
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		// Cancellation closed the socket under a read: report the cause, not just
		// "use of closed network connection".
		return fmt.Errorf("health: %s: %w", probe, &tagged{cerr, err})
	}
	return fmt.Errorf("health: %s: %w", probe, err)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &t) && t.Timeout())
}

// mismatch builds an error that wraps ErrMismatch.
func mismatch(format string, args ...any) error {
	return &tagged{ErrMismatch, fmt.Errorf(format, args...)}
}

// tagged joins a sentinel and its cause, both reachable with errors.Is and errors.As.
// Its message leaves out the sentinel's "health: " prefix, which the probe's own error
// already carries.
type tagged struct{ sentinel, cause error }

func (t *tagged) Error() string {
	return strings.TrimPrefix(t.sentinel.Error(), "health: ") + ": " + t.cause.Error()
}

func (t *tagged) Unwrap() []error { return []error{t.sentinel, t.cause} }
