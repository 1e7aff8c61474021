//go:build !linux

package vrrp_test

func inGuest() bool { return false }
