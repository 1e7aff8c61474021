package main

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// advertCapture records the VRRP advertisements arriving on a host's eth0, each
// with the kernel's receive timestamp (SO_TIMESTAMPNS), so that the time between
// two adverts does not include the lab's own scheduling delays.
type advertCapture struct {
	conn *packet.Conn
	raw  syscall.RawConn
	done chan struct{}

	mu  sync.Mutex
	ads []advert
	err error
}

// startAdvertCapture opens a packet socket for IPv4 frames on eth0 in n.
func startAdvertCapture(n netns) (*advertCapture, error) {
	c := &advertCapture{done: make(chan struct{})}
	err := n.do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		c.conn, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_IP, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	if c.raw, err = c.conn.SyscallConn(); err != nil {
		c.conn.Close()
		return nil, err
	}
	var serr error
	if err := c.raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		c.conn.Close()
		return nil, errors.Join(err, serr)
	}
	go c.read()
	return c, nil
}

func (c *advertCapture) read() {
	defer close(c.done)
	b := make([]byte, 2048)
	oob := make([]byte, 128)
	for {
		var n, oobn int
		var rerr error
		err := c.raw.Read(func(fd uintptr) bool {
			n, oobn, _, _, rerr = unix.Recvmsg(int(fd), b, oob, unix.MSG_DONTWAIT)
			return rerr != unix.EAGAIN
		})
		if err != nil || rerr != nil {
			// Closing the socket ends the loop; other errors are kept.
			if err == nil {
				c.mu.Lock()
				c.err = rerr
				c.mu.Unlock()
			}
			return
		}
		a, ok := parseAdvert(b[:n])
		if !ok {
			continue
		}
		a.At = time.Now()
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS {
					if at, ok := timespec(m.Data); ok {
						a.At = at
					}
				}
			}
		}
		c.mu.Lock()
		c.ads = append(c.ads, a)
		c.mu.Unlock()
	}
}

// timespec decodes a struct timespec: two 64-bit fields on 64-bit Linux, two 32-bit
// ones on 32-bit Linux.
func timespec(b []byte) (time.Time, bool) {
	switch len(b) {
	case 16:
		return time.Unix(int64(binary.NativeEndian.Uint64(b)), int64(binary.NativeEndian.Uint64(b[8:]))), true
	case 8:
		return time.Unix(int64(int32(binary.NativeEndian.Uint32(b))), int64(int32(binary.NativeEndian.Uint32(b[4:])))), true
	}
	return time.Time{}, false
}

// stop closes the socket and returns the adverts seen, in order of arrival.
func (c *advertCapture) stop() ([]advert, error) {
	// Frames already queued are read before the socket closes.
	time.Sleep(50 * time.Millisecond)
	c.conn.Close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ads, c.err
}
