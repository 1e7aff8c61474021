package vip

import (
	"fmt"
	"net"
	"os"
	"runtime"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
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
// switches it back. Sockets fn opens stay in the namespace. If switching back fails the
// thread stays locked and the runtime discards it when the goroutine ends.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("vip: open current netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("vip: open netns: %w", err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("vip: enter netns %s: %w", path, os.NewSyscallError("setns", err))
			return
		}
		fnErr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("vip: leave netns %s: %w", path, os.NewSyscallError("setns", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}
