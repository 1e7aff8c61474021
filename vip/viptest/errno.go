package viptest

import "strconv"

// Errno is a Linux errno number as the fake puts it in its netlink error replies. The
// rtnetlink protocol is Linux's, so the numbers are Linux's on every OS the fake runs
// on; on Linux, github.com/mdlayher/netlink reports them as the equal syscall.Errno.
// On Linux an Errno also matches that syscall.Errno in errors.Is, and what it matches
// (errors.Is(viptest.EPERM, os.ErrPermission)); elsewhere it matches only itself.
type Errno int32

// The errnos the fake answers with, and a few that tests commonly inject with FailNext
// (Linux's numbers, asm-generic/errno-base.h and errno.h).
const (
	EPERM         Errno = 1   // EPERM: the caller lacks CAP_NET_ADMIN
	ENOENT        Errno = 2   // ENOENT: a change without NLM_F_CREATE to an address that does not exist
	EEXIST        Errno = 17  // EEXIST: the address is already on the interface
	ENODEV        Errno = 19  // ENODEV: no interface with the request's index
	EINVAL        Errno = 22  // EINVAL: a malformed request
	ENOBUFS       Errno = 105 // ENOBUFS: the kernel ran out of buffer space
	EOPNOTSUPP    Errno = 95  // EOPNOTSUPP: a message type the fake does not serve
	EADDRNOTAVAIL Errno = 99  // EADDRNOTAVAIL: the address to delete is not on the interface
)

var errnoNames = map[Errno]string{
	EPERM: "operation not permitted", ENOENT: "no such file or directory", EEXIST: "file exists",
	ENODEV: "no such device", EINVAL: "invalid argument", ENOBUFS: "no buffer space available",
	EOPNOTSUPP: "operation not supported", EADDRNOTAVAIL: "cannot assign requested address",
}

// Error returns the text Linux's strerror gives the errno.
func (e Errno) Error() string {
	if s, ok := errnoNames[e]; ok {
		return s
	}
	return "errno " + strconv.Itoa(int(e))
}
