//go:build !linux

package main

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"
)

// arpProber needs Linux packet sockets.
type arpProber struct{}

func newARPProber(iface string) (*arpProber, error) {
	return nil, fmt.Errorf("splitbrain: ARP probing is not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}

func (p *arpProber) Close() error { return nil }

func (p *arpProber) resolve(ip netip.Addr, wait time.Duration) ([]net.HardwareAddr, error) {
	return nil, fmt.Errorf("splitbrain: ARP probing is not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}
