package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/mdlayher/packet"
)

// arpProber asks who holds an IPv4 address on one interface and collects every answer,
// so that two holders of one address both show up. It is not safe for concurrent use.
type arpProber struct {
	conn *packet.Conn
	ifi  *net.Interface
	buf  []byte
}

// newARPProber opens a packet socket for ARP on the named interface (CAP_NET_RAW).
func newARPProber(iface string) (*arpProber, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("splitbrain: interface %q: %w", iface, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("splitbrain: interface %s has no Ethernet address", iface)
	}
	c, err := packet.Listen(ifi, packet.Datagram, etherARP, nil)
	if err != nil {
		return nil, fmt.Errorf("splitbrain: ARP socket on %s: %w", iface, err)
	}
	return &arpProber{conn: c, ifi: ifi, buf: make([]byte, 1500)}, nil
}

func (p *arpProber) Close() error { return p.conn.Close() }

// source returns the interface's first IPv4 address, or 0.0.0.0 (an ARP probe, which
// Linux answers too) when it has none.
func (p *arpProber) source() netip.Addr {
	addrs, _ := p.ifi.Addrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() {
				return ip.Unmap()
			}
		}
	}
	return netip.IPv4Unspecified()
}

// resolve broadcasts an ARP request for ip and returns the distinct link-layer
// addresses that answer within wait.
func (p *arpProber) resolve(ip netip.Addr, wait time.Duration) ([]net.HardwareAddr, error) {
	req := arpPacket{Op: arpRequest, SenderIP: p.source(), TargetIP: ip}
	copy(req.SenderMAC[:], p.ifi.HardwareAddr)
	bcast := &packet.Addr{HardwareAddr: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	if _, err := p.conn.WriteTo(req.appendTo(nil), bcast); err != nil {
		return nil, fmt.Errorf("splitbrain: sending ARP request for %v: %w", ip, err)
	}
	if err := p.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return nil, fmt.Errorf("splitbrain: %w", err)
	}
	var macs []net.HardwareAddr
	for {
		n, _, err := p.conn.ReadFrom(p.buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return macs, nil
		}
		if err != nil {
			return macs, fmt.Errorf("splitbrain: reading ARP: %w", err)
		}
		a, err := parseARP(p.buf[:n])
		if err != nil || a.Op != arpReply || a.SenderIP != ip {
			continue
		}
		mac := net.HardwareAddr(a.SenderMAC[:])
		if !slices.ContainsFunc(macs, func(m net.HardwareAddr) bool { return slices.Equal(m, mac) }) {
			macs = append(macs, slices.Clone(mac))
		}
	}
}
