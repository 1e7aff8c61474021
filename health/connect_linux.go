package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// connectOnly opens a TCP connection to ap with d's bindings and closes it at once with
// a RST (SO_LINGER 0), for a TCPChecker that sends and expects nothing. It does what
// net.Dialer would, minus what a connect-only probe of an IP literal never needs: no
// resolver, no dual-stack racing, no goroutine watching ctx, no keepalive or
// getsockname/getpeername calls.
//
// The socket is non-blocking. When connect completes during the call itself or
// immediately after (targets on this host: the loopback handshake runs inside the
// connect system call), a zero-timeout poll(2) sees it and the probe costs socket,
// setsockopt, connect, poll and close, without touching the netpoller. Otherwise the
// socket is handed to the Go netpoller (os.NewFile) and the probe waits for
// writability until the deadline, while context.AfterFunc turns a cancellation into
// an expired deadline (no goroutine). handled is false when the address or bindings
// need net.Dialer's general path (a zone, a source of the other family).
func (d DialConfig) connectOnly(ctx context.Context, ap netip.AddrPort, deadline time.Time) (handled bool, err error) {
	dst := ap.Addr().Unmap()
	src := d.Source.Unmap()
	if dst.Zone() != "" || (src.IsValid() && (src.Zone() != "" || src.Is4() != dst.Is4())) {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return true, err
	}
	if !time.Now().Before(deadline) {
		return true, opError(ap, "dial", os.ErrDeadlineExceeded)
	}
	family := unix.AF_INET
	if dst.Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return true, opError(ap, "dial", os.NewSyscallError("socket", err))
	}
	owned := true // fd is ours to close until os.NewFile takes it
	defer func() {
		if owned {
			unix.Close(fd)
		}
	}()
	// Close with RST: the director keeps no TIME_WAIT entry per check.
	if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1}); err != nil {
		return true, opError(ap, "dial", os.NewSyscallError("setsockopt", err))
	}
	if d.Interface != "" || d.Mark != 0 {
		if err := d.setSockopts(fd); err != nil {
			return true, opError(ap, "dial", err)
		}
	}
	if src.IsValid() {
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(src, 0))); err != nil {
			return true, opError(ap, "dial", os.NewSyscallError("bind", err))
		}
	}
	switch err := unix.Connect(fd, sockaddr(netip.AddrPortFrom(dst, ap.Port()))); err {
	case nil:
		return true, nil
	case unix.EINPROGRESS, unix.EINTR, unix.EALREADY:
	default:
		return true, opError(ap, "dial", os.NewSyscallError("connect", err))
	}
	if done, err := connectDone(fd); done {
		if err != nil {
			return true, opError(ap, "dial", os.NewSyscallError("connect", err))
		}
		return true, nil
	}

	// Slow path: the handshake is in flight. Wait in the netpoller.
	f := os.NewFile(uintptr(fd), "health-probe")
	owned = false
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return true, opError(ap, "dial", err)
	}
	if err := f.SetWriteDeadline(deadline); err != nil {
		return true, opError(ap, "dial", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	var cerr error
	werr := rc.Write(func(fd uintptr) bool {
		var done bool
		done, cerr = connectDone(int(fd))
		return done
	})
	stop()
	switch {
	case werr != nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return true, opError(ap, "dial", ctx.Err())
	case werr != nil:
		return true, opError(ap, "dial", werr)
	case cerr != nil:
		return true, opError(ap, "dial", os.NewSyscallError("connect", cerr))
	}
	return true, nil
}

// connectDone reports whether a non-blocking connect on fd has finished, and its error.
func connectDone(fd int) (bool, error) {
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(pfd[:], 0)
	if err != nil && err != unix.EINTR {
		return true, err
	}
	if n == 0 {
		return false, nil
	}
	ev := pfd[0].Revents
	if ev&(unix.POLLERR|unix.POLLHUP) != 0 {
		soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return true, err
		}
		if soerr != 0 {
			return true, unix.Errno(soerr)
		}
		return true, unix.ECONNRESET
	}
	return ev&unix.POLLOUT != 0, nil
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
	}
	return &unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
}

// opError makes the *net.OpError net.Dialer would have returned, so that messages and
// errors.Is/As behave the same on both paths.
func opError(ap netip.AddrPort, op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: err}
}
