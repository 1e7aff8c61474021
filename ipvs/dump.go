package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
)

// The dump path of Snapshot. A Snapshot of a large table is thousands of small dumps,
// and under emulation the per-dump work in user space (message values, attribute
// encoders, buffers and the receive machinery of package netlink) cost more than the
// kernel's. A dumper encodes each request into one reused buffer, reads every reply
// datagram into one reused buffer through the socket's raw descriptor and hands the
// message bodies to a decoder that reads them in place. Its sockets are separate,
// blocking ones that the Go runtime's poller never sees: under emulation the poller's
// thread, woken by every datagram queued on a socket it watches, cost as much as the
// dump itself. Snapshot, Services and Destinations of a Client made by Dial use it; a
// Client made by NewClient (ipvstest's) takes the general path.

// Netlink message header layout and types (include/uapi/linux/netlink.h).
const (
	nlmsgHdrLen  = 16
	genlHdrLen   = 4
	nlmsgNoop    = 0x1
	nlmsgError   = 0x2
	nlmsgDone    = 0x3
	nlmsgOverrun = 0x4
	nlmNested    = 0x8000
)

// dumpBuffer is the receive buffer of a dumper: the kernel never makes a dump datagram
// larger than 32 KiB, and a larger one would be reported as truncated, not misread.
const dumpBuffer = 64 << 10

// dumper runs dumps on one socket. It is used by one goroutine at a time.
type dumper struct {
	family uint16
	seq    uint32
	req    []byte
	buf    []byte
	// io sends a request and receives one datagram; set by newDumper (Linux) or tests.
	io dumpIO
}

// dumpIO is the socket side of a dumper.
type dumpIO interface {
	send(b []byte) error
	// recv reads one datagram into b and returns its length; a length larger than b
	// means the datagram was truncated. A receive that waits ends with ctx or at the
	// deadline given to arm.
	recv(b []byte) (int, error)
	// arm sets the context and deadline of the following calls (zero: none).
	arm(ctx context.Context, deadline time.Time)
	close() error
}

func (d *dumper) arm(ctx context.Context, deadline time.Time) { d.io.arm(ctx, deadline) }

func (d *dumper) close() error { return d.io.close() }

func newDumperIO(family uint16, io dumpIO) *dumper {
	return &dumper{family: family, seq: 1 << 31, io: io, buf: make([]byte, dumpBuffer), req: make([]byte, 0, 128)}
}

// startRequest begins a dump request for cmd in d.req and returns it.
func (d *dumper) startRequest(cmd uint8) []byte {
	d.seq++
	b := d.req[:0]
	b = binary.NativeEndian.AppendUint32(b, 0) // length, set by finishRequest
	b = binary.NativeEndian.AppendUint16(b, d.family)
	b = binary.NativeEndian.AppendUint16(b, uint16(netlink.Request|netlink.Dump))
	b = binary.NativeEndian.AppendUint32(b, d.seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // port ID: the kernel fills it in
	return append(b, cmd, familyVersion, 0, 0)
}

func finishRequest(b []byte) []byte {
	binary.NativeEndian.PutUint32(b, uint32(len(b)))
	return b
}

// appendAttr appends one attribute with its padding.
func appendAttr(b []byte, typ uint16, val []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(val)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func appendU16Attr(b []byte, typ, v uint16) []byte {
	var x [2]byte
	binary.NativeEndian.PutUint16(x[:], v)
	return appendAttr(b, typ, x[:])
}

// appendServiceID appends the SERVICE nest that identifies s, with the bytes
// encodeService(ae, s, false) produces.
func appendServiceID(b []byte, s Service) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = appendU16Attr(b, svcAF, uint16(s.family()))
	if s.FWMark != 0 {
		var x [4]byte
		binary.NativeEndian.PutUint32(x[:], s.FWMark)
		b = appendAttr(b, svcFWMark, x[:])
	} else {
		b = appendU16Attr(b, svcProtocol, uint16(s.Protocol))
		var a [16]byte
		putAddr16(a[:], s.Address, s.family())
		b = appendAttr(b, svcAddr, a[:])
		var p [2]byte
		binary.BigEndian.PutUint16(p[:], s.Port)
		b = appendAttr(b, svcPort, p[:])
	}
	binary.NativeEndian.PutUint16(b[start:], uint16(len(b)-start))
	binary.NativeEndian.PutUint16(b[start+2:], attrService|nlmNested)
	return b
}

// dump sends req and passes the body (after the generic-netlink header) of every reply
// message to fn, until the kernel's DONE. The bodies alias d.buf.
func (d *dumper) dump(req []byte, fn func(body []byte) error) error {
	d.req = req[:0] // keep a grown buffer
	if err := d.io.send(req); err != nil {
		return err
	}
	for {
		n, err := d.io.recv(d.buf)
		if err != nil {
			return err
		}
		if n > len(d.buf) {
			return fmt.Errorf("netlink datagram of %d bytes truncated to %d", n, len(d.buf))
		}
		done, err := parseDumpDatagram(d.buf[:n], d.seq, fn)
		if err != nil || done {
			return err
		}
	}
}

var errBadMessage = errors.New("invalid netlink message")

// parseDumpDatagram walks the netlink messages of one datagram, passing the generic
// netlink bodies of those with sequence seq to fn. It reports whether the dump ended
// (DONE, or an error message). An error message becomes a *netlink.OpError holding the
// errno, as package netlink reports it, so that kernel errors map the same way on both
// paths; messages of other sequences (stale replies) are skipped.
func parseDumpDatagram(b []byte, seq uint32, fn func(body []byte) error) (bool, error) {
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return false, errBadMessage
		}
		n := int(binary.NativeEndian.Uint32(b))
		if n < nlmsgHdrLen || n > len(b) {
			return false, errBadMessage
		}
		typ := binary.NativeEndian.Uint16(b[4:])
		mseq := binary.NativeEndian.Uint32(b[8:])
		data := b[nlmsgHdrLen:n]
		if a := (n + 3) &^ 3; a < len(b) {
			b = b[a:]
		} else {
			b = nil
		}
		if mseq != seq {
			continue
		}
		switch typ {
		case nlmsgNoop, nlmsgOverrun:
			continue
		case nlmsgError, nlmsgDone:
			if len(data) < 4 {
				if typ == nlmsgDone {
					return true, nil
				}
				return true, errBadMessage
			}
			if code := int32(binary.NativeEndian.Uint32(data)); code < 0 {
				return true, &netlink.OpError{Op: "receive", Err: syscall.Errno(-code), Sequence: seq}
			}
			return true, nil
		}
		if len(data) < genlHdrLen {
			return false, fmt.Errorf("short generic netlink message of %d bytes", len(data))
		}
		if err := fn(data[genlHdrLen:]); err != nil {
			return false, err
		}
	}
	return false, nil
}

// dumpServices is services on a dumper.
func (d *dumper) dumpServices() ([]ServiceStatus, error) {
	var out []ServiceStatus
	err := d.dump(finishRequest(d.startRequest(cmdGetService)), func(body []byte) error {
		s, err := decodeServiceMessage(body)
		if err != nil {
			return fmt.Errorf("decode service: %w", err)
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []ServiceStatus{}
	}
	return out, nil
}

// destArena hands out destination slices cut from shared chunks, so that a snapshot
// makes one allocation per chunk instead of one per service.
type destArena struct {
	scratch []DestinationStatus
	chunk   []DestinationStatus
	// chunkSize is the smallest chunk; zero gives each service its own exact slice.
	chunkSize int
}

// destChunk is the chunk size of Snapshot's arenas.
const destChunk = 512

// dumpDests reads the destinations of s into a slice cut from a.
func (d *dumper) dumpDests(s Service, a *destArena) ([]DestinationStatus, error) {
	a.scratch = a.scratch[:0]
	fam := s.family()
	req := finishRequest(appendServiceID(d.startRequest(cmdGetDest), s))
	err := d.dump(req, func(body []byte) error {
		ds, err := decodeDestMessage(body, fam)
		if err != nil {
			return fmt.Errorf("decode destination: %w", err)
		}
		a.scratch = append(a.scratch, ds)
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := len(a.scratch)
	if n == 0 {
		return []DestinationStatus{}, nil
	}
	if cap(a.chunk)-len(a.chunk) < n {
		a.chunk = make([]DestinationStatus, 0, max(a.chunkSize, n))
	}
	start := len(a.chunk)
	a.chunk = append(a.chunk, a.scratch...)
	return a.chunk[start:len(a.chunk):len(a.chunk)], nil
}
