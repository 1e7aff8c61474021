package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// muxQueueLen is how many packets an endpoint holds for its Router before the Mux
// drops the next one. A Router reads as fast as it can; the queue only absorbs bursts.
const muxQueueLen = 32

// muxReadLen is the size of the Mux's one read buffer: any IP payload fits, so a
// large packet is never silently truncated into something else.
const muxReadLen = 1 << 16

// Mux shares one Transport (one kernel socket per interface and family) among any
// number of Routers. Each Router gets an endpoint from Attach, a Transport that
// receives only the adverts for its VRIDs (and, for unicast, from its peers). The Mux
// reads the shared Transport on one goroutine, looks at each packet's version and VRID
// only, and hands it to the one endpoint that owns it, through a fixed ring of buffers
// per endpoint: the receive path allocates nothing. Full checks (checksum, TTL,
// authentication) happen once, in the Router that owns the VRID.
//
// An endpoint whose Router falls behind drops its packets (counted in
// MuxCounters.DropQueueFull); it never stalls the Mux or the other endpoints.
// All methods are safe for concurrent use.
type Mux struct {
	t    Transport
	done chan struct{} // closed when the read goroutine has ended
	err  error         // why it ended; written before done is closed

	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error

	// mu guards routes. The read goroutine holds it (shared) while it hands a packet
	// over, which never blocks; Attach and endpoint Close hold it exclusively. No
	// system call is made under it.
	mu     sync.RWMutex
	routes [256]muxRoute

	read, delivered, noEndpoint, badSource, short, badVersion, queueFull atomic.Uint64
}

// muxRoute says who receives the adverts of one VRID.
type muxRoute struct {
	multicast *muxEndpoint
	unicast   []muxPeer
}

type muxPeer struct {
	addr netip.Addr
	ep   *muxEndpoint
}

// MuxCounters are a Mux's packet counts since it was created. Every packet read is
// either delivered or counted in exactly one Drop field.
type MuxCounters struct {
	// Read counts packets read from the shared Transport.
	Read uint64
	// Delivered counts packets queued for an endpoint.
	Delivered uint64
	// DropNoEndpoint counts packets for a VRID no endpoint is attached for.
	DropNoEndpoint uint64
	// DropSource counts packets for a VRID that only unicast endpoints hold, from a
	// source none of them lists as a peer.
	DropSource uint64
	// DropShort counts packets shorter than the VRRP header.
	DropShort uint64
	// DropVersion counts packets whose version is neither 2 nor 3.
	DropVersion uint64
	// DropQueueFull counts packets dropped because their endpoint's queue was full
	// (its Router did not keep up).
	DropQueueFull uint64
}

// NewMux returns a Mux that reads t on its own goroutine from now on. The Mux owns t:
// Mux.Close closes it, and nothing else should read from it. t's WriteTo must be safe
// for concurrent use, as IPTransport's is, since every endpoint writes through it.
func NewMux(t Transport) *Mux {
	m := &Mux{t: t, done: make(chan struct{})}
	go m.readLoop()
	return m
}

// errMuxClosed is what endpoints return once the Mux is closed.
var errMuxClosed = fmt.Errorf("vrrp: mux closed: %w", net.ErrClosed)

// errEndpointClosed is what an endpoint returns once it is closed.
var errEndpointClosed = fmt.Errorf("vrrp: mux endpoint closed: %w", net.ErrClosed)

// Attach returns an endpoint for one Router (give it the VRIDs of that Router's
// instances, and their Config.Peers): a Transport whose ReadFrom yields the
// packets whose VRID is in vrids and, when peers is not empty (unicast), whose source
// is one of peers. An endpoint with no peers (multicast) receives the packets for its
// VRIDs from any source that no unicast endpoint of the same VRID lists. WriteTo sends
// through the shared Transport. Closing the endpoint detaches it, so its VRIDs can be
// attached again, and leaves the shared Transport open.
//
// Attach fails with an error wrapping ErrInvalidConfig when vrids is empty, lists VRID
// 0, or when another endpoint already holds one of vrids for multicast (peers empty)
// or for one of peers; and with net.ErrClosed after the Mux has stopped.
func (m *Mux) Attach(vrids []uint8, peers []netip.Addr) (Transport, error) {
	if len(vrids) == 0 {
		return nil, fmt.Errorf("%w: mux endpoint needs at least one VRID", ErrInvalidConfig)
	}
	for _, p := range peers {
		if !p.IsValid() {
			return nil, fmt.Errorf("%w: mux endpoint peer is not an address", ErrInvalidConfig)
		}
	}
	ep := &muxEndpoint{
		m:      m,
		vrids:  append([]uint8(nil), vrids...),
		peers:  make([]netip.Addr, len(peers)),
		queue:  make(chan *muxSlot, muxQueueLen),
		free:   make(chan *muxSlot, muxQueueLen),
		closed: make(chan struct{}),
	}
	for i, p := range peers {
		ep.peers[i] = p.Unmap().WithZone("") // received sources carry no zone
	}
	for range muxQueueLen {
		ep.free <- &muxSlot{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.done:
		return nil, m.err
	default:
	}
	var seen [256]bool
	for _, v := range ep.vrids {
		if v == 0 {
			return nil, fmt.Errorf("%w: VRID 0 is not valid", ErrInvalidConfig)
		}
		if seen[v] {
			return nil, fmt.Errorf("%w: VRID %d listed twice for one mux endpoint", ErrInvalidConfig, v)
		}
		seen[v] = true
		rt := &m.routes[v]
		if len(ep.peers) == 0 {
			if rt.multicast != nil {
				return nil, fmt.Errorf("%w: VRID %d is already attached for multicast on this mux", ErrInvalidConfig, v)
			}
			continue
		}
		for _, p := range ep.peers {
			for _, u := range rt.unicast {
				if u.addr == p {
					return nil, fmt.Errorf("%w: VRID %d is already attached for peer %v on this mux", ErrInvalidConfig, v, p)
				}
			}
		}
	}
	for _, v := range ep.vrids {
		rt := &m.routes[v]
		if len(ep.peers) == 0 {
			rt.multicast = ep
			continue
		}
		for _, p := range ep.peers {
			rt.unicast = append(rt.unicast, muxPeer{addr: p, ep: ep})
		}
	}
	return ep, nil
}

// Close closes the shared Transport and waits for the read goroutine to end; from
// then on every endpoint's ReadFrom and WriteTo return an error wrapping
// net.ErrClosed. Close returns the shared Transport's Close error and is idempotent.
func (m *Mux) Close() error {
	m.closeOnce.Do(func() {
		m.closing.Store(true)
		m.closeErr = m.t.Close()
		<-m.done
	})
	return m.closeErr
}

// Done returns a channel that is closed when the Mux stops reading: after Close, or
// after the shared Transport's ReadFrom failed. Err then says why.
func (m *Mux) Done() <-chan struct{} { return m.done }

// Err returns nil while the Mux reads, and after it stopped the error that its
// endpoints return: one wrapping net.ErrClosed after Close, or the shared Transport's
// read error.
func (m *Mux) Err() error {
	select {
	case <-m.done:
		return m.err
	default:
		return nil
	}
}

// Counters returns the packet counts.
func (m *Mux) Counters() MuxCounters {
	return MuxCounters{
		Read:           m.read.Load(),
		Delivered:      m.delivered.Load(),
		DropNoEndpoint: m.noEndpoint.Load(),
		DropSource:     m.badSource.Load(),
		DropShort:      m.short.Load(),
		DropVersion:    m.badVersion.Load(),
		DropQueueFull:  m.queueFull.Load(),
	}
}

func (m *Mux) readLoop() {
	buf := make([]byte, muxReadLen)
	for {
		n, info, err := m.t.ReadFrom(buf)
		if err != nil {
			if m.closing.Load() {
				m.err = errMuxClosed
			} else {
				m.err = fmt.Errorf("vrrp: mux read: %w", err)
			}
			close(m.done)
			return
		}
		m.read.Add(1)
		m.deliver(buf[:n], info)
	}
}

// deliver hands one packet to the endpoint that owns it, or counts why none does.
func (m *Mux) deliver(b []byte, info PacketInfo) {
	if len(b) < HeaderLen {
		m.short.Add(1)
		return
	}
	if v := b[0] >> 4; v != 2 && v != 3 {
		m.badVersion.Add(1)
		return
	}
	src := info.Src.Unmap()
	m.mu.RLock()
	ep := m.route(b[1], src)
	m.mu.RUnlock()
	if ep == nil {
		return
	}
	if h := ep.handler.Load(); h != nil {
		// The Router takes the packet in this goroutine: no copy, no wake-up.
		(*h)(b, info)
		m.delivered.Add(1)
		return
	}
	// The endpoint owns exactly muxQueueLen slots, so when one is free the queue has
	// room and the send below cannot block.
	select {
	case s := <-ep.free:
		s.data = append(s.data[:0], b...)
		s.info = info
		ep.queue <- s
		m.delivered.Add(1)
	default:
		m.queueFull.Add(1)
	}
}

// route returns the endpoint that owns a packet of VRID vrid from src, or nil after
// counting why none does. m.mu is held for reading.
func (m *Mux) route(vrid uint8, src netip.Addr) *muxEndpoint {
	rt := &m.routes[vrid]
	ep := rt.multicast
	for _, u := range rt.unicast {
		if u.addr == src {
			ep = u.ep
			break
		}
	}
	if ep == nil {
		if len(rt.unicast) > 0 {
			m.badSource.Add(1)
		} else {
			m.noEndpoint.Add(1)
		}
	}
	return ep
}

// muxSlot is one buffer of an endpoint's ring. Its data keeps its capacity from
// packet to packet, so once it has held the largest packet it never grows again.
type muxSlot struct {
	data []byte
	info PacketInfo
}

// muxEndpoint is the Transport Attach returns.
type muxEndpoint struct {
	m     *Mux
	vrids []uint8
	peers []netip.Addr
	queue chan *muxSlot // filled by the Mux, drained by ReadFrom
	free  chan *muxSlot // slots ReadFrom has copied out

	// handler, when set, takes packets in the Mux's goroutine instead of the queue.
	handler atomic.Pointer[func([]byte, PacketInfo)]

	closeOnce sync.Once
	closed    chan struct{}
}

// SetPacketHandler implements PacketHandler: from now on the Mux's reading goroutine
// calls h for every packet of this endpoint, with a buffer valid only during the call,
// and ReadFrom only reports the end of the endpoint or the Mux. A Router uses it, so
// that a packet costs neither a copy nor a goroutine wake-up; h must not block.
func (ep *muxEndpoint) SetPacketHandler(h func(b []byte, info PacketInfo)) bool {
	ep.handler.Store(&h)
	return true
}

// ReadFrom implements Transport. It returns an error wrapping net.ErrClosed once the
// endpoint or the Mux is closed, or the shared Transport's read error.
func (ep *muxEndpoint) ReadFrom(b []byte) (int, PacketInfo, error) {
	select {
	case <-ep.closed:
		return 0, PacketInfo{}, errEndpointClosed
	case <-ep.m.done:
		return 0, PacketInfo{}, ep.m.err
	default:
	}
	select {
	case s := <-ep.queue:
		n := copy(b, s.data)
		info := s.info
		ep.free <- s
		return n, info, nil
	case <-ep.closed:
		return 0, PacketInfo{}, errEndpointClosed
	case <-ep.m.done:
		return 0, PacketInfo{}, ep.m.err
	}
}

// WriteTo implements Transport through the shared Transport.
func (ep *muxEndpoint) WriteTo(b []byte, src, dst netip.Addr) error {
	select {
	case <-ep.closed:
		return errEndpointClosed
	case <-ep.m.done:
		return ep.m.err
	default:
	}
	return ep.m.t.WriteTo(b, src, dst)
}

// Close implements Transport: it detaches the endpoint and unblocks its ReadFrom. The
// shared Transport stays open.
func (ep *muxEndpoint) Close() error {
	ep.closeOnce.Do(func() {
		m := ep.m
		m.mu.Lock()
		for _, v := range ep.vrids {
			rt := &m.routes[v]
			if rt.multicast == ep {
				rt.multicast = nil
			}
			kept := rt.unicast[:0]
			for _, u := range rt.unicast {
				if u.ep != ep {
					kept = append(kept, u)
				}
			}
			clear(rt.unicast[len(kept):])
			rt.unicast = kept
		}
		m.mu.Unlock()
		close(ep.closed)
	})
	return nil
}
