//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel's process event connector (linux/connector.h, linux/cn_proc.h); the
// constants are not in x/sys.
const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCNMcastListen = 1
	procEventFork     = 0x00000001
	procEventExec     = 0x00000002
	procEventComm     = 0x00000200
	procEventExit     = 0x80000000
)

// nlmsghdr (16 bytes) + cn_msg header (20 bytes) precede a proc_event.
const cnMsgOffset, procEventOffset = 16, 16 + 20

// procEvents subscribes to the kernel's process events, as keepalived does for
// track_process, and calls kick for each fork, exec, exit or rename until ctx ends.
// It returns at once with an error when the kernel refuses the subscription (it
// needs CAP_NET_ADMIN and CONFIG_PROC_EVENTS); the caller then relies on rescans.
// kick must not block.
func procEvents(ctx context.Context, kick func()) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return fmt.Errorf("director: process events: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc, Pid: 0}); err != nil {
		return fmt.Errorf("director: process events: bind: %w", err)
	}
	// A receive timeout lets the loop notice ctx's end.
	tv := unix.NsecToTimeval(int64(250 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("director: process events: %w", err)
	}
	msg := make([]byte, procEventOffset+4)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.NLMSG_DONE)
	ne.PutUint32(msg[12:], 0)
	ne.PutUint32(msg[cnMsgOffset:], cnIdxProc)
	ne.PutUint32(msg[cnMsgOffset+4:], cnValProc)
	ne.PutUint16(msg[cnMsgOffset+16:], 4)
	ne.PutUint32(msg[procEventOffset:], procCNMcastListen)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("director: process events: subscribe: %w", err)
	}
	buf := make([]byte, 4096)
	for ctx.Err() == nil {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOBUFS):
			kick() // events were lost: rescan
			continue
		case err != nil:
			return fmt.Errorf("director: process events: %w", err)
		}
		for b := buf[:n]; len(b) >= procEventOffset+4; {
			l := int(ne.Uint32(b))
			if l < procEventOffset+4 || l > len(b) {
				break
			}
			switch ne.Uint32(b[procEventOffset:]) {
			case procEventFork, procEventExec, procEventComm, procEventExit:
				kick()
			}
			b = b[(l+3)&^3:]
		}
	}
	return nil
}
