//go:build linux

package ipvs

import (
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// receiveBuffer is the user-space buffer for one datagram: the kernel never makes a dump
// datagram larger than 32 KiB, so no peek is needed before each read.
const receiveBuffer = 32 << 10

// Dial opens a generic-netlink socket (inside cfg.NetNS when set) and resolves the IPVS
// family. Without IPVS in the kernel it returns an error matching ErrUnavailable.
// Resolving the family makes the kernel load the ip_vs module when it can.
func Dial(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	dial := func() (*netlink.Conn, error) { return dialNetlink(cfg.NetNS) }
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	c, err := newClient(conn, cfg, dial)
	if err != nil {
		return nil, err
	}
	netns := cfg.NetNS
	c.openDump = func(family uint16) (*dumper, error) { return openDumper(netns, family) }
	return c, nil
}

func dialNetlink(netns string) (*netlink.Conn, error) {
	nc := &netlink.Config{MessageBufferSize: receiveBuffer}
	if netns != "" {
		fd, err := unix.Open(netns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("ipvs: open network namespace %s: %w", netns, err)
		}
		defer unix.Close(fd)
		nc.NetNS = fd
	}
	conn, err := netlink.Dial(unix.NETLINK_GENERIC, nc)
	if err != nil {
		return nil, fmt.Errorf("ipvs: open generic netlink socket: %w", err)
	}
	// Small error acknowledgements and a large receive queue keep a pipelined window of
	// replies from overflowing the socket. Both are best effort.
	_ = conn.SetOption(netlink.CapAcknowledge, true)
	if err := forceReadBuffer(conn, 4<<20); err != nil {
		_ = conn.SetReadBuffer(4 << 20)
	}
	return conn, nil
}

func forceReadBuffer(c *netlink.Conn, n int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
	}); err != nil {
		return err
	}
	return serr
}
