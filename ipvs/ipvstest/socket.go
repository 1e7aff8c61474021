package ipvstest

import (
	"encoding/binary"
	"errors"
	"iter"
	"sync"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// dumpChunk is how many messages the fake puts in one dump datagram, so that clients
// meet multi-part dumps spread over several reads, as from the kernel.
const dumpChunk = 8

// ErrWouldBlock is what a read returns when no reply is pending: on a real socket the
// read would block until its deadline.
var ErrWouldBlock = errors.New("ipvstest: no reply pending (a kernel socket would block)")

// Dial returns a netlink connection to the server. Like a kernel socket it handles every
// request as it is written, queues the replies as datagrams and returns one datagram per
// read, so clients can pipeline requests.
func (s *Server) Dial() *netlink.Conn {
	return netlink.NewConn(&socket{srv: s}, 1)
}

type socket struct {
	srv *Server

	mu     sync.Mutex
	queue  [][]netlink.Message
	closed bool
}

var errClosed = errors.New("ipvstest: use of closed connection")

func (c *socket) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *socket) Send(m netlink.Message) error { return c.SendMessages([]netlink.Message{m}) }

func (c *socket) SendMessages(ms []netlink.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	for _, m := range ms {
		c.serve(m)
	}
	return nil
}

func (c *socket) Receive() ([]netlink.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	if len(c.queue) == 0 {
		return nil, ErrWouldBlock
	}
	d := c.queue[0]
	c.queue = c.queue[1:]
	return d, nil
}

func (c *socket) ReceiveIter() iter.Seq2[netlink.Message, error] {
	return func(yield func(netlink.Message, error) bool) {
		msgs, err := c.Receive()
		if err != nil {
			yield(netlink.Message{}, err)
			return
		}
		for _, m := range msgs {
			if !yield(m, nil) {
				return
			}
		}
	}
}

// Deadlines are accepted and ignored: a read never blocks.
func (c *socket) SetDeadline(time.Time) error      { return nil }
func (c *socket) SetReadDeadline(time.Time) error  { return nil }
func (c *socket) SetWriteDeadline(time.Time) error { return nil }

// serve handles one request and queues its reply datagrams.
func (c *socket) serve(req netlink.Message) {
	reply := func(typ netlink.HeaderType, flags netlink.HeaderFlags, data []byte) netlink.Message {
		return netlink.Message{
			Header: netlink.Header{Type: typ, Flags: flags, Sequence: req.Header.Sequence, PID: req.Header.PID,
				Length: uint32(16 + len(data))},
			Data: data,
		}
	}
	ack := func(code Errno) {
		// struct nlmsgerr: the negative errno and the request's header; with an error
		// the kernel echoes the payload too unless NETLINK_CAP_ACK is set.
		b := binary.NativeEndian.AppendUint32(nil, uint32(-code))
		h, _ := (netlink.Message{Header: req.Header}).MarshalBinary()
		b = append(b, h[:16]...)
		var flags netlink.HeaderFlags
		if code != 0 {
			b = append(b, req.Data...)
			if c.srv.cfg.ErrnoMessages {
				// The echoed request's length in its header tells where the
				// extended-acknowledgement attributes start.
				ae := netlink.NewAttributeEncoder()
				ae.String(nlmsgerrAttrMsg, ErrnoMessage(code))
				tlv, _ := ae.Encode()
				b = append(b, tlv...)
				flags = netlink.AcknowledgeTLVs
			}
		}
		c.queue = append(c.queue, []netlink.Message{reply(netlink.Error, flags, b)})
	}
	var gm genetlink.Message
	if err := gm.UnmarshalBinary(req.Data); err != nil {
		ack(EINVAL)
		return
	}
	var (
		msgs []genetlink.Message
		err  error
	)
	typ := netlink.HeaderType(FamilyID)
	switch req.Header.Type {
	case genlIDCtrl:
		msgs, err = c.srv.family(gm)
		typ = genlIDCtrl
	case FamilyID:
		msgs, err = c.srv.handle(gm, req)
	default:
		err = ENOENT
	}
	if err != nil {
		var en Errno
		if !errors.As(err, &en) {
			en = EINVAL
		}
		ack(en)
		return
	}
	dump := req.Header.Flags&netlink.Dump == netlink.Dump
	var out []netlink.Message
	for _, m := range msgs {
		b, _ := m.MarshalBinary()
		f := netlink.HeaderFlags(0)
		if dump {
			f = netlink.Multi
		}
		out = append(out, reply(typ, f, b))
	}
	if !dump {
		if len(out) > 0 {
			c.queue = append(c.queue, out)
		}
		if req.Header.Flags&netlink.Acknowledge != 0 {
			ack(0)
		}
		return
	}
	done := reply(netlink.Done, netlink.Multi, binary.NativeEndian.AppendUint32(nil, 0))
	for len(out) > dumpChunk {
		c.queue = append(c.queue, out[:dumpChunk])
		out = out[dumpChunk:]
	}
	c.queue = append(c.queue, append(out, done))
}

// The generic-netlink controller (linux/genetlink.h).
const (
	genlIDCtrl         = 0x10
	ctrlCmdNewFamily   = 1
	ctrlCmdGetFamily   = 3
	ctrlAttrFamilyID   = 1
	ctrlAttrFamilyName = 2
	ctrlAttrVersion    = 3
	ctrlAttrHdrSize    = 4
	ctrlAttrMaxAttr    = 5

	nlmsgerrAttrMsg = 1 // NLMSGERR_ATTR_MSG
)

// family answers the generic-netlink controller's CTRL_CMD_GETFAMILY.
func (s *Server) family(gm genetlink.Message) ([]genetlink.Message, error) {
	if gm.Header.Command != ctrlCmdGetFamily {
		return nil, EOPNOTSUPP
	}
	a, err := attrs(gm.Data)
	if err != nil {
		return nil, err
	}
	if cstr(a[ctrlAttrFamilyName]) != "IPVS" || s.cfg.Unavailable {
		return nil, ENOENT
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint16(ctrlAttrFamilyID, FamilyID)
	ae.String(ctrlAttrFamilyName, "IPVS")
	ae.Uint32(ctrlAttrVersion, 1)
	ae.Uint32(ctrlAttrHdrSize, 0)
	ae.Uint32(ctrlAttrMaxAttr, 17)
	m := message(ctrlCmdNewFamily, ae)
	m.Header.Version = 2
	return []genetlink.Message{m}, nil
}
