package vrrp

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// IPTransport is the Linux kernel transport: a raw IP socket for protocol 112 bound
// to one interface. It sends with TTL / hop limit 255 from the source address the
// Router gives (set per packet with IP_PKTINFO / IPV6_PKTINFO) and reports the
// received TTL for the Router to check. It needs CAP_NET_RAW. Sockets belong to the
// network namespace of the thread that opens them, so ListenIP inside a namespace
// gives a transport in that namespace.
//
// ReadFrom and WriteTo speak recvmsg and sendmsg through the socket's raw descriptor
// with reused message headers and control buffers, and parse the control messages in
// place: neither allocates per packet. Both are safe for concurrent use.
type IPTransport struct {
	conn     net.PacketConn
	rc       syscall.RawConn
	v6       bool
	ifi      *net.Interface
	peers    []netip.Addr
	filtered atomic.Uint64

	// Free lists of per-call scratch (message headers, control buffers and the
	// closures handed to RawConn), so that concurrent calls each have their own and
	// steady-state calls allocate nothing.
	rfree chan *readScratch
	wfree chan *writeScratch
}

var _ Transport = (*IPTransport)(nil)

// ListenIP opens the kernel transport on cfg.Interface: it binds a raw socket to the
// interface (SO_BINDTODEVICE), sets TTL / hop limit 255 for unicast and multicast,
// turns multicast loopback off, and joins 224.0.0.18 or ff02::12 unless cfg.Peers is
// set. Errors wrap the errno (errors.Is(err, os.ErrPermission) without CAP_NET_RAW).
func ListenIP(cfg *TransportConfig) (*IPTransport, error) {
	if cfg == nil || cfg.Interface == "" {
		return nil, fmt.Errorf("%w: transport needs an interface", ErrInvalidConfig)
	}
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("vrrp: interface %q: %w", cfg.Interface, err)
	}
	for _, p := range cfg.Peers {
		if p.Is4() == cfg.IPv6 {
			return nil, fmt.Errorf("%w: peer %v is not of the transport's family", ErrInvalidConfig, p)
		}
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)
		}); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("SO_BINDTODEVICE %s: %w", ifi.Name, serr)
		}
		return nil
	}}
	network, laddr := "ip4:112", "0.0.0.0"
	if cfg.IPv6 {
		network, laddr = "ip6:112", "::"
	}
	c, err := lc.ListenPacket(context.Background(), network, laddr)
	if err != nil {
		return nil, fmt.Errorf("vrrp: open raw socket on %s: %w", ifi.Name, err)
	}
	t := &IPTransport{
		conn: c, v6: cfg.IPv6, ifi: ifi, peers: append([]netip.Addr(nil), cfg.Peers...),
		rfree: make(chan *readScratch, scratchFree), wfree: make(chan *writeScratch, scratchFree),
	}
	if err := t.setup(cfg); err != nil {
		c.Close()
		return nil, fmt.Errorf("vrrp: set up socket on %s: %w", ifi.Name, err)
	}
	return t, nil
}

func (t *IPTransport) setup(cfg *TransportConfig) error {
	sc, ok := t.conn.(syscall.Conn)
	if !ok {
		return fmt.Errorf("%T has no raw descriptor", t.conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	t.rc = rc
	multicast := len(cfg.Peers) == 0
	if !cfg.IPv6 {
		p := ipv4.NewPacketConn(t.conn)
		// IP_PKTINFO for the arrival interface; source, destination and TTL come from
		// the IPv4 header, which raw IPv4 sockets deliver.
		if err := p.SetControlMessage(ipv4.FlagInterface, true); err != nil {
			return err
		}
		if err := p.SetTTL(255); err != nil {
			return err
		}
		if err := p.SetMulticastTTL(255); err != nil {
			return err
		}
		if err := p.SetMulticastLoopback(false); err != nil {
			return err
		}
		if err := p.SetMulticastInterface(t.ifi); err != nil {
			return err
		}
		if multicast {
			return p.JoinGroup(t.ifi, &net.IPAddr{IP: MulticastIPv4.AsSlice()})
		}
		return nil
	}
	p := ipv6.NewPacketConn(t.conn)
	if err := p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
		return err
	}
	if err := p.SetHopLimit(255); err != nil {
		return err
	}
	if err := p.SetMulticastHopLimit(255); err != nil {
		return err
	}
	if err := p.SetMulticastLoopback(false); err != nil {
		return err
	}
	if err := p.SetMulticastInterface(t.ifi); err != nil {
		return err
	}
	if multicast {
		return p.JoinGroup(t.ifi, &net.IPAddr{IP: MulticastIPv6.AsSlice()})
	}
	return nil
}

// scratchFree is how many idle scratch records each free list keeps.
const scratchFree = 4

// ipv4HeaderLen is the length of an IPv4 header without options.
const ipv4HeaderLen = 20

// oobLen holds every control message the socket asks for: IP_PKTINFO, or
// IPV6_PKTINFO and IPV6_HOPLIMIT.
const oobLen = 128

// readScratch is what one ReadFrom call needs. rawRead is bound once to fn, so handing
// it to RawConn.Read allocates nothing.
type readScratch struct {
	msg  unix.Msghdr
	iov  [2]unix.Iovec
	hdr  [ipv4HeaderLen]byte   // the IPv4 header without options
	name unix.RawSockaddrInet6 // the IPv6 source
	oob  []byte                // 8-byte aligned (from make)
	v6   bool
	b    []byte
	n    int
	err  unix.Errno
	fn   func(fd uintptr) bool
}

func (s *readScratch) rawRead(fd uintptr) bool {
	iov := s.iov[:0]
	if !s.v6 {
		s.iov[0].Base = &s.hdr[0]
		s.iov[0].SetLen(len(s.hdr))
		iov = s.iov[:1]
	}
	if len(s.b) > 0 {
		s.iov[len(iov)].Base = &s.b[0]
		s.iov[len(iov)].SetLen(len(s.b))
		iov = s.iov[:len(iov)+1]
	}
	s.msg = unix.Msghdr{}
	if s.v6 {
		s.msg.Name = (*byte)(unsafe.Pointer(&s.name))
		s.msg.Namelen = unix.SizeofSockaddrInet6
	}
	if len(iov) > 0 {
		s.msg.Iov = &iov[0]
		s.msg.SetIovlen(len(iov))
	}
	s.msg.Control = &s.oob[0]
	s.msg.SetControllen(len(s.oob))
	for {
		// RawSyscall, not Syscall: with MSG_DONTWAIT the call never blocks, so it
		// need not hand its P to another thread, and Syscall's bookkeeping wakes
		// the runtime's sysmon thread when the process was idle: one more context
		// switch per packet (measured: docs/benchmarks/director.md).
		n, _, e := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&s.msg)), unix.MSG_DONTWAIT)
		switch e {
		case 0:
			s.n, s.err = int(n), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			s.n, s.err = 0, e
			return true
		}
	}
}

func (t *IPTransport) getRead() *readScratch {
	select {
	case s := <-t.rfree:
		return s
	default:
	}
	s := &readScratch{v6: t.v6, oob: make([]byte, oobLen)}
	s.fn = s.rawRead
	return s
}

func (t *IPTransport) putRead(s *readScratch) {
	s.b = nil
	select {
	case t.rfree <- s:
	default:
	}
}

// ReadFrom implements Transport. Packets from other interfaces and, with unicast
// peers, from other sources are skipped. A packet longer than b is truncated to len(b).
func (t *IPTransport) ReadFrom(b []byte) (int, PacketInfo, error) {
	s := t.getRead()
	defer t.putRead(s)
	for {
		s.b = b
		if err := t.rc.Read(s.fn); err != nil {
			return 0, PacketInfo{}, fmt.Errorf("vrrp: read: %w", err)
		}
		if s.err != 0 {
			return 0, PacketInfo{}, fmt.Errorf("vrrp: read: %w", os.NewSyscallError("recvmsg", s.err))
		}
		n, info, ifindex, ok := s.parse(b)
		if !ok {
			continue
		}
		if ifindex != 0 && ifindex != t.ifi.Index {
			continue
		}
		if len(t.peers) > 0 && !containsAddr(t.peers, info.Src) {
			t.filtered.Add(1)
			continue
		}
		return n, info, nil
	}
}

// parse takes the received packet apart: it moves the IPv4 payload to the front of b
// and returns its length, the addresses and TTL, and the arrival interface.
func (s *readScratch) parse(b []byte) (n int, info PacketInfo, ifindex int, ok bool) {
	n = s.n // what was copied, header included for IPv4
	if !s.v6 {
		if n < ipv4HeaderLen || s.hdr[0]>>4 != 4 {
			return 0, info, 0, false
		}
		hl := int(s.hdr[0]&0x0f) * 4
		if hl < ipv4HeaderLen || n < hl {
			return 0, info, 0, false
		}
		info.TTL = s.hdr[8]
		info.Src = netip.AddrFrom4([4]byte(s.hdr[12:16]))
		info.Dst = netip.AddrFrom4([4]byte(s.hdr[16:20]))
		// IP options, if any, came into b ahead of the payload.
		if extra := hl - ipv4HeaderLen; extra > 0 {
			copy(b, b[extra:n-ipv4HeaderLen])
		}
		n -= hl
	} else {
		if s.msg.Namelen < unix.SizeofSockaddrInet6 || s.name.Family != unix.AF_INET6 {
			return 0, info, 0, false
		}
		info.Src = netip.AddrFrom16(s.name.Addr)
	}
	oob := s.oob[:s.msg.Controllen]
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			break
		}
		data := oob[unix.CmsgLen(0):l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			ifindex = int(int32(binary.NativeEndian.Uint32(data[0:4])))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			info.Dst = netip.AddrFrom16([16]byte(data[0:16]))
			ifindex = int(binary.NativeEndian.Uint32(data[16:20]))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_HOPLIMIT && len(data) >= 4:
			info.TTL = uint8(binary.NativeEndian.Uint32(data[0:4]))
		}
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return n, info, ifindex, true
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// writeScratch is what one WriteTo call needs: a message header with a prebuilt
// control buffer whose source address is filled in per packet.
type writeScratch struct {
	msg unix.Msghdr
	iov unix.Iovec
	sa4 unix.RawSockaddrInet4
	sa6 unix.RawSockaddrInet6
	oob []byte // IP_PKTINFO, or IPV6_PKTINFO then IPV6_HOPLIMIT
	b   []byte
	err unix.Errno
	fn  func(fd uintptr) bool
}

func (s *writeScratch) rawWrite(fd uintptr) bool {
	for {
		// RawSyscall: MSG_DONTWAIT never blocks (see rawRead).
		_, _, e := unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&s.msg)), unix.MSG_DONTWAIT)
		switch e {
		case 0:
			s.err = 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			s.err = e
			return true
		}
	}
}

func (t *IPTransport) getWrite() *writeScratch {
	select {
	case s := <-t.wfree:
		return s
	default:
	}
	s := &writeScratch{}
	s.fn = s.rawWrite
	putCmsg := func(off, level, typ, datalen int) int {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&s.oob[off]))
		h.Level, h.Type = int32(level), int32(typ)
		h.SetLen(unix.CmsgLen(datalen))
		return off + unix.CmsgSpace(datalen)
	}
	if !t.v6 {
		s.oob = make([]byte, unix.CmsgSpace(unix.SizeofInet4Pktinfo))
		putCmsg(0, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
		binary.NativeEndian.PutUint32(s.oob[unix.CmsgLen(0):], uint32(t.ifi.Index))
		s.sa4.Family = unix.AF_INET
		s.msg.Name = (*byte)(unsafe.Pointer(&s.sa4))
		s.msg.Namelen = unix.SizeofSockaddrInet4
	} else {
		s.oob = make([]byte, unix.CmsgSpace(unix.SizeofInet6Pktinfo)+unix.CmsgSpace(4))
		off := putCmsg(0, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
		binary.NativeEndian.PutUint32(s.oob[unix.CmsgLen(0)+16:], uint32(t.ifi.Index))
		putCmsg(off, unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, 4)
		binary.NativeEndian.PutUint32(s.oob[off+unix.CmsgLen(0):], 255)
		// No scope on the destination: IPV6_PKTINFO names the interface (a zone name
		// would be resolved in the calling thread's namespace, which need not be the
		// socket's).
		s.sa6.Family = unix.AF_INET6
		s.msg.Name = (*byte)(unsafe.Pointer(&s.sa6))
		s.msg.Namelen = unix.SizeofSockaddrInet6
	}
	s.msg.Iov = &s.iov
	s.msg.SetIovlen(1)
	s.msg.Control = &s.oob[0]
	s.msg.SetControllen(len(s.oob))
	return s
}

func (t *IPTransport) putWrite(s *writeScratch) {
	s.b = nil
	s.iov.Base = nil
	select {
	case t.wfree <- s:
	default:
	}
}

// WriteTo implements Transport: it sends b from src to dst on the interface.
func (t *IPTransport) WriteTo(b []byte, src, dst netip.Addr) error {
	if len(b) == 0 {
		return fmt.Errorf("vrrp: send to %v: empty message", dst)
	}
	if src.Is4() == t.v6 || dst.Unmap().Is4() == t.v6 {
		return fmt.Errorf("vrrp: send from %v to %v: not of the transport's family", src, dst)
	}
	s := t.getWrite()
	defer t.putWrite(s)
	if !t.v6 {
		// struct in_pktinfo: ifindex, spec_dst (the source), addr (ignored on send).
		a := src.As4()
		copy(s.oob[unix.CmsgLen(0)+4:], a[:])
		s.sa4.Addr = dst.Unmap().As4()
	} else {
		a := src.As16()
		copy(s.oob[unix.CmsgLen(0):], a[:])
		s.sa6.Addr = dst.As16()
	}
	s.b = b
	s.iov.Base = &b[0]
	s.iov.SetLen(len(b))
	err := t.rc.Write(s.fn)
	if err == nil && s.err != 0 {
		err = os.NewSyscallError("sendmsg", s.err)
	}
	if err != nil {
		return fmt.Errorf("vrrp: send to %v: %w", dst, err)
	}
	return nil
}

// SetReadDeadline sets the deadline for ReadFrom, as net.PacketConn does.
func (t *IPTransport) SetReadDeadline(d time.Time) error { return t.conn.SetReadDeadline(d) }

// Close implements Transport.
func (t *IPTransport) Close() error { return t.conn.Close() }

// Filtered returns how many packets were discarded for coming from a source that is
// not a configured unicast peer.
func (t *IPTransport) Filtered() uint64 { return t.filtered.Load() }
