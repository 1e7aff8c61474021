//go:build !linux

package viptest

// Is reports false: outside Linux the local errno numbers are not Linux's, so an Errno
// matches only itself.
func (e Errno) Is(target error) bool { return false }
