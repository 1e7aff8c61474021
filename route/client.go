package route

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/internal/ctxdeadline"
	"github.com/mdlayher/netlink"
)

// DefaultProtocol is the rtm_protocol value that marks the routes lvskit announces
// when Config.Protocol is zero: 108, the byte 'l' that also marks vip's addresses. It
// is not among the values iproute2 names in /etc/iproute2/rt_protos, and BIRD learns
// routes of any protocol other than 0 (unspec), 2 (kernel) and 12 (bird).
const DefaultProtocol uint8 = 108

// Config configures a Client. Table is required.
type Config struct {
	// NetNS is the path of a network namespace file (/run/netns/NAME or
	// /proc/PID/ns/net) whose routing tables the Client changes. Empty means the
	// namespace of the calling thread when Dial runs.
	NetNS string

	// Table is the routing table the Client announces into: a table of its own that
	// the routing daemon learns (BIRD: `kernel table N; learn;`) and that no ip rule
	// looks up, so that its routes never steer this host's own traffic. Zero and the
	// kernel's tables 252 (compat), 253 (default), 254 (main) and 255 (local) are
	// refused with ErrReservedTable: a VIP route in main would be used for
	// forwarding, and Cleanup must never walk a table that others fill.
	Table uint32

	// Protocol is the rtm_protocol value that marks routes as this Client's own;
	// List, Withdraw, Cleanup and Reconcile touch no route with another value. Zero
	// means DefaultProtocol. 1 to 4 (redirect, kernel, boot, static: what the kernel
	// and `ip route add` use) and 12 (BIRD's own, which BIRD does not learn) are
	// refused with ErrReservedProtocol. Daemons that share a table use different
	// values.
	Protocol uint8
}

// Client announces and withdraws routes in one table through rtnetlink. Its methods
// are safe for concurrent use: calls take turns on one socket, and waiting for a turn
// ends when the caller's context does.
//
// Every call takes a context: its deadline becomes the socket's deadline for the
// call, and cancelling it sets the deadline to the past, so a call that the kernel
// never answers returns an error wrapping ctx.Err() instead of hanging. A socket that
// has no deadlines (a fake from nltest) ignores the context once the call has started.
type Client struct {
	// turn holds a token while a call uses conn. It is a channel rather than a
	// mutex so that a caller waiting behind a slow call gives up when its own
	// context ends.
	turn      chan struct{}
	conn      *netlink.Conn
	deadlines bool
	table     uint32
	proto     uint8
}

// NewClient returns a Client that uses conn, which may be a fake from nltest. It
// checks cfg as Dial does.
func NewClient(conn *netlink.Conn, cfg *Config) (*Client, error) {
	table, proto, err := cfg.check()
	if err != nil {
		return nil, err
	}
	c := &Client{turn: make(chan struct{}, 1), conn: conn, table: table, proto: proto}
	c.deadlines = conn.SetDeadline(time.Time{}) == nil
	return c, nil
}

// check validates cfg and returns its table and protocol with defaults applied.
func (cfg *Config) check() (uint32, uint8, error) {
	if cfg == nil {
		return 0, 0, fmt.Errorf("route: %w: Config with a Table is required", ErrReservedTable)
	}
	switch cfg.Table {
	case 0, 252, 253, 254, 255:
		return 0, 0, fmt.Errorf("route: table %d: %w", cfg.Table, ErrReservedTable)
	}
	proto := cfg.Protocol
	switch {
	case proto == 0:
		proto = DefaultProtocol
	case proto <= 4 || proto == 12:
		return 0, 0, fmt.Errorf("route: protocol %d: %w", proto, ErrReservedProtocol)
	}
	return cfg.Table, proto, nil
}

// Table returns the routing table the Client works on.
func (c *Client) Table() uint32 { return c.table }

// Protocol returns the rtm_protocol value that marks the Client's routes.
func (c *Client) Protocol() uint8 { return c.proto }

// Close closes the rtnetlink socket.
func (c *Client) Close() error { return c.conn.Close() }

// begin waits for the Client's turn under ctx, arms the socket's deadline for one call
// and returns the function that disarms it and ends the turn.
func (c *Client) begin(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("route: waiting for the socket: %w", ctx.Err())
	}
	if !c.deadlines {
		return func() { <-c.turn }, nil
	}
	disarm, err := ctxdeadline.Arm(ctx, c.conn)
	if err != nil {
		<-c.turn
		return nil, fmt.Errorf("route: set deadline: %w", err)
	}
	return func() {
		disarm()
		<-c.turn
	}, nil
}

// ctxErr makes an error that ctx caused (the deadline it set passed) also wrap
// ctx.Err(), so that callers can test for context.DeadlineExceeded.
func ctxErr(ctx context.Context, err error) error { return ctxdeadline.Err(ctx, err) }

// checkPrefix validates a prefix to announce or withdraw.
func checkPrefix(p netip.Prefix) error {
	if !p.IsValid() || p.Addr().Is4In6() || p.Bits() == 0 || p != p.Masked() {
		return fmt.Errorf("route: %w: %s", ErrInvalidPrefix, p)
	}
	return nil
}

// Announce adds a blackhole route for p to the table, marked with the Client's
// protocol. A route for p that is already the Client's is left as it is, so Announce
// is idempotent; a route for p of another protocol is left alone too and reported as
// ErrConflict. p is usually a VIP's /32 or /128; any prefix with no bits set past its
// length is accepted, except a default route.
func (c *Client) Announce(ctx context.Context, p netip.Prefix) error {
	if err := checkPrefix(p); err != nil {
		return err
	}
	end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	return ctxErr(ctx, c.announce(p))
}

func (c *Client) announce(p netip.Prefix) error {
	m := rtmsg{
		family:   familyOf(p),
		dstLen:   uint8(p.Bits()),
		table:    c.table,
		protocol: c.proto,
		scope:    rtScopeUniverse,
		typ:      rtnBlackhole,
		dst:      p.Addr(),
	}
	body, err := m.marshal()
	if err != nil {
		return fmt.Errorf("route: announce %s: %w", p, err)
	}
	// Create|Excl rather than Replace: a replace takes over a route of any
	// protocol for the same prefix, and an administrator's route is not ours to
	// overwrite.
	_, err = c.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: rtmNewRoute, Flags: netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl},
		Data:   body,
	})
	if errors.Is(err, syscall.EEXIST) {
		rs, lerr := c.dump()
		if lerr != nil {
			return fmt.Errorf("route: announce %s: %w (and listing the table failed: %w)", p, err, lerr)
		}
		others := 0
		for _, r := range rs {
			if pp, ok := r.prefix(); ok && pp == p {
				if r.protocol == c.proto {
					return nil
				}
				others = int(r.protocol)
			}
		}
		return fmt.Errorf("route: announce %s in table %d: %w (protocol %d): %w", p, c.table, ErrConflict, others, err)
	}
	if err != nil {
		return fmt.Errorf("route: announce %s in table %d: %w", p, c.table, err)
	}
	return nil
}

// Withdraw removes the Client's route for p from the table. A route that is not
// there, or that another protocol owns, is not an error and is left alone.
func (c *Client) Withdraw(ctx context.Context, p netip.Prefix) error {
	if err := checkPrefix(p); err != nil {
		return err
	}
	end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	return ctxErr(ctx, c.withdraw(p))
}

func (c *Client) withdraw(p netip.Prefix) error {
	// The kernel deletes only a route whose protocol matches a non-zero
	// rtm_protocol; type 0 and scope nowhere match any type and scope.
	m := rtmsg{
		family:   familyOf(p),
		dstLen:   uint8(p.Bits()),
		table:    c.table,
		protocol: c.proto,
		scope:    rtScopeNowhere,
		dst:      p.Addr(),
	}
	body, err := m.marshal()
	if err != nil {
		return fmt.Errorf("route: withdraw %s: %w", p, err)
	}
	_, err = c.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: rtmDelRoute, Flags: netlink.Request | netlink.Acknowledge},
		Data:   body,
	})
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("route: withdraw %s from table %d: %w", p, c.table, err)
	}
	return nil
}

// List returns the prefixes of the Client's routes in the table (those with its
// protocol), IPv4 first, each family in address order. An empty table is not an
// error.
func (c *Client) List(ctx context.Context) ([]netip.Prefix, error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	ps, err := c.list()
	return ps, ctxErr(ctx, err)
}

func (c *Client) list() ([]netip.Prefix, error) {
	rs, err := c.dump()
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, r := range rs {
		if r.protocol != c.proto {
			continue
		}
		if p, ok := r.prefix(); ok && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, comparePrefixes)
	return out, nil
}

// dump returns every IPv4 and IPv6 route in the Client's table. The request asks the
// kernel to filter by table and protocol (which it does when the socket has
// NETLINK_GET_STRICT_CHK, Linux 4.20+); the table is checked here as well.
func (c *Client) dump() ([]rtmsg, error) {
	req := rtmsg{family: afUnspec, table: c.table, protocol: c.proto}
	body, err := req.marshal()
	if err != nil {
		return nil, fmt.Errorf("route: list: %w", err)
	}
	msgs, err := c.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: rtmGetRoute, Flags: netlink.Request | netlink.Dump},
		Data:   body,
	})
	if err != nil {
		return nil, fmt.Errorf("route: list table %d: %w", c.table, err)
	}
	var out []rtmsg
	for _, m := range msgs {
		if m.Header.Type != rtmNewRoute {
			continue
		}
		var r rtmsg
		if err := r.unmarshal(m.Data); err != nil {
			return nil, err
		}
		if r.table == c.table && (r.family == afInet || r.family == afInet6) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Reconcile converges the table on exactly want: it announces every prefix of want
// that is missing and withdraws every route of the Client's that is not in want.
// Routes of other protocols are never touched. It keeps going after a failure and
// returns every error joined; a prefix of want that is invalid fails the call before
// anything changes. Reconcile(ctx, nil) withdraws everything, as Cleanup does.
func (c *Client) Reconcile(ctx context.Context, want []netip.Prefix) error {
	for _, p := range want {
		if err := checkPrefix(p); err != nil {
			return err
		}
	}
	end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	return ctxErr(ctx, c.reconcile(want))
}

func (c *Client) reconcile(want []netip.Prefix) error {
	have, err := c.list()
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range want {
		if slices.Contains(have, p) {
			continue
		}
		if err := c.announce(p); err != nil {
			errs = append(errs, err)
		}
		have = append(have, p) // a duplicate in want is announced once
	}
	for _, p := range have {
		if slices.Contains(want, p) {
			continue
		}
		if err := c.withdraw(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Cleanup withdraws every route of the Client's from the table, such as those a
// daemon left behind when it crashed. Routes of other protocols stay.
func (c *Client) Cleanup(ctx context.Context) error { return c.Reconcile(ctx, nil) }

// comparePrefixes orders IPv4 before IPv6, then by address, then by length.
func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}
