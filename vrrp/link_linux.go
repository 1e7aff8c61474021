package vrrp

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// LinkWatcher follows the state of one interface through rtnetlink link events, to
// feed Router.SetInterfaceUp (keepalived's automatic interface tracking). A link is up
// when it is administratively up and running (has carrier).
type LinkWatcher struct {
	c     *netlink.Conn
	index int
	up    bool
}

// WatchLink subscribes to link events for the named interface. Like ListenIP, it
// watches the network namespace of the calling thread.
func WatchLink(name string) (*LinkWatcher, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Groups: unix.RTMGRP_LINK})
	if err != nil {
		return nil, fmt.Errorf("vrrp: subscribe to link events: %w", err)
	}
	// Read the state after subscribing, so no change falls between the two.
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("vrrp: interface %q: %w", name, err)
	}
	return &LinkWatcher{c: c, index: ifi.Index, up: ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0}, nil
}

// Up reports the link state as last seen.
func (w *LinkWatcher) Up() bool { return w.up }

// Run calls fn with the current state, then with every change, until ctx is done (it
// returns nil) or reading events fails. fn runs on Run's goroutine.
func (w *LinkWatcher) Run(ctx context.Context, fn func(up bool)) error {
	fn(w.up)
	stop := context.AfterFunc(ctx, func() { w.c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		msgs, err := w.c.Receive()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("vrrp: reading link events: %w", err)
		}
		for _, m := range msgs {
			t := m.Header.Type
			if (t != unix.RTM_NEWLINK && t != unix.RTM_DELLINK) || len(m.Data) < unix.SizeofIfInfomsg {
				continue
			}
			// struct ifinfomsg: family, pad, type (2), index (4), flags (4), change (4).
			if int(int32(binary.NativeEndian.Uint32(m.Data[4:8]))) != w.index {
				continue
			}
			flags := binary.NativeEndian.Uint32(m.Data[8:12])
			up := t == unix.RTM_NEWLINK && flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING != 0
			if up != w.up {
				w.up = up
				fn(up)
			}
		}
	}
}

// Close stops watching.
func (w *LinkWatcher) Close() error { return w.c.Close() }
