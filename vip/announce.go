package vip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// MetalLBInterval is a spacing between announcements that clears Linux's default ARP
// locktime of 1 s (neigh/*/locktime), within which a neighbour ignores a second
// update of the same entry. MetalLB uses 1.1 s for that reason.
const MetalLBInterval = 1100 * time.Millisecond

// Policy says when to announce addresses. A round sends, for each IPv4 address, a
// gratuitous ARP request and a gratuitous ARP reply (some devices honour only one
// kind) and, for each IPv6 address, an unsolicited neighbour advertisement.
//
// The zero Policy sends one round.
type Policy struct {
	// Count is the number of rounds in the first burst. Zero means 1.
	Count int
	// Interval is the time between the rounds of a burst. Zero sends them back to
	// back.
	Interval time.Duration
	// RepeatDelay is the time after the first burst before a second one of
	// RepeatCount rounds. Zero means no second burst.
	RepeatDelay time.Duration
	// RepeatCount is the number of rounds in the second burst. Zero means Count.
	RepeatCount int
	// Refresh, when positive, sends one more round every Refresh after the bursts,
	// until the context ends, for switches whose forwarding tables age out.
	Refresh time.Duration
}

// KeepalivedPolicy returns keepalived's defaults: 5 rounds at the transition to
// master (vrrp_garp_master_repeat 5) and 5 more after 5 s (vrrp_garp_master_delay 5),
// no spacing (vrrp_garp_interval 0) and no periodic refresh
// (vrrp_garp_master_refresh 0).
func KeepalivedPolicy() Policy {
	return Policy{Count: 5, RepeatDelay: 5 * time.Second, RepeatCount: 5}
}

// run drives round through p: bursts, repeat and refresh. It returns nil when p is
// done, ctx.Err() when ctx ends first (always, with a Refresh), or round's first
// error.
func (p Policy) run(ctx context.Context, round func() error) error {
	burst := func(n int) error {
		if n <= 0 {
			n = 1
		}
		for i := range n {
			if i > 0 && p.Interval > 0 {
				if err := sleep(ctx, p.Interval); err != nil {
					return err
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := round(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := burst(p.Count); err != nil {
		return err
	}
	if p.RepeatDelay > 0 {
		if err := sleep(ctx, p.RepeatDelay); err != nil {
			return err
		}
		n := p.RepeatCount
		if n == 0 {
			n = p.Count
		}
		if err := burst(n); err != nil {
			return err
		}
	}
	if p.Refresh <= 0 {
		return nil
	}
	t := time.NewTicker(p.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := round(); err != nil {
				return err
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// frameWriter sends one Ethernet frame; *packet.Conn is one.
type frameWriter interface {
	WriteTo(b []byte, addr net.Addr) (int, error)
	Close() error
}

// AnnouncerConfig configures Client.NewAnnouncer.
type AnnouncerConfig struct {
	// Interface is the name of the interface to announce on. Required.
	Interface string
	// Router sets the router flag in neighbour advertisements, as keepalived does when
	// the host forwards. False leaves it clear.
	Router bool
}

// Announcer sends gratuitous ARP and unsolicited neighbour advertisements on one
// interface. It is safe for concurrent use.
type Announcer struct {
	w      frameWriter
	mac    net.HardwareAddr
	src6   netip.Addr // link-local source for NAs; invalid means "use the target"
	router bool
	iface  string
}

// NewAnnouncer opens a packet socket on cfg.Interface in the Client's namespace. It
// needs CAP_NET_RAW. The interface must have an Ethernet address; it need not have an
// IPv4 address.
func (c *Client) NewAnnouncer(cfg *AnnouncerConfig) (*Announcer, error) {
	if cfg == nil || cfg.Interface == "" {
		return nil, errors.New("vip: NewAnnouncer needs an interface")
	}
	c.mu.Lock()
	l, err := c.linkByName(cfg.Interface)
	var addrs []Address
	if err == nil {
		addrs, err = c.list(cfg.Interface)
	}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if len(l.mac) != 6 {
		return nil, fmt.Errorf("vip: %s has no Ethernet address", cfg.Interface)
	}
	a := &Announcer{mac: l.mac, router: cfg.Router, iface: cfg.Interface}
	for _, ad := range addrs {
		if ip := ad.Prefix.Addr(); ip.Is6() && ip.IsLinkLocalUnicast() {
			a.src6 = ip
			break
		}
	}
	a.w, err = listenPacket(c.netns, &net.Interface{Index: int(l.index), Name: l.name, HardwareAddr: l.mac})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Close closes the packet socket.
func (a *Announcer) Close() error { return a.w.Close() }

// Send sends one round for addrs: a gratuitous ARP request and reply per IPv4 address
// and an unsolicited neighbour advertisement per IPv6 address.
func (a *Announcer) Send(addrs ...netip.Addr) error {
	for _, ip := range addrs {
		ip = ip.Unmap()
		var frames [][]byte
		switch {
		case ip.Is4():
			req, rep := garp(a.mac, ip, false), garp(a.mac, ip, true)
			frames = [][]byte{req.marshal(), rep.marshal()}
		case ip.Is6():
			src := a.src6
			if !src.IsValid() {
				src = ip
			}
			na := unsolicitedNA(a.mac, src, ip.WithZone(""), a.router)
			frames = [][]byte{na.marshal()}
		default:
			return fmt.Errorf("vip: announce: invalid address %v", ip)
		}
		for _, f := range frames {
			if _, err := a.w.WriteTo(f, newPacketAddr(net.HardwareAddr(f[0:6]))); err != nil {
				return fmt.Errorf("vip: announce %s on %s: %w", ip, a.iface, err)
			}
		}
	}
	return nil
}

// Announce runs p for addrs: it blocks until the policy is done (nil) or ctx ends
// (ctx.Err(); with a Refresh it always runs until then).
func (a *Announcer) Announce(ctx context.Context, p Policy, addrs ...netip.Addr) error {
	return p.run(ctx, func() error { return a.Send(addrs...) })
}
