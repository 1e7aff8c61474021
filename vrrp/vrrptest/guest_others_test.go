//go:build !linux

package vrrptest

func inGuest() bool { return false }
