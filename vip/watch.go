package vip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
)

// EventKind says what a watch Event reports.
type EventKind int

// The kinds of Event.
const (
	// AddressRemoved: an owned address disappeared (someone deleted it, or the kernel
	// did, as it does to IPv6 addresses when a link goes down).
	AddressRemoved EventKind = iota + 1
	// AddressAdded: an owned address appeared that was not there when the Watcher
	// started or since it was last removed. The kernel's updates to an address that is
	// present (such as the end of duplicate address detection) are not reported.
	AddressAdded
	// LinkDown: an interface lost its up or running state, or vanished.
	LinkDown
	// LinkUp: an interface became up and running.
	LinkUp
	// Overrun: the kernel dropped notifications because the socket's buffer was
	// full. Events may be missing: list the addresses again. The Watcher has
	// reloaded its own view and reports changes from there on.
	Overrun
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case AddressRemoved:
		return "address removed"
	case AddressAdded:
		return "address added"
	case LinkDown:
		return "link down"
	case LinkUp:
		return "link up"
	case Overrun:
		return "overrun"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one change that Watch reports.
type Event struct {
	// Kind says what changed.
	Kind EventKind
	// Interface is the interface's name (empty for Overrun).
	Interface string
	// Address is the owned address, for AddressRemoved and AddressAdded.
	Address Address
}

// Watcher reports changes to owned addresses and to links' up and running state.
// Create one with Client.NewWatcher and read events with Next.
type Watcher struct {
	c     *Client
	conn  *netlink.Conn
	up    map[uint32]bool
	names map[uint32]string
	// present holds the owned addresses known to exist, by interface index and prefix.
	present map[addrKey]bool
	queue   []Event
}

type addrKey struct {
	index  uint32
	prefix netip.Prefix
}

// NewWatcher subscribes to the kernel's address and link notifications in the
// Client's namespace. Every change after NewWatcher returns is reported by Next.
func (c *Client) NewWatcher() (*Watcher, error) {
	groups := uint32(1<<(rtnlgrpLink-1) | 1<<(rtnlgrpIPv4Ifaddr-1) | 1<<(rtnlgrpIPv6Ifaddr-1))
	conn, err := dialRoute(c.netns, groups)
	if err != nil {
		return nil, err
	}
	w := &Watcher{c: c, conn: conn, up: map[uint32]bool{}, names: map[uint32]string{}, present: map[addrKey]bool{}}
	// Learn the current state after subscribing, so that nothing is missed, to
	// report transitions only.
	ls, err := c.linksLocked()
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := w.resync(ls); err != nil {
		conn.Close()
		return nil, err
	}
	return w, nil
}

// resync reloads the link states (from ls) and the owned addresses present.
func (w *Watcher) resync(ls []link) error {
	owned, err := w.c.Owned(context.Background())
	if err != nil {
		return err
	}
	clear(w.up)
	clear(w.present)
	idx := map[string]uint32{}
	for _, l := range ls {
		w.up[l.index] = l.up()
		w.names[l.index] = l.name
		idx[l.name] = l.index
	}
	for _, a := range owned {
		w.present[addrKey{idx[a.Interface], a.Prefix}] = true
	}
	return nil
}

// Close ends the subscription.
func (w *Watcher) Close() error { return w.conn.Close() }

// Next blocks until the next change to an owned address or a link going up or down,
// and returns it. It returns ctx.Err() when ctx ends first. Next is not safe for
// concurrent use.
func (w *Watcher) Next(ctx context.Context) (Event, error) {
	for len(w.queue) == 0 {
		if err := ctx.Err(); err != nil {
			return Event{}, err
		}
		if err := w.conn.SetReadDeadline(time.Time{}); err != nil {
			return Event{}, fmt.Errorf("vip: watch: %w", err)
		}
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			w.conn.SetReadDeadline(time.Unix(1, 0))
			close(fired)
		})
		msgs, err := w.conn.Receive()
		if !stop() {
			<-fired // its past deadline must not outlive this call
		}
		if ctx.Err() != nil {
			return Event{}, ctx.Err()
		}
		if errors.Is(err, syscall.ENOBUFS) {
			// Notifications were lost: start over from the kernel's state.
			ls, lerr := w.c.linksLocked()
			if lerr == nil {
				lerr = w.resync(ls)
			}
			if lerr != nil {
				return Event{}, lerr
			}
			w.queue = append(w.queue, Event{Kind: Overrun})
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue // a deadline left by an earlier, cancelled Next
		}
		if err != nil {
			return Event{}, fmt.Errorf("vip: watch: %w", err)
		}
		for _, m := range msgs {
			if ev, ok := w.event(m); ok {
				w.queue = append(w.queue, ev)
			}
		}
	}
	ev := w.queue[0]
	w.queue = w.queue[1:]
	return ev, nil
}

func (c *Client) linksLocked() ([]link, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.links()
}

// event turns one notification into an Event, tracking link and address state.
func (w *Watcher) event(m netlink.Message) (Event, bool) {
	c, up, names := w.c, w.up, w.names
	switch m.Header.Type {
	case rtmNewLink, rtmDelLink:
		var l link
		if l.unmarshal(m.Data) != nil {
			return Event{}, false
		}
		if l.name != "" {
			names[l.index] = l.name
		}
		was := up[l.index]
		now := m.Header.Type == rtmNewLink && l.up()
		up[l.index] = now
		if m.Header.Type == rtmDelLink {
			delete(up, l.index)
		}
		switch {
		case was && !now:
			return Event{Kind: LinkDown, Interface: names[l.index]}, true
		case !was && now:
			return Event{Kind: LinkUp, Interface: names[l.index]}, true
		}
	case rtmNewAddr, rtmDelAddr:
		var a ifaddr
		if a.unmarshal(m.Data) != nil {
			return Event{}, false
		}
		var recorded []Address
		if !c.kernelProto {
			c.mu.Lock()
			recorded, _ = c.readState()
			c.mu.Unlock()
		}
		addr := c.toAddress(a, names[a.index], recorded)
		if !addr.Owned {
			return Event{}, false
		}
		key := addrKey{a.index, addr.Prefix}
		kind := AddressAdded
		if m.Header.Type == rtmDelAddr {
			kind = AddressRemoved
			delete(w.present, key)
		} else {
			if w.present[key] {
				return Event{}, false
			}
			w.present[key] = true
		}
		return Event{Kind: kind, Interface: addr.Interface, Address: addr}, true
	}
	return Event{}, false
}
