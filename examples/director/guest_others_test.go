//go:build !linux

package main

// inGuest is false off Linux: the kernel-test guest is Linux.
func inGuest() bool { return false }
