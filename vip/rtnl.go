package vip

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// rtnetlink numbers from linux/rtnetlink.h, linux/if_addr.h and linux/if_link.h,
// defined here so that the wire code builds and tests on every OS.
const (
	rtmNewLink = 16
	rtmDelLink = 17
	rtmGetLink = 18
	rtmNewAddr = 20
	rtmDelAddr = 21
	rtmGetAddr = 22

	afUnspec = 0
	afInet   = 2
	afInet6  = 10

	ifaAddress   = 1
	ifaLocal     = 2
	ifaLabel     = 3
	ifaCacheinfo = 6
	ifaFlags     = 8
	ifaProto     = 11

	ifaFNoDAD         = 0x02
	ifaFNoPrefixRoute = 0x200

	iflaAddress = 1
	iflaIfname  = 3

	iffUp      = 0x1
	iffRunning = 0x40

	// Multicast groups (RTNLGRP_*).
	rtnlgrpLink       = 1
	rtnlgrpIPv4Ifaddr = 5
	rtnlgrpIPv6Ifaddr = 9

	// ifaInfinity is INFINITY_LIFE_TIME, a lifetime that never ends.
	ifaInfinity = 0xffffffff

	// netlinkRoute is NETLINK_ROUTE.
	netlinkRoute = 0
)

// ifaddr is one rtnetlink address message (struct ifaddrmsg and its attributes).
type ifaddr struct {
	family    uint8
	prefixLen uint8
	flags     uint32 // ifa_flags widened by IFA_FLAGS
	scope     uint8
	index     uint32
	addr      netip.Addr
	label     string
	proto     uint8 // IFA_PROTO, 0 when absent
	hasProto  bool
	// preferred is the preferred lifetime; with setLifetime it is sent as
	// IFA_CACHEINFO with an infinite valid lifetime.
	preferred   uint32
	setLifetime bool
}

// marshal encodes the message body.
func (m *ifaddr) marshal() ([]byte, error) {
	b := make([]byte, 8)
	b[0] = m.family
	b[1] = m.prefixLen
	b[2] = uint8(m.flags) // the low 8 bits; IFA_FLAGS carries them all
	b[3] = m.scope
	binary.NativeEndian.PutUint32(b[4:], m.index)
	ae := netlink.NewAttributeEncoder()
	ip := m.addr.AsSlice()
	if m.family == afInet {
		ae.Bytes(ifaLocal, ip)
	}
	ae.Bytes(ifaAddress, ip)
	if m.label != "" {
		ae.String(ifaLabel, m.label)
	}
	ae.Uint32(ifaFlags, m.flags)
	if m.setLifetime {
		ci := make([]byte, 16)
		binary.NativeEndian.PutUint32(ci[0:], m.preferred)
		binary.NativeEndian.PutUint32(ci[4:], ifaInfinity)
		ae.Bytes(ifaCacheinfo, ci)
	}
	if m.hasProto {
		ae.Uint8(ifaProto, m.proto)
	}
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(b, attrs...), nil
}

// unmarshal decodes a message body.
func (m *ifaddr) unmarshal(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("vip: short ifaddrmsg: %d bytes", len(b))
	}
	*m = ifaddr{
		family:    b[0],
		prefixLen: b[1],
		flags:     uint32(b[2]),
		scope:     b[3],
		index:     binary.NativeEndian.Uint32(b[4:8]),
	}
	ad, err := netlink.NewAttributeDecoder(b[8:])
	if err != nil {
		return fmt.Errorf("vip: ifaddrmsg attributes: %w", err)
	}
	var local, address []byte
	for ad.Next() {
		switch ad.Type() {
		case ifaAddress:
			address = ad.Bytes()
		case ifaLocal:
			local = ad.Bytes()
		case ifaLabel:
			m.label = ad.String()
		case ifaFlags:
			m.flags = ad.Uint32()
		case ifaProto:
			m.proto = ad.Uint8()
			m.hasProto = true
		case ifaCacheinfo:
			if d := ad.Bytes(); len(d) >= 8 {
				m.preferred = binary.NativeEndian.Uint32(d[0:4])
				m.setLifetime = true
			}
		}
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("vip: ifaddrmsg attributes: %w", err)
	}
	// IPv4 reports the local address in IFA_LOCAL (IFA_ADDRESS is the peer on
	// point-to-point links); IPv6 only has IFA_ADDRESS unless it is point-to-point.
	raw := address
	if local != nil {
		raw = local
	}
	ip, ok := netip.AddrFromSlice(raw)
	if !ok {
		return fmt.Errorf("vip: ifaddrmsg with a %d-byte address", len(raw))
	}
	if (m.family == afInet) != ip.Is4() {
		return fmt.Errorf("vip: ifaddrmsg family %d with address %s", m.family, ip)
	}
	if int(m.prefixLen) > ip.BitLen() {
		return fmt.Errorf("vip: ifaddrmsg prefix length %d for %s", m.prefixLen, ip)
	}
	m.addr = ip
	return nil
}

// ifaddrRequest is the body of a dump request for one family (0 for all).
func ifaddrRequest(family uint8) []byte { return []byte{family, 0, 0, 0, 0, 0, 0, 0} }

// link is what vip needs from an rtnetlink link message (struct ifinfomsg).
type link struct {
	index uint32
	flags uint32
	name  string
	mac   net.HardwareAddr
}

// up reports whether the link is administratively up and has carrier.
func (l link) up() bool { return l.flags&iffUp != 0 && l.flags&iffRunning != 0 }

func (l *link) unmarshal(b []byte) error { return l.unmarshalWith(b, nil) }

// unmarshalWith decodes a link message as unmarshal does and hands every other
// attribute to extra, when set, for callers that need more of the message.
func (l *link) unmarshalWith(b []byte, extra func(ad *netlink.AttributeDecoder)) error {
	if len(b) < 16 {
		return fmt.Errorf("vip: short ifinfomsg: %d bytes", len(b))
	}
	*l = link{
		index: binary.NativeEndian.Uint32(b[4:8]),
		flags: binary.NativeEndian.Uint32(b[8:12]),
	}
	ad, err := netlink.NewAttributeDecoder(b[16:])
	if err != nil {
		return fmt.Errorf("vip: ifinfomsg attributes: %w", err)
	}
	for ad.Next() {
		switch ad.Type() {
		case iflaIfname:
			l.name = ad.String()
		case iflaAddress:
			l.mac = net.HardwareAddr(ad.Bytes())
		default:
			if extra != nil {
				extra(ad)
			}
		}
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("vip: ifinfomsg attributes: %w", err)
	}
	return nil
}

// marshal encodes a link message (used by tests' fake kernels).
func (l *link) marshal() []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint32(b[4:], l.index)
	binary.NativeEndian.PutUint32(b[8:], l.flags)
	ae := netlink.NewAttributeEncoder()
	ae.String(iflaIfname, l.name)
	if l.mac != nil {
		ae.Bytes(iflaAddress, l.mac)
	}
	attrs, _ := ae.Encode()
	return append(b, attrs...)
}
