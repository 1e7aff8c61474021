//go:build !linux

package vrrp

import (
	"fmt"
	"net/netip"
	"runtime"
	"time"
)

// IPTransport is the kernel transport; it exists only on Linux.
type IPTransport struct{}

// ListenIP returns an error: the kernel transport exists only on Linux.
func ListenIP(cfg *TransportConfig) (*IPTransport, error) {
	return nil, fmt.Errorf("vrrp: the IP transport is not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}

// ReadFrom implements Transport; it always fails.
func (t *IPTransport) ReadFrom(b []byte) (int, PacketInfo, error) {
	return 0, PacketInfo{}, fmt.Errorf("vrrp: not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}

// WriteTo implements Transport; it always fails.
func (t *IPTransport) WriteTo(b []byte, src, dst netip.Addr) error {
	return fmt.Errorf("vrrp: not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}

// Close implements Transport.
func (t *IPTransport) Close() error { return nil }

// Filtered returns 0.
func (t *IPTransport) Filtered() uint64 { return 0 }

// SetReadDeadline always fails.
func (t *IPTransport) SetReadDeadline(d time.Time) error {
	return fmt.Errorf("vrrp: not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}
