package vip

import (
	"fmt"
	"net"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/mdlayher/packet"
)

// packetAddr is the destination of a raw frame.
type packetAddr = packet.Addr

func newPacketAddr(mac net.HardwareAddr) *packetAddr { return &packet.Addr{HardwareAddr: mac} }

// listenPacket opens a raw packet socket for sending on ifi, inside the namespace at
// netns (empty: the caller's). Protocol 0 receives nothing.
func listenPacket(netns string, ifi *net.Interface) (*packet.Conn, error) {
	var conn *packet.Conn
	err := inNetNS(netns, func() (err error) {
		conn, err = packet.Listen(ifi, packet.Raw, 0, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vip: open packet socket on %s: %w", ifi.Name, err)
	}
	return conn, nil
}

// inNetNS runs fn on a locked OS thread switched into the namespace at path, and
// switches it back. Sockets fn opens stay in the namespace.
func inNetNS(path string, fn func() error) error { return netns.Do("vip", path, fn) }
