//go:build !linux

package vip

func kernelHasIFAProto() bool { return false }
