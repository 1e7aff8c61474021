package ipvs

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/mdlayher/netlink"
)

// TestKernelErrnoOutsideLinux checks the path every OS but Linux takes: there
// github.com/mdlayher/netlink reports an error reply as an OpError whose Err is one
// generic error, and only the fake's errno message says what the errno was.
func TestKernelErrnoOutsideLinux(t *testing.T) {
	notImplemented := errors.New("netlink: not implemented on windows/arm64")
	tests := []struct {
		name      string
		errno     ipvstest.Errno
		kind      objKind
		want      syscall.Errno
		sentinel  error
		permitted bool
	}{
		{"exists", ipvstest.EEXIST, objService, syscall.EEXIST, ErrExists, true},
		{"service not found", ipvstest.ESRCH, objService, syscall.ESRCH, ErrServiceNotFound, true},
		{"destination not found", ipvstest.ENOENT, objDest, syscall.ENOENT, ErrDestinationNotFound, true},
		{"permission", ipvstest.EPERM, objOther, syscall.EPERM, nil, false},
		{"range", ipvstest.ERANGE, objDest, syscall.ERANGE, nil, true},
		{"family", ipvstest.EAFNOSUPPORT, objService, syscall.EAFNOSUPPORT, nil, true},
		{"not supported", ipvstest.EOPNOTSUPP, objOther, syscall.EOPNOTSUPP, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oe := &netlink.OpError{Op: "receive", Err: notImplemented, Message: ipvstest.ErrnoMessage(tt.errno), Sequence: 7}
			got, ok := kernelErrno(fmt.Errorf("wrapped: %w", oe))
			if !ok || got != tt.want {
				t.Fatalf("kernelErrno = %v, %v; want %v, true", got, ok, tt.want)
			}
			err := newError("op", "obj", tt.kind, oe)
			if !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
			}
			if errors.Is(err, os.ErrPermission) == tt.permitted {
				t.Errorf("errors.Is(%v, os.ErrPermission) = %v", err, !tt.permitted)
			}
		})
	}
	// Without the message, the generic error is a socket failure, not a reply.
	for _, msg := range []string{"", "ipvstest: errno x", "ipvstest: errno -3", "some kernel extack text"} {
		if got, ok := kernelErrno(&netlink.OpError{Op: "receive", Err: notImplemented, Message: msg}); ok {
			t.Errorf("message %q: kernelErrno = %v, true; want false", msg, got)
		}
	}
	// On Linux the errno in OpError.Err is taken as it is.
	if got, ok := kernelErrno(&netlink.OpError{Op: "receive", Err: syscall.ESRCH}); !ok || got != syscall.ESRCH {
		t.Errorf("errno in OpError.Err: kernelErrno = %v, %v; want ESRCH, true", got, ok)
	}
}
