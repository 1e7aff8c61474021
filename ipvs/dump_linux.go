//go:build linux

package ipvs

import (
	"context"
	"fmt"
	"os"
	"time"
	"unsafe"

	lvsnetns "github.com/lvskit/lvskit/internal/netns"
	"golang.org/x/sys/unix"
)

// openDumper opens a blocking generic-netlink socket (inside netns when set) for the
// dump path of family.
func openDumper(netns string, family uint16) (*dumper, error) {
	fd, err := socketIn(netns)
	if err != nil {
		return nil, err
	}
	return newDumperIO(family, &sockIO{fd: fd}), nil
}

// socketIn opens a blocking, bound NETLINK_GENERIC socket in the network namespace
// netns ("": the caller's). A socket stays in the namespace it was created in, so only
// its creation runs on a thread switched into netns.
func socketIn(netns string) (int, error) {
	fd := -1
	err := lvsnetns.Do("ipvs", netns, func() (err error) {
		fd, err = dumpSocket()
		return err
	})
	if err != nil && fd >= 0 {
		// The socket was made but the thread could not leave the namespace.
		unix.Close(fd)
		fd = -1
	}
	return fd, err
}

func dumpSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return -1, fmt.Errorf("ipvs: open generic netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("ipvs: bind generic netlink socket: %w", err)
	}
	return fd, nil
}

// waitSlice bounds one blocking receive, so that a cancelled context is noticed within
// it. Dump receives rarely wait at all: the kernel queues the next part of a dump
// while the previous receive runs.
const waitSlice = 200 * time.Millisecond

// sockIO is a blocking socket of the dump path.
type sockIO struct {
	fd       int
	ctx      context.Context
	deadline time.Time
	timeo    time.Duration // the SO_RCVTIMEO in effect
}

func (s *sockIO) arm(ctx context.Context, deadline time.Time) {
	s.ctx, s.deadline = ctx, deadline
}

func (s *sockIO) close() error { return unix.Close(s.fd) }

func (s *sockIO) send(b []byte) error {
	for {
		_, err := unix.Write(s.fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("write", err)
		}
		return nil
	}
}

func (s *sockIO) recv(b []byte) (int, error) {
	for {
		if err := s.setTimeout(); err != nil {
			return 0, err
		}
		// MSG_TRUNC makes the kernel return the datagram's full length.
		n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			unix.MSG_TRUNC, 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR, unix.EAGAIN: // EAGAIN: SO_RCVTIMEO expired
			continue
		}
		return 0, os.NewSyscallError("recvfrom", e)
	}
}

// setTimeout fails when the context is done or the deadline passed, and otherwise
// makes SO_RCVTIMEO the smaller of waitSlice and the time left.
func (s *sockIO) setTimeout() error {
	if s.ctx != nil {
		if err := s.ctx.Err(); err != nil {
			return err
		}
	}
	t := waitSlice
	if !s.deadline.IsZero() {
		left := time.Until(s.deadline)
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		if left < t {
			t = left
		}
	}
	if t == s.timeo {
		return nil
	}
	tv := unix.NsecToTimeval(max(t, time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	s.timeo = t
	return nil
}
