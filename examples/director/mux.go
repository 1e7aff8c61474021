package main

import (
	"errors"
	"net"
	"net/netip"
	"sync"

	"github.com/lvskit/lvskit/vrrp"
)

// muxTransport joins several transports (one per interface, family and set of peers)
// into one, so that the instances of a sync group, which may sit on different
// interfaces, run in one vrrp.Router that moves them together. Sends go out on the
// transport of the sending instance's primary address.
type muxTransport struct {
	bySrc map[netip.Addr]vrrp.Transport
	all   []vrrp.Transport
	in    chan muxPacket
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

type muxPacket struct {
	b    []byte
	info vrrp.PacketInfo
	err  error
}

func newMux(all []vrrp.Transport, bySrc map[netip.Addr]vrrp.Transport) *muxTransport {
	m := &muxTransport{bySrc: bySrc, all: all, in: make(chan muxPacket, 64), done: make(chan struct{})}
	for _, t := range all {
		m.wg.Add(1)
		go m.read(t)
	}
	return m
}

func (m *muxTransport) read(t vrrp.Transport) {
	defer m.wg.Done()
	for {
		b := make([]byte, 1500)
		n, info, err := t.ReadFrom(b)
		select {
		case m.in <- muxPacket{b: b[:n], info: info, err: err}:
		case <-m.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// ReadFrom implements vrrp.Transport.
func (m *muxTransport) ReadFrom(b []byte) (int, vrrp.PacketInfo, error) {
	select {
	case p := <-m.in:
		if p.err != nil {
			return 0, p.info, p.err
		}
		return copy(b, p.b), p.info, nil
	case <-m.done:
		return 0, vrrp.PacketInfo{}, net.ErrClosed
	}
}

// WriteTo implements vrrp.Transport.
func (m *muxTransport) WriteTo(b []byte, src, dst netip.Addr) error {
	t, ok := m.bySrc[src]
	if !ok {
		return errors.New("director: no transport for source " + src.String())
	}
	return t.WriteTo(b, src, dst)
}

// Close implements vrrp.Transport.
func (m *muxTransport) Close() error {
	var errs []error
	m.once.Do(func() {
		close(m.done)
		for _, t := range m.all {
			errs = append(errs, t.Close())
		}
		m.wg.Wait()
	})
	return errors.Join(errs...)
}
