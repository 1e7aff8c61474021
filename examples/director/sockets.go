package main

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/lvskit/lvskit/vrrp"
)

// sockKey names one shared VRRP socket: an interface and an address family.
type sockKey struct {
	iface string
	v6    bool
}

// sockets hands out endpoints of ONE VRRP socket per (interface, family), shared by
// every Router on it through a vrrp.Mux, whatever the number of instances, sync
// groups and unicast peer sets. The socket is opened without peers, so it joins the
// VRRP multicast group even when its first user is unicast: a raw socket that joined
// the group receives unicast VRRP as well, and the Mux sorts packets by VRID and,
// for unicast endpoints, by source. A socket is closed when the last endpoint on it
// is closed.
type sockets struct {
	// open opens the shared socket of an interface and family (deps.transport).
	open func(iface string, v6 bool) (vrrp.Transport, error)

	// mu guards socks. It is a leaf lock: no socket is opened or closed under it.
	mu    sync.Mutex
	socks map[sockKey]*sharedSock
}

// sharedSock is one open socket and the number of endpoints attached to it.
type sharedSock struct {
	mux  *vrrp.Mux
	rb   *rebindable
	refs int
}

func newSockets(open func(iface string, v6 bool) (vrrp.Transport, error)) *sockets {
	return &sockets{open: open, socks: map[sockKey]*sharedSock{}}
}

// attach returns an endpoint on the shared socket of (iface, v6) that receives the
// adverts of vrids (from peers only, when peers is not empty). Closing the
// endpoint releases the socket.
func (s *sockets) attach(iface string, v6 bool, vrids []uint8, peers []netip.Addr) (vrrp.Transport, error) {
	k := sockKey{iface, v6}
	s.mu.Lock()
	ss := s.socks[k]
	if ss != nil {
		ss.refs++
	}
	s.mu.Unlock()
	if ss == nil {
		// Open outside the lock; apply (serialised by the daemon's opMu) is the only
		// caller, so no one else opens the same socket meanwhile, but check anyway.
		t, err := s.open(iface, v6)
		if err != nil {
			return nil, fmt.Errorf("director: VRRP socket on %s: %w", iface, err)
		}
		rb := &rebindable{}
		rb.cur.Store(&t)
		m := vrrp.NewMux(rb)
		s.mu.Lock()
		if o := s.socks[k]; o != nil {
			o.refs++
			ss = o
		} else {
			ss = &sharedSock{mux: m, rb: rb, refs: 1}
			s.socks[k] = ss
			m = nil
		}
		s.mu.Unlock()
		if m != nil {
			m.Close()
		}
	}
	ep, err := ss.mux.Attach(vrids, peers)
	if err != nil {
		s.release(k, ss)
		return nil, fmt.Errorf("director: VRRP on %s: %w", iface, err)
	}
	return &sockEndpoint{Transport: ep, s: s, k: k, ss: ss}, nil
}

// release drops one reference to ss and closes it when it was the last.
func (s *sockets) release(k sockKey, ss *sharedSock) {
	s.mu.Lock()
	ss.refs--
	last := ss.refs == 0
	if last && s.socks[k] == ss {
		delete(s.socks, k)
	}
	s.mu.Unlock()
	if last {
		ss.mux.Close()
	}
}

// reopen replaces the sockets on iface by new ones (the interface was deleted and
// created again, and a socket bound to the old one hears and sends nothing); the
// Muxes and their endpoints carry on over the new sockets. A socket that fails to
// open keeps the old one, and the error says so.
func (s *sockets) reopen(iface string) error {
	type one struct {
		k  sockKey
		rb *rebindable
	}
	var todo []one
	s.mu.Lock()
	for k, ss := range s.socks {
		if k.iface == iface {
			todo = append(todo, one{k, ss.rb})
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, o := range todo {
		t, err := s.open(o.k.iface, o.k.v6)
		if err != nil {
			errs = append(errs, fmt.Errorf("director: reopening the VRRP socket on %s: %w", iface, err))
			continue
		}
		o.rb.swap(t)
	}
	return errors.Join(errs...)
}

// count reports how many shared sockets are open (for tests and the status).
func (s *sockets) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.socks)
}

// sockEndpoint is a Mux endpoint that releases its shared socket when closed.
type sockEndpoint struct {
	vrrp.Transport
	s    *sockets
	k    sockKey
	ss   *sharedSock
	once sync.Once
}

// SetPacketHandler implements vrrp.PacketHandler when the endpoint does, so that the
// Router takes its packets in the Mux's goroutine (no copy, no wake-up per packet).
func (e *sockEndpoint) SetPacketHandler(h func(b []byte, info vrrp.PacketInfo)) bool {
	ph, ok := e.Transport.(vrrp.PacketHandler)
	return ok && ph.SetPacketHandler(h)
}

// Close implements vrrp.Transport.
func (e *sockEndpoint) Close() error {
	var err error
	e.once.Do(func() {
		err = e.Transport.Close()
		e.s.release(e.k, e.ss)
	})
	return err
}

// rebindable is a Transport whose socket can be replaced while the Mux reads it: a
// read that fails because the socket it was on was swapped out goes on with the
// new one.
type rebindable struct {
	cur    atomic.Pointer[vrrp.Transport]
	closed atomic.Bool
}

func (r *rebindable) get() vrrp.Transport { return *r.cur.Load() }

// swap installs t and closes the socket it replaces (which ends a read blocked on
// it). After Close, t is closed instead.
func (r *rebindable) swap(t vrrp.Transport) {
	if r.closed.Load() {
		t.Close()
		return
	}
	old := r.cur.Swap(&t)
	(*old).Close()
	if r.closed.Load() {
		t.Close() // Close raced with the swap and may have closed only the old one
	}
}

// ReadFrom implements vrrp.Transport.
func (r *rebindable) ReadFrom(b []byte) (int, vrrp.PacketInfo, error) {
	for range 8 { // a swap is rare: a few in a row at most
		p := r.cur.Load()
		n, info, err := (*p).ReadFrom(b)
		if err == nil || r.closed.Load() || r.cur.Load() == p {
			return n, info, err
		}
	}
	return r.get().ReadFrom(b)
}

// WriteTo implements vrrp.Transport.
func (r *rebindable) WriteTo(b []byte, src, dst netip.Addr) error {
	return r.get().WriteTo(b, src, dst)
}

// Close implements vrrp.Transport.
func (r *rebindable) Close() error {
	r.closed.Store(true)
	return r.get().Close()
}

// routerTransport builds the transport of one Router from endpoints on the shared
// sockets: one endpoint per (interface, family, peer set) among its instances, joined
// by muxTransport when a sync group spans several.
func routerTransport(s *sockets, insts []routerInst) (vrrp.Transport, error) {
	byKey := map[transportKey]*struct {
		vrids []uint8
		peers []netip.Addr
		srcs  []netip.Addr
	}{}
	var order []transportKey
	for _, in := range insts {
		e := byKey[in.key]
		if e == nil {
			e = &struct {
				vrids []uint8
				peers []netip.Addr
				srcs  []netip.Addr
			}{peers: in.peers}
			byKey[in.key] = e
			order = append(order, in.key)
		}
		e.vrids = append(e.vrids, in.vrid)
		e.srcs = append(e.srcs, in.primary)
	}
	var all []vrrp.Transport
	bySrc := map[netip.Addr]vrrp.Transport{}
	for _, k := range order {
		e := byKey[k]
		t, err := s.attach(k.iface, k.v6, e.vrids, e.peers)
		if err != nil {
			for _, t := range all {
				t.Close()
			}
			return nil, err
		}
		all = append(all, t)
		for _, src := range e.srcs {
			if _, ok := bySrc[src]; !ok {
				bySrc[src] = t
			}
		}
	}
	if len(all) == 1 {
		return all[0], nil
	}
	if len(all) == 0 {
		return nil, errors.New("director: a VRRP router with no instances")
	}
	return newMux(all, bySrc), nil
}

// routerInst is what routerTransport needs to know of one instance.
type routerInst struct {
	key     transportKey
	vrid    uint8
	peers   []netip.Addr
	primary netip.Addr
}
