//go:build !linux

package vip

import (
	"fmt"
	"net"
	"runtime"
)

// packetAddr is the destination of a raw frame.
type packetAddr struct{ HardwareAddr net.HardwareAddr }

func (a *packetAddr) Network() string { return "packet" }
func (a *packetAddr) String() string  { return a.HardwareAddr.String() }

func newPacketAddr(mac net.HardwareAddr) *packetAddr { return &packetAddr{HardwareAddr: mac} }

func listenPacket(string, *net.Interface) (frameWriter, error) {
	return nil, fmt.Errorf("vip: packet sockets are not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}
