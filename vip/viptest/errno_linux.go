package viptest

import (
	"errors"
	"syscall"
)

// Is reports whether target is the syscall.Errno with e's number, or an error that
// syscall.Errno matches (such as os.ErrPermission for EPERM).
func (e Errno) Is(target error) bool { return errors.Is(syscall.Errno(e), target) }
