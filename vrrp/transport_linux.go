package vrrp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// IPTransport is the Linux kernel transport: a raw IP socket for protocol 112 bound
// to one interface, through golang.org/x/net/ipv4 or ipv6. It sends with TTL / hop
// limit 255 from the source address the Router gives (set per packet with
// IP_PKTINFO / IPV6_PKTINFO) and reports the received TTL for the Router to check.
// It needs CAP_NET_RAW. Sockets belong to the network namespace of the thread that
// opens them, so ListenIP inside a namespace gives a transport in that namespace.
type IPTransport struct {
	conn     net.PacketConn
	p4       *ipv4.PacketConn
	p6       *ipv6.PacketConn
	ifi      *net.Interface
	peers    []netip.Addr
	filtered atomic.Uint64
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
	t := &IPTransport{conn: c, ifi: ifi, peers: append([]netip.Addr(nil), cfg.Peers...)}
	if err := t.setup(cfg); err != nil {
		c.Close()
		return nil, fmt.Errorf("vrrp: set up socket on %s: %w", ifi.Name, err)
	}
	return t, nil
}

func (t *IPTransport) setup(cfg *TransportConfig) error {
	multicast := len(cfg.Peers) == 0
	if !cfg.IPv6 {
		p := ipv4.NewPacketConn(t.conn)
		t.p4 = p
		if err := p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
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
	t.p6 = p
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

// ReadFrom implements Transport. Packets from other interfaces and, with unicast
// peers, from other sources are skipped.
func (t *IPTransport) ReadFrom(b []byte) (int, PacketInfo, error) {
	for {
		var (
			n       int
			src     net.Addr
			err     error
			info    PacketInfo
			ifindex int
		)
		if t.p4 != nil {
			var cm *ipv4.ControlMessage
			n, cm, src, err = t.p4.ReadFrom(b)
			if cm != nil {
				info.TTL = uint8(cm.TTL)
				info.Dst, _ = netip.AddrFromSlice(cm.Dst)
				info.Dst = info.Dst.Unmap()
				ifindex = cm.IfIndex
			}
		} else {
			var cm *ipv6.ControlMessage
			n, cm, src, err = t.p6.ReadFrom(b)
			if cm != nil {
				info.TTL = uint8(cm.HopLimit)
				info.Dst, _ = netip.AddrFromSlice(cm.Dst)
				ifindex = cm.IfIndex
			}
		}
		if err != nil {
			return 0, PacketInfo{}, fmt.Errorf("vrrp: read: %w", err)
		}
		if ia, ok := src.(*net.IPAddr); ok {
			info.Src, _ = netip.AddrFromSlice(ia.IP)
			if t.p4 != nil {
				info.Src = info.Src.Unmap()
			}
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

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// WriteTo implements Transport: it sends b from src to dst on the interface.
func (t *IPTransport) WriteTo(b []byte, src, dst netip.Addr) error {
	var err error
	if t.p4 != nil {
		cm := &ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: t.ifi.Index}
		_, err = t.p4.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice()})
	} else {
		cm := &ipv6.ControlMessage{Src: src.AsSlice(), IfIndex: t.ifi.Index, HopLimit: 255}
		// No zone on dst: Go would resolve a zone name in the calling thread's network
		// namespace, which need not be the socket's. IPV6_PKTINFO names the interface.
		_, err = t.p6.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice()})
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
