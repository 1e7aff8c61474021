package route

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// rtnetlink numbers from linux/rtnetlink.h, defined here so that the wire code builds
// and tests on every OS.
const (
	rtmNewRoute = 24
	rtmDelRoute = 25
	rtmGetRoute = 26

	afUnspec = 0
	afInet   = 2
	afInet6  = 10

	rtaDst      = 1
	rtaOIF      = 4
	rtaPriority = 6
	rtaTable    = 15

	rtnBlackhole = 6

	rtScopeUniverse = 0
	rtScopeNowhere  = 255

	// rtTableCompat (RT_TABLE_COMPAT) is what the one-byte rtm_table field carries
	// for tables above 255; RTA_TABLE has the real number.
	rtTableCompat = 252

	// netlinkRoute is NETLINK_ROUTE.
	netlinkRoute = 0

	// rtmsgLen is sizeof(struct rtmsg).
	rtmsgLen = 12
)

// rtmsg is one rtnetlink route message (struct rtmsg and the attributes lvskit uses).
type rtmsg struct {
	family   uint8
	dstLen   uint8
	srcLen   uint8
	tos      uint8
	table    uint32 // rtm_table widened by RTA_TABLE
	protocol uint8
	scope    uint8
	typ      uint8
	flags    uint32
	dst      netip.Addr // RTA_DST; invalid when absent (the default route)
	oif      uint32     // RTA_OIF, 0 when absent
	priority uint32     // RTA_PRIORITY, 0 when absent
}

// marshal encodes the message body. The table goes in rtm_table when it fits in a
// byte and always in RTA_TABLE, as iproute2 sends it.
func (m *rtmsg) marshal() ([]byte, error) {
	b := make([]byte, rtmsgLen)
	b[0] = m.family
	b[1] = m.dstLen
	b[2] = m.srcLen
	b[3] = m.tos
	if m.table < 256 {
		b[4] = uint8(m.table)
	} else {
		b[4] = rtTableCompat
	}
	b[5] = m.protocol
	b[6] = m.scope
	b[7] = m.typ
	binary.NativeEndian.PutUint32(b[8:], m.flags)
	ae := netlink.NewAttributeEncoder()
	if m.table != 0 {
		ae.Uint32(rtaTable, m.table)
	}
	if m.dst.IsValid() {
		ae.Bytes(rtaDst, m.dst.AsSlice())
	}
	if m.oif != 0 {
		ae.Uint32(rtaOIF, m.oif)
	}
	if m.priority != 0 {
		ae.Uint32(rtaPriority, m.priority)
	}
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(b, attrs...), nil
}

// unmarshal decodes a message body, ignoring attributes it does not use.
func (m *rtmsg) unmarshal(b []byte) error {
	if len(b) < rtmsgLen {
		return fmt.Errorf("route: short rtmsg: %d bytes", len(b))
	}
	*m = rtmsg{
		family:   b[0],
		dstLen:   b[1],
		srcLen:   b[2],
		tos:      b[3],
		table:    uint32(b[4]),
		protocol: b[5],
		scope:    b[6],
		typ:      b[7],
		flags:    binary.NativeEndian.Uint32(b[8:12]),
	}
	ad, err := netlink.NewAttributeDecoder(b[rtmsgLen:])
	if err != nil {
		return fmt.Errorf("route: rtmsg attributes: %w", err)
	}
	for ad.Next() {
		switch ad.Type() {
		case rtaTable:
			m.table = ad.Uint32()
		case rtaDst:
			a, ok := netip.AddrFromSlice(ad.Bytes())
			if !ok || (m.family == afInet && !a.Is4()) || (m.family == afInet6 && !a.Is6()) {
				return fmt.Errorf("route: rtmsg: bad destination of %d bytes for family %d", len(ad.Bytes()), m.family)
			}
			m.dst = a
		case rtaOIF:
			m.oif = ad.Uint32()
		case rtaPriority:
			m.priority = ad.Uint32()
		}
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("route: rtmsg attributes: %w", err)
	}
	return nil
}

// prefix returns the route's destination as a prefix; ok is false for a message that
// is not an IPv4 or IPv6 route, or whose length does not fit its family.
func (m *rtmsg) prefix() (netip.Prefix, bool) {
	a := m.dst
	if !a.IsValid() {
		switch m.family {
		case afInet:
			a = netip.IPv4Unspecified()
		case afInet6:
			a = netip.IPv6Unspecified()
		default:
			return netip.Prefix{}, false
		}
	}
	p := netip.PrefixFrom(a, int(m.dstLen))
	return p, p.IsValid()
}

// familyOf returns the AF_ value of p's address.
func familyOf(p netip.Prefix) uint8 {
	if p.Addr().Is4() {
		return afInet
	}
	return afInet6
}
