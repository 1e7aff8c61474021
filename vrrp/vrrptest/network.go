package vrrptest

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/lvskit/lvskit/vrrp"
)

// Network is an in-memory segment for vrrp.Routers: each Transport it hands out
// delivers multicast adverts to every other attached endpoint and unicast adverts to
// the endpoint with that address. Unlike Segment it is goroutine-safe and runs in real
// (or synctest) time, so it exercises the Router itself. Run Routers on it inside
// testing/synctest, or with a Clock attached by SetClock, to make their timing exact.
type Network struct {
	mu    sync.Mutex
	eps   []*Endpoint
	clock *Clock
}

// SetClock makes every packet in flight on n hold c (see Clock.Hold) from the moment
// it is queued for an Endpoint until the Endpoint's reader has processed it, which is
// when it calls ReadFrom again (a vrrp.Router does so only after it has acted on the
// previous packet), or until the Endpoint is closed. c.Advance then never fires a
// timer while an advert sent by an earlier one is still on its way, and Routers on n
// driven by c behave the same in every run.
//
// With a Clock set, every open Endpoint that receives packets must be read (by a
// Router's Run) or closed; packets queued for an Endpoint nobody reads keep the Clock
// held, and Advance panics after 30 s of real time saying so. Call SetClock before
// any packet is sent.
func (n *Network) SetClock(c *Clock) {
	n.mu.Lock()
	n.clock = c
	n.mu.Unlock()
}

// NewNetwork returns an empty network.
func NewNetwork() *Network { return &Network{} }

// Packet is a packet an Endpoint sent, as its log records it.
type Packet struct {
	// Data is the VRRP message.
	Data []byte
	// Src and Dst are the IP source and destination.
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or IPv6 hop limit.
	TTL uint8
}

// Endpoint is one host's attachment to a Network. It implements vrrp.Transport.
type Endpoint struct {
	net    *Network
	addr   netip.Addr
	in     chan Packet
	done   chan struct{}
	mu     sync.Mutex
	up     bool
	closed bool
	sent   []Packet
	// With a Clock: releases of the holds for packets queued or handed to the reader
	// and not yet processed, oldest first; reading says the last ReadFrom returned
	// a packet (whose hold is released by the next ReadFrom).
	holds   []func()
	reading bool
}

var _ vrrp.Transport = (*Endpoint)(nil)

// Attach adds an endpoint with the given address (the address unicast adverts are
// delivered to).
func (n *Network) Attach(addr netip.Addr) *Endpoint {
	ep := &Endpoint{net: n, addr: addr, in: make(chan Packet, 1024), done: make(chan struct{}), up: true}
	n.mu.Lock()
	n.eps = append(n.eps, ep)
	n.mu.Unlock()
	return ep
}

// SetUp takes the endpoint's link up or down; a down link neither sends nor receives
// (what a pulled cable or a killed host looks like to its peers).
func (ep *Endpoint) SetUp(up bool) {
	ep.mu.Lock()
	ep.up = up
	ep.mu.Unlock()
}

// Sent returns copies of the packets the endpoint sent (while up), oldest first.
func (ep *Endpoint) Sent() []Packet {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]Packet(nil), ep.sent...)
}

// Inject queues a packet for the endpoint to read as if it came from the network,
// such as a crafted advert with a wrong TTL.
// A packet for a closed Endpoint, or beyond the 1024 queued, is dropped.
func (ep *Endpoint) Inject(p Packet) {
	p.Data = bytes.Clone(p.Data)
	ep.net.mu.Lock()
	c := ep.net.clock
	ep.net.mu.Unlock()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.closed {
		return
	}
	select {
	case ep.in <- p:
		if c != nil {
			ep.holds = append(ep.holds, c.Hold())
		}
	default:
	}
}

// ReadFrom implements vrrp.Transport. Calling it again tells an attached Clock that
// the packet the previous call returned has been processed.
func (ep *Endpoint) ReadFrom(b []byte) (int, vrrp.PacketInfo, error) {
	ep.processed()
	select {
	case p := <-ep.in:
		ep.mu.Lock()
		ep.reading = !ep.closed
		ep.mu.Unlock()
		return copy(b, p.Data), vrrp.PacketInfo{Src: p.Src, Dst: p.Dst, TTL: p.TTL}, nil
	case <-ep.done:
		return 0, vrrp.PacketInfo{}, fmt.Errorf("vrrptest: read: %w", net.ErrClosed)
	}
}

// processed releases the hold of the packet the last ReadFrom returned.
func (ep *Endpoint) processed() {
	ep.mu.Lock()
	var rel func()
	if ep.reading && len(ep.holds) > 0 {
		rel = ep.holds[0]
		ep.holds = ep.holds[1:]
	}
	ep.reading = false
	ep.mu.Unlock()
	if rel != nil {
		rel()
	}
}

// WriteTo implements vrrp.Transport: it delivers b with TTL 255.
func (ep *Endpoint) WriteTo(b []byte, src, dst netip.Addr) error {
	ep.mu.Lock()
	if ep.closed {
		ep.mu.Unlock()
		return fmt.Errorf("vrrptest: write: %w", net.ErrClosed)
	}
	up := ep.up
	p := Packet{Data: bytes.Clone(b), Src: src, Dst: dst, TTL: 255}
	if up {
		ep.sent = append(ep.sent, p)
	}
	ep.mu.Unlock()
	if !up {
		return nil
	}
	ep.net.mu.Lock()
	var to []*Endpoint
	for _, o := range ep.net.eps {
		if o == ep || (!dst.IsMulticast() && o.addr != dst) {
			continue
		}
		to = append(to, o)
	}
	ep.net.mu.Unlock()
	for _, o := range to {
		o.mu.Lock()
		ok := o.up && !o.closed
		o.mu.Unlock()
		if ok {
			o.Inject(p)
		}
	}
	return nil
}

// Close implements vrrp.Transport.
func (ep *Endpoint) Close() error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if !ep.closed {
		ep.closed = true
		close(ep.done)
	}
	holds := ep.holds
	ep.holds, ep.reading = nil, false
	for _, rel := range holds {
		rel()
	}
	return nil
}
