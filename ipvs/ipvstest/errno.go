package ipvstest

import (
	"fmt"
	"strconv"
)

// Errno is a Linux errno number as the fake puts it in its netlink error replies. The
// IPVS protocol is Linux's, so the numbers are Linux's on every OS the fake runs on
// (EEXIST is 17 on Windows and macOS too); they are not the local syscall.Errno values.
type Errno int32

// The errnos the fake answers with (Linux's numbers, asm-generic/errno-base.h and
// errno.h).
const (
	EPERM        Errno = 1  // EPERM: the caller lacks CAP_NET_ADMIN (Config.DenyPermission)
	ENOENT       Errno = 2  // ENOENT: missing destination, scheduler, persistence engine or family
	ESRCH        Errno = 3  // ESRCH: missing service
	EEXIST       Errno = 17 // EEXIST: the service, destination or daemon exists
	EINVAL       Errno = 22 // EINVAL: a required attribute is missing or malformed
	ERANGE       Errno = 34 // ERANGE: a negative weight, or a lower threshold above the upper
	EOPNOTSUPP   Errno = 95 // EOPNOTSUPP: an unknown command, or a dump of a command without one
	EAFNOSUPPORT Errno = 97 // EAFNOSUPPORT: an address family other than IPv4 and IPv6
)

var errnoNames = map[Errno]string{
	EPERM: "operation not permitted", ENOENT: "no such file or directory", ESRCH: "no such process",
	EEXIST: "file exists", EINVAL: "invalid argument", ERANGE: "numerical result out of range",
	EOPNOTSUPP: "operation not supported", EAFNOSUPPORT: "address family not supported by protocol",
}

// Error returns the text Linux's strerror gives the errno.
func (e Errno) Error() string {
	if s, ok := errnoNames[e]; ok {
		return s
	}
	return "errno " + strconv.Itoa(int(e))
}

// ErrnoMessage is the extended-acknowledgement message (NLMSGERR_ATTR_MSG) the fake adds
// to an error reply carrying e when Config.ErrnoMessages is set: "ipvstest: errno N
// (TEXT)", N in decimal. Outside Linux, github.com/mdlayher/netlink reports every error
// reply as one generic error and keeps only this message, so package ipvs reads the
// errno back from it there. A real kernel never sends a message of this form.
func ErrnoMessage(e Errno) string {
	return fmt.Sprintf("ipvstest: errno %d (%s)", int32(e), e.Error())
}
