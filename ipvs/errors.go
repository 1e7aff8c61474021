package ipvs

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Sentinel errors. Errors returned by the Client match them with errors.Is; the kernel's
// errno stays reachable too, so errors.Is(err, unix.ESRCH) and errors.Is(err,
// os.ErrPermission) (EPERM: the caller lacks CAP_NET_ADMIN) also work.
var (
	// ErrServiceNotFound: the service does not exist (the kernel's ESRCH).
	ErrServiceNotFound = errors.New("ipvs: service not found")
	// ErrDestinationNotFound: the destination does not exist in its service (ENOENT on a
	// destination operation).
	ErrDestinationNotFound = errors.New("ipvs: destination not found")
	// ErrExists: the service or destination already exists (EEXIST).
	ErrExists = errors.New("ipvs: already exists")
	// ErrUnavailable: the kernel has no IPVS (the generic-netlink family "IPVS" does not
	// resolve).
	ErrUnavailable = errors.New("ipvs: IPVS is not available in this kernel")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("ipvs: client closed")
	// ErrInvalidService: a Service cannot identify a service (neither an Address nor a
	// FWMark); the Client refuses it before asking the kernel, which would answer
	// EAFNOSUPPORT.
	ErrInvalidService = errors.New("ipvs: invalid service")
)

// Error is a failed operation on a service, destination or other IPVS object. Err is
// the cause, usually a syscall.Errno from the kernel.
type Error struct {
	// Op is what was attempted, e.g. "create service".
	Op string
	// Object names the service, "SERVICE -> DESTINATION", or is empty.
	Object string
	// Err is the cause.
	Err error

	kind objKind
}

// objKind says what an Error's object is, for matching ESRCH and ENOENT to sentinels.
type objKind uint8

const (
	objOther objKind = iota
	objService
	objDest
)

// Error returns "ipvs: OP OBJECT: CAUSE", with the cause's own "ipvs: " prefix (a
// context error or sentinel of this package) left out so that it is not repeated.
func (e *Error) Error() string {
	cause := strings.TrimPrefix(e.Err.Error(), "ipvs: ")
	var what string
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		switch errno {
		case syscall.ESRCH:
			if e.kind != objOther {
				what = "service not found: "
			}
		case syscall.ENOENT:
			if e.kind == objDest {
				what = "destination not found: "
			} else if e.Op == "create service" || e.Op == "update service" {
				what = "scheduler or persistence engine not available: "
			}
		case syscall.EEXIST:
			what = "already exists: "
		}
	}
	if e.Object == "" {
		return fmt.Sprintf("ipvs: %s: %s%s", e.Op, what, cause)
	}
	return fmt.Sprintf("ipvs: %s %s: %s%s", e.Op, e.Object, what, cause)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the package's sentinels.
func (e *Error) Is(target error) bool {
	var errno syscall.Errno
	if !errors.As(e.Err, &errno) {
		return false
	}
	switch target {
	case ErrServiceNotFound:
		return e.kind != objOther && errno == syscall.ESRCH
	case ErrDestinationNotFound:
		return e.kind == objDest && errno == syscall.ENOENT
	case ErrExists:
		return errno == syscall.EEXIST
	}
	return false
}

func newError(op, object string, kind objKind, err error) error {
	if errno, ok := kernelErrno(err); ok {
		err = errno
	}
	return &Error{Op: op, Object: object, Err: err, kind: kind}
}

func destObject(s Service, d Destination) string { return s.String() + " -> " + d.String() }
