package ipvs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// DefaultTimeout bounds a call whose context has no deadline, when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config configures Dial. A nil *Config is the zero Config.
type Config struct {
	// NetNS is the path of a network namespace file (/run/netns/NAME,
	// /proc/PID/ns/net) whose IPVS the Client manages; IPVS state is per namespace.
	// Empty means the namespace of the calling thread.
	NetNS string
	// Timeout bounds every call whose context has no deadline. Zero means
	// DefaultTimeout; negative means no bound.
	Timeout time.Duration
	// Window is how many requests Apply sends before reading the replies. Zero means 128.
	Window int
	// SnapshotConns is how many sockets Snapshot uses to dump destinations in parallel
	// (the kernel runs one dump at a time per socket). Zero means DefaultSnapshotConns;
	// 1 dumps on one socket. The sockets are opened by the first call that dumps (more
	// than one only for a table with more than a few services) and kept until Close.
	// Clients made by NewClient always use one socket.
	SnapshotConns int
}

// DefaultSnapshotConns is the number of sockets Snapshot uses when
// Config.SnapshotConns is zero.
const DefaultSnapshotConns = 4

// Client talks to the kernel's IPVS over one generic-netlink socket. It is safe for
// concurrent use: calls are serialised on the socket. Every method takes a context whose
// cancellation or deadline interrupts the call.
type Client struct {
	mu      sync.Mutex
	conn    *netlink.Conn
	family  uint16
	timeout time.Duration
	window  int
	redial  func() (*netlink.Conn, error)
	// extra are the additional sockets of Snapshot, opened on demand; snapConns is how
	// many sockets Snapshot may use in all.
	extra     []*netlink.Conn
	snapConns int
	// dumps are the blocking sockets of the dump path, opened on demand by openDump
	// (nil for a Client made by NewClient, which takes the general path).
	dumps    []*dumper
	openDump func(family uint16) (*dumper, error)
	broken   error
	closed   bool
}

// NewClient returns a Client over an existing netlink connection, typically one from
// ipvstest. It resolves the IPVS family and returns an error matching ErrUnavailable
// when the kernel has none. The Client owns c and closes it in Close.
func NewClient(c *netlink.Conn) (*Client, error) {
	return newClient(c, nil, nil)
}

func newClient(c *netlink.Conn, cfg *Config, redial func() (*netlink.Conn, error)) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	cl := &Client{conn: c, timeout: cfg.Timeout, window: cfg.Window, redial: redial}
	if cl.timeout == 0 {
		cl.timeout = DefaultTimeout
	}
	if cl.window <= 0 {
		cl.window = 128
	}
	cl.snapConns = cfg.SnapshotConns
	if cl.snapConns <= 0 {
		cl.snapConns = DefaultSnapshotConns
	}
	if redial == nil {
		cl.snapConns = 1
	}
	if err := cl.resolve(c); err != nil {
		c.Close()
		return nil, err
	}
	return cl, nil
}

func (c *Client) resolve(conn *netlink.Conn) error {
	if c.timeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(c.timeout))
		defer conn.SetDeadline(time.Time{})
	}
	f, err := genetlink.NewConn(conn).GetFamily(familyName)
	if err != nil {
		if errno, ok := kernelErrno(err); ok && errno == syscall.ENOENT {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return fmt.Errorf("ipvs: resolve generic netlink family %q: %w", familyName, err)
	}
	c.family = f.ID
	return nil
}

// Close closes the socket. Calls after Close return ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	for _, x := range c.extra {
		x.Close()
	}
	c.extra = nil
	for _, d := range c.dumps {
		d.close()
	}
	c.dumps = nil
	return c.conn.Close()
}

// do runs fn with the socket locked and its deadline set from ctx.
func (c *Client) do(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ipvs: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.broken != nil {
		if c.redial == nil {
			return fmt.Errorf("ipvs: connection unusable after an interrupted call: %w", c.broken)
		}
		conn, err := c.redial()
		if err != nil {
			return fmt.Errorf("ipvs: reconnect: %w", err)
		}
		c.conn.Close()
		c.conn, c.broken = conn, nil
	}
	deadline, ok := ctx.Deadline()
	if !ok && c.timeout > 0 {
		deadline = time.Now().Add(c.timeout)
	}
	_ = c.conn.SetDeadline(deadline) // ipvstest sockets have no deadlines
	fired := make(chan struct{})
	conn := c.conn
	stop := context.AfterFunc(ctx, func() {
		_ = conn.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	err := fn()
	if !stop() {
		<-fired
		if err != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
	}
	_ = c.conn.SetDeadline(time.Time{})
	if err != nil {
		if _, ok := kernelErrno(err); !ok {
			// Replies may still be queued: never read them as answers to later requests.
			c.broken = err
		}
	}
	return err
}

// dumpers returns up to n dump sockets armed with ctx and the call's deadline, opening
// them on demand; none when the Client has no dump path or the first cannot be opened.
// It runs under c.mu.
func (c *Client) dumpers(ctx context.Context, n int) []*dumper {
	if c.openDump == nil {
		return nil
	}
	for len(c.dumps) < n {
		d, err := c.openDump(c.family)
		if err != nil {
			break // fewer sockets: slower, not wrong
		}
		c.dumps = append(c.dumps, d)
	}
	ds := c.dumps[:min(n, len(c.dumps))]
	deadline, ok := ctx.Deadline()
	if !ok && c.timeout > 0 {
		deadline = time.Now().Add(c.timeout)
	}
	for _, d := range ds {
		d.arm(ctx, deadline)
	}
	return ds
}

// dropDumpers closes the dump sockets whose error (errs[i] for c.dumps[i]) was not the
// kernel's: they may hold unread replies or an unfinished dump. It runs under c.mu.
func (c *Client) dropDumpers(errs []error) {
	keep := c.dumps[:0]
	for i, d := range c.dumps {
		if i < len(errs) && errs[i] != nil {
			if _, ok := kernelErrno(errs[i]); !ok {
				d.close()
				continue
			}
		}
		keep = append(keep, d)
	}
	clear(c.dumps[len(keep):])
	c.dumps = keep
}

func (c *Client) message(cmd uint8, flags netlink.HeaderFlags, build func(*netlink.AttributeEncoder)) (netlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	if build != nil {
		build(ae)
	}
	attrs, err := ae.Encode()
	if err != nil {
		return netlink.Message{}, err
	}
	b := make([]byte, 4, 4+len(attrs))
	b[0], b[1] = cmd, familyVersion
	b = append(b, attrs...)
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(c.family), Flags: flags},
		Data:   b,
	}, nil
}

// exec sends one request and returns the bodies (after the genetlink header) of its
// replies. Doit requests ask for an ack, which ends the exchange; dumps end with DONE.
func (c *Client) exec(cmd uint8, dump bool, build func(*netlink.AttributeEncoder)) ([][]byte, error) {
	return c.execOn(c.conn, cmd, dump, build)
}

// execOn is exec on one of the Client's sockets.
func (c *Client) execOn(conn *netlink.Conn, cmd uint8, dump bool, build func(*netlink.AttributeEncoder)) ([][]byte, error) {
	flags := netlink.Request | netlink.Acknowledge
	if dump {
		flags = netlink.Request | netlink.Dump
	}
	m, err := c.message(cmd, flags, build)
	if err != nil {
		return nil, err
	}
	req, err := conn.Send(m)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		msgs, err := conn.Receive()
		if err != nil {
			var oe *netlink.OpError
			if errors.As(err, &oe) && oe.Sequence != 0 && oe.Sequence != req.Header.Sequence {
				continue // a stale error
			}
			return nil, err
		}
		done := dump
		for _, r := range msgs {
			if r.Header.Sequence != req.Header.Sequence {
				continue
			}
			if r.Header.Type == netlink.Error {
				done = true // the ack (errno 0) of a doit request
				continue
			}
			if len(r.Data) < 4 {
				return nil, fmt.Errorf("short generic netlink message of %d bytes", len(r.Data))
			}
			out = append(out, r.Data[4:])
		}
		if done {
			return out, nil
		}
	}
}

// pipeline sends msgs in windows; only the last message of each window asks for an
// ack. It returns one error (or nil) per message.
func (c *Client) pipeline(msgs []netlink.Message) ([]error, error) {
	errs := make([]error, len(msgs))
	for start := 0; start < len(msgs); start += c.window {
		end := min(start+c.window, len(msgs))
		batch := msgs[start:end]
		for i := range batch {
			batch[i].Header.Flags = netlink.Request
			batch[i].Header.Sequence = 0
		}
		batch[len(batch)-1].Header.Flags |= netlink.Acknowledge
		sent, err := c.conn.SendMessages(batch)
		if err != nil {
			return errs, err
		}
		first, last := sent[0].Header.Sequence, sent[len(sent)-1].Header.Sequence
		for done := false; !done; {
			msgs, err := c.conn.Receive()
			if err != nil {
				var oe *netlink.OpError
				if !errors.As(err, &oe) || oe.Sequence == 0 {
					return errs, err
				}
				if _, ok := kernelErrno(err); !ok {
					return errs, err
				}
				if oe.Sequence-first <= last-first {
					errs[start+int(oe.Sequence-first)] = err
				}
				done = oe.Sequence == last
				continue
			}
			for _, r := range msgs {
				if r.Header.Type == netlink.Error && r.Header.Sequence == last {
					done = true
				}
			}
		}
	}
	return errs, nil
}
