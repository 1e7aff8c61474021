package main

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/lvskit/lvskit/ipvs"
	"golang.org/x/sys/unix"
)

// rawLister is the lower bound of the list contenders: a blocking generic-netlink
// socket driven with golang.org/x/sys/unix alone, one request buffer and one 64 KiB
// receive buffer reused for every dump, parsing the message headers only (it counts
// messages and decodes nothing). It shows what the kernel and the system calls cost,
// without any client library.
type rawLister struct {
	fd     int
	family uint16
	seq    uint32
	buf    []byte
	req    []byte
}

func newRawLister() (*rawLister, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, fmt.Errorf("raw: socket: %w", err)
	}
	r := &rawLister{fd: fd, buf: make([]byte, 64<<10)}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		r.Close()
		return nil, fmt.Errorf("raw: bind: %w", err)
	}
	// CTRL_CMD_GETFAMILY (3) with CTRL_ATTR_FAMILY_NAME (2) "IPVS".
	name := []byte("IPVS\x00")
	body := []byte{3, 1, 0, 0}
	body = binary.NativeEndian.AppendUint16(body, uint16(4+len(name)))
	body = binary.NativeEndian.AppendUint16(body, 2)
	body = append(body, name...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	var id uint16
	err = r.exchange(unix.GENL_ID_CTRL, unix.NLM_F_REQUEST|unix.NLM_F_ACK, body, func(b []byte) {
		// Attributes after the genetlink header: CTRL_ATTR_FAMILY_ID (1) is a u16.
		for a := b[4:]; len(a) >= 4; {
			n := int(binary.NativeEndian.Uint16(a))
			if n < 4 || n > len(a) {
				return
			}
			if binary.NativeEndian.Uint16(a[2:])&0x3fff == 1 && n >= 6 {
				id = binary.NativeEndian.Uint16(a[4:])
			}
			a = a[min(len(a), (n+3)&^3):]
		}
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	if id == 0 {
		r.Close()
		return nil, errors.New("raw: no IPVS family id")
	}
	r.family = id
	return r, nil
}

func (r *rawLister) Close() error { return unix.Close(r.fd) }

// exchange sends one request and reads replies until DONE, an error or an ack, passing
// each reply's payload to fn.
func (r *rawLister) exchange(typ, flags uint16, body []byte, fn func([]byte)) error {
	r.seq++
	b := r.req[:0]
	b = binary.NativeEndian.AppendUint32(b, uint32(16+len(body)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, r.seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, body...)
	r.req = b
	if err := unix.Sendto(r.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("raw: sendto: %w", err)
	}
	for {
		n, _, err := unix.Recvfrom(r.fd, r.buf, 0)
		if err != nil {
			return fmt.Errorf("raw: recvfrom: %w", err)
		}
		for m := r.buf[:n]; len(m) >= 16; {
			l := int(binary.NativeEndian.Uint32(m))
			if l < 16 || l > len(m) {
				return errors.New("raw: bad message")
			}
			t := binary.NativeEndian.Uint16(m[4:])
			seq := binary.NativeEndian.Uint32(m[8:])
			p := m[16:l]
			m = m[min(len(m), (l+3)&^3):]
			if seq != r.seq {
				continue
			}
			switch t {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(p) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(p)); e < 0 {
						return fmt.Errorf("raw: %w", unix.Errno(-e))
					}
				}
				return nil
			}
			fn(p)
		}
	}
}

// list dumps the services, then the destinations of each service of table (the
// benchmark's table, so no service attributes need decoding), counting messages.
func (r *rawLister) list(table []ipvs.VirtualServer) (svcs, dests int, err error) {
	dump := uint16(unix.NLM_F_REQUEST | unix.NLM_F_DUMP)
	if err := r.exchange(r.family, dump, []byte{4, 1, 0, 0}, func([]byte) { svcs++ }); err != nil {
		return 0, 0, err
	}
	body := make([]byte, 0, 64)
	for _, vs := range table {
		body = append(body[:0], 8, 1, 0, 0) // IPVS_CMD_GET_DEST
		body = appendServiceNest(body, vs.Service)
		if err := r.exchange(r.family, dump, body, func([]byte) { dests++ }); err != nil {
			return 0, 0, err
		}
	}
	return svcs, dests, nil
}

// appendServiceNest appends an IPVS_CMD_ATTR_SERVICE nest naming an IPv4 TCP service.
func appendServiceNest(b []byte, s ipvs.Service) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	attr := func(typ uint16, v []byte) {
		b = binary.NativeEndian.AppendUint16(b, uint16(4+len(v)))
		b = binary.NativeEndian.AppendUint16(b, typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	attr(1, binary.NativeEndian.AppendUint16(nil, unix.AF_INET))
	attr(2, binary.NativeEndian.AppendUint16(nil, unix.IPPROTO_TCP))
	a := s.Address.Unmap().As4()
	attr(3, append(a[:], make([]byte, 12)...))
	attr(4, binary.BigEndian.AppendUint16(nil, s.Port))
	binary.NativeEndian.PutUint16(b[start:], uint16(len(b)-start))
	binary.NativeEndian.PutUint16(b[start+2:], 1|0x8000)
	return b
}
