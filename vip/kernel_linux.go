package vip

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// kernelHasIFAProto reports whether the running kernel keeps IFA_PROTO (5.18+).
func kernelHasIFAProto() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return true
	}
	var major, minor int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor); err != nil {
		return true
	}
	return major > 5 || (major == 5 && minor >= 18)
}
