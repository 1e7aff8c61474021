package vip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/internal/ctxdeadline"
	"github.com/mdlayher/netlink"
)

// DefaultProto is the IFA_PROTO value that marks the addresses lvskit adds. The
// kernel itself uses 1 to 3 (loopback, router advertisement, link-local).
const DefaultProto uint8 = 0x6c // 'l'

// Config configures a Client. A nil *Config means every default.
type Config struct {
	// NetNS is the path of a network namespace file (/run/netns/NAME or
	// /proc/PID/ns/net). The Client's rtnetlink sockets, watchers and announcers all
	// work inside it. Empty means the namespace of the calling thread.
	NetNS string

	// Proto is the IFA_PROTO value that marks addresses as lvskit's own. Zero means
	// DefaultProto. Daemons that must not clean up after each other use different
	// values.
	Proto uint8

	// StateFile is a file where the Client also records the addresses it adds (one
	// per line), for kernels older than 5.18 that drop IFA_PROTO. On such kernels it
	// is the only record of ownership, and without it Owned and Cleanup find nothing.
	// Empty means no file. Keep it on storage that survives the daemon (not a tmpfs
	// that a restart clears, unless a reboot also clears the addresses).
	StateFile string
}

// Client adds, removes and lists addresses through rtnetlink. Its methods are safe for
// concurrent use; they take turns on one socket.
//
// Every call takes a context: its deadline becomes the socket's deadline for the
// call, and cancelling it sets the deadline to the past, so a call that the kernel
// never answers returns an error wrapping ctx.Err() (and os.ErrDeadlineExceeded)
// instead of hanging. A socket that has no deadlines (a fake from nltest) ignores
// the context once the call has started.
type Client struct {
	mu   sync.Mutex // held for a whole call, deadline included
	conn *netlink.Conn
	// deadlines reports whether conn supports deadlines.
	deadlines bool
	netns     string
	proto     uint8
	state     string
	// kernelProto reports whether the kernel keeps IFA_PROTO (Linux 5.18+).
	kernelProto bool
}

// Dial opens an rtnetlink socket in cfg's namespace.
func Dial(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	conn, err := dialRoute(cfg.NetNS, 0)
	if err != nil {
		return nil, err
	}
	c := NewClient(conn, cfg)
	c.kernelProto = kernelHasIFAProto()
	return c, nil
}

// dialRoute opens an rtnetlink socket in the namespace at path (empty: the caller's),
// subscribed to groups.
func dialRoute(path string, groups uint32) (*netlink.Conn, error) {
	nc := &netlink.Config{Groups: groups}
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("vip: open netns: %w", err)
		}
		defer f.Close()
		nc.NetNS = int(f.Fd())
	}
	conn, err := netlink.Dial(netlinkRoute, nc)
	if err != nil {
		return nil, fmt.Errorf("vip: dial rtnetlink: %w", err)
	}
	// Kernel error messages make errors clearer; older kernels lack them.
	_ = conn.SetOption(netlink.ExtendedAcknowledge, true)
	return conn, nil
}

// NewClient returns a Client that uses conn, which may be a fake from nltest. It
// assumes the kernel keeps IFA_PROTO; Dial checks the running kernel instead.
func NewClient(conn *netlink.Conn, cfg *Config) *Client {
	if cfg == nil {
		cfg = &Config{}
	}
	c := &Client{conn: conn, netns: cfg.NetNS, proto: cfg.Proto, state: cfg.StateFile, kernelProto: true}
	if c.proto == 0 {
		c.proto = DefaultProto
	}
	c.deadlines = conn.SetDeadline(time.Time{}) == nil
	return c
}

// begin arms the socket's deadline for one call under ctx and returns the function
// that disarms it. c.mu is held.
func (c *Client) begin(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vip: %w", err)
	}
	if !c.deadlines {
		return func() {}, nil
	}
	disarm, err := ctxdeadline.Arm(ctx, c.conn)
	if err != nil {
		return nil, fmt.Errorf("vip: set deadline: %w", err)
	}
	return disarm, nil
}

// ctxErr makes an error that ctx caused (the deadline it set passed) also wrap
// ctx.Err(), so that callers can test for context.DeadlineExceeded.
func ctxErr(ctx context.Context, err error) error { return ctxdeadline.Err(ctx, err) }

// Close closes the rtnetlink socket.
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) links() ([]link, error) {
	msgs, err := c.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: rtmGetLink, Flags: netlink.Request | netlink.Dump},
		Data:   make([]byte, 16),
	})
	if err != nil {
		return nil, fmt.Errorf("vip: list links: %w", err)
	}
	var out []link
	for _, m := range msgs {
		if m.Header.Type != rtmNewLink {
			continue
		}
		var l link
		if err := l.unmarshal(m.Data); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func (c *Client) linkByName(name string) (link, error) {
	ls, err := c.links()
	if err != nil {
		return link{}, err
	}
	for _, l := range ls {
		if l.name == name {
			return l, nil
		}
	}
	return link{}, fmt.Errorf("vip: %w %q", ErrUnknownInterface, name)
}

func (c *Client) addrs(family uint8) ([]ifaddr, error) {
	msgs, err := c.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: rtmGetAddr, Flags: netlink.Request | netlink.Dump},
		Data:   ifaddrRequest(family),
	})
	if err != nil {
		return nil, fmt.Errorf("vip: list addresses: %w", err)
	}
	var out []ifaddr
	for _, m := range msgs {
		if m.Header.Type != rtmNewAddr {
			continue
		}
		var a ifaddr
		if err := a.unmarshal(m.Data); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// toAddress converts a kernel address on link l, given the recorded state.
func (c *Client) toAddress(m ifaddr, name string, recorded []Address) Address {
	a := Address{
		Interface:     name,
		Prefix:        netip.PrefixFrom(m.addr, int(m.prefixLen)),
		Scope:         Scope(m.scope),
		NoPrefixRoute: m.flags&ifaFNoPrefixRoute != 0,
	}
	// The kernel reports an unlabelled IPv4 address with the interface's name.
	if m.family == afInet && m.label != name {
		a.Label = m.label
	}
	a.Owned = c.owned(m, a, recorded)
	return a
}

// owned decides ownership: the kernel's IFA_PROTO mark where the kernel keeps it,
// otherwise the state file.
func (c *Client) owned(m ifaddr, a Address, recorded []Address) bool {
	if c.kernelProto {
		return m.hasProto && m.proto == c.proto
	}
	return slices.ContainsFunc(recorded, func(r Address) bool {
		return r.Interface == a.Interface && r.Prefix == a.Prefix
	})
}

// List returns the addresses on the named interface, or on every interface when iface
// is empty, with Owned set on those that lvskit added. It lists every address, the
// kernel's own (such as IPv6 link-local ones) included.
func (c *Client) List(ctx context.Context, iface string) ([]Address, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	as, err := c.list(iface)
	return as, ctxErr(ctx, err)
}

func (c *Client) list(iface string) ([]Address, error) {
	ls, err := c.links()
	if err != nil {
		return nil, err
	}
	names := map[uint32]string{}
	found := iface == ""
	for _, l := range ls {
		names[l.index] = l.name
		found = found || l.name == iface
	}
	if !found {
		return nil, fmt.Errorf("vip: %w %q", ErrUnknownInterface, iface)
	}
	ms, err := c.addrs(afUnspec)
	if err != nil {
		return nil, err
	}
	recorded, err := c.readState()
	if err != nil {
		return nil, err
	}
	var out []Address
	for _, m := range ms {
		name := names[m.index]
		if iface != "" && name != iface {
			continue
		}
		out = append(out, c.toAddress(m, name, recorded))
	}
	return out, nil
}

// Owned lists the addresses that lvskit added, on every interface.
func (c *Client) Owned(ctx context.Context) ([]Address, error) {
	all, err := c.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []Address
	for _, a := range all {
		if a.Owned {
			out = append(out, a)
		}
	}
	return out, nil
}

// Add adds a as an lvskit-owned address. IPv6 addresses get IFA_F_NODAD (a VIP moves
// between hosts and must be usable at once), and a /128 gets a preferred lifetime of
// 0 so the kernel never picks it as a source address. Adding an address that is
// already there with the same interface and prefix length is not an error and leaves
// its ownership as it is; the same address on the same interface with another prefix
// length is ErrConflict. The same address on another interface is added: the kernel
// keeps addresses per interface, and keepalived does the same for two instances
// whose VIPs share an address on different links.
func (c *Client) Add(ctx context.Context, a Address) error {
	if err := a.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	return ctxErr(ctx, c.add(a))
}

func (c *Client) add(a Address) error {
	l, err := c.linkByName(a.Interface)
	if err != nil {
		return err
	}
	if done, err := c.present(a, l); done || err != nil {
		return err
	}
	m := ifaddr{
		family:    afInet,
		prefixLen: uint8(a.Prefix.Bits()),
		scope:     uint8(a.Scope),
		index:     l.index,
		addr:      a.Prefix.Addr(),
		label:     a.Label,
		proto:     c.proto,
		hasProto:  true,
	}
	if !a.Is4() {
		m.family = afInet6
		m.flags |= ifaFNoDAD
		if a.Prefix.Bits() == 128 {
			m.setLifetime = true // preferred 0, valid forever
		}
	}
	if a.NoPrefixRoute {
		m.flags |= ifaFNoPrefixRoute
	}
	body, err := m.marshal()
	if err != nil {
		return fmt.Errorf("vip: add %s: %w", a, err)
	}
	if c.state != "" {
		// Record first: a crash between the two leaves a record of an address that
		// does not exist, which Cleanup ignores, never an address without a record.
		if err := c.recordState(a, true); err != nil {
			return err
		}
	}
	_, err = c.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: rtmNewAddr, Flags: netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl},
		Data:   body,
	})
	if errors.Is(err, syscall.EEXIST) {
		// Someone added it between our check and our request.
		if done, perr := c.present(a, l); done || perr != nil {
			return perr
		}
	}
	if err != nil {
		if c.state != "" {
			// Nothing was added: drop the record made above.
			if ferr := c.recordState(a, false); ferr != nil {
				err = errors.Join(err, ferr)
			}
		}
		return fmt.Errorf("vip: add %s: %w", a, err)
	}
	return nil
}

// present reports whether a is already on l, or returns ErrConflict when its address
// is on l with another prefix length.
func (c *Client) present(a Address, l link) (bool, error) {
	ms, err := c.addrs(afUnspec)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		// The same address on another interface is no conflict: the kernel keeps
		// addresses per interface, and keepalived adds a VIP that another
		// instance holds on another link.
		if m.addr != a.Prefix.Addr() || m.index != l.index {
			continue
		}
		if int(m.prefixLen) == a.Prefix.Bits() {
			return true, nil
		}
		return false, fmt.Errorf("vip: add %s: %w: found %s/%d on interface index %d", a, ErrConflict, m.addr, m.prefixLen, m.index)
	}
	return false, nil
}

// Remove removes a (matched by interface, address and prefix length), whether lvskit
// owns it or not. Removing an address, or from an interface, that is already gone is
// not an error.
func (c *Client) Remove(ctx context.Context, a Address) error {
	if err := a.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	return ctxErr(ctx, c.removeAddr(a))
}

func (c *Client) removeAddr(a Address) error {
	l, err := c.linkByName(a.Interface)
	if errors.Is(err, ErrUnknownInterface) {
		return c.forget(a)
	}
	if err != nil {
		return err
	}
	if err := c.remove(a, l.index); err != nil {
		return err
	}
	return c.forget(a)
}

func (c *Client) forget(a Address) error {
	if c.state == "" {
		return nil
	}
	return c.recordState(a, false)
}

func (c *Client) remove(a Address, index uint32) error {
	m := ifaddr{
		family:    afInet,
		prefixLen: uint8(a.Prefix.Bits()),
		index:     index,
		addr:      a.Prefix.Addr(),
	}
	if !a.Is4() {
		m.family = afInet6
	}
	body, err := m.marshal()
	if err != nil {
		return fmt.Errorf("vip: remove %s: %w", a, err)
	}
	_, err = c.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: rtmDelAddr, Flags: netlink.Request | netlink.Acknowledge},
		Data:   body,
	})
	switch {
	case err == nil, errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENODEV):
		return nil
	}
	return fmt.Errorf("vip: remove %s: %w", a, err)
}

// Cleanup removes every address that lvskit owns (see Owned), such as the VIPs that a
// crashed daemon left behind, and returns what it removed. Addresses it does not own
// are never touched. With a StateFile, the file is emptied afterwards.
func (c *Client) Cleanup(ctx context.Context) ([]Address, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	removed, err := c.cleanup()
	return removed, ctxErr(ctx, err)
}

func (c *Client) cleanup() ([]Address, error) {
	all, err := c.list("")
	if err != nil {
		return nil, err
	}
	ls, err := c.links()
	if err != nil {
		return nil, err
	}
	idx := map[string]uint32{}
	for _, l := range ls {
		idx[l.name] = l.index
	}
	var removed []Address
	var errs []error
	for _, a := range all {
		if !a.Owned {
			continue
		}
		if err := c.remove(a, idx[a.Interface]); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, a)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, err
	}
	if c.state != "" {
		if err := c.writeState(nil); err != nil {
			return removed, err
		}
	}
	return removed, nil
}
