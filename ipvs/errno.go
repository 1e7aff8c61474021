package ipvs

import (
	"errors"
	"strconv"
	"strings"
	"syscall"

	"github.com/mdlayher/netlink"
)

// kernelErrno extracts the errno of a netlink error reply, reporting whether err is a
// reply (as opposed to a failure of the socket). It is the one path for every OS:
//
//   - On Linux, github.com/mdlayher/netlink puts the reply's errno in OpError.Err.
//   - Elsewhere netlink replaces it with one generic "not implemented" error, so a reply
//     of the ipvstest fake (the only peer a Client has there) would look like a broken
//     socket. The fake names the errno in the reply's extended-acknowledgement message
//     ("ipvstest: errno 17 (file exists)", see ipvstest.ErrnoMessage), which netlink
//     keeps in OpError.Message on every OS; it is read from there first, and mapped
//     from Linux's number to this OS's syscall.Errno.
func kernelErrno(err error) (syscall.Errno, bool) {
	var oe *netlink.OpError
	if !errors.As(err, &oe) {
		return 0, false
	}
	if n, ok := fakeErrno(oe.Message); ok {
		return localErrno(n), true
	}
	errno, ok := oe.Err.(syscall.Errno)
	return errno, ok
}

// fakeErrno parses the errno out of an ipvstest error message.
func fakeErrno(msg string) (int, bool) {
	rest, ok := strings.CutPrefix(msg, "ipvstest: errno ")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// localErrno maps an errno number of the Linux netlink protocol to this OS's
// syscall.Errno of the same meaning, so that errors.Is(err, syscall.EEXIST) and the
// package's sentinels work on every OS. Numbers without a known meaning stay as they
// are.
func localErrno(linux int) syscall.Errno {
	switch linux {
	case 1:
		return syscall.EPERM
	case 2:
		return syscall.ENOENT
	case 3:
		return syscall.ESRCH
	case 12:
		return syscall.ENOMEM
	case 16:
		return syscall.EBUSY
	case 17:
		return syscall.EEXIST
	case 19:
		return syscall.ENODEV
	case 22:
		return syscall.EINVAL
	case 34:
		return syscall.ERANGE
	case 95:
		return syscall.EOPNOTSUPP
	case 97:
		return syscall.EAFNOSUPPORT
	}
	return syscall.Errno(linux)
}
