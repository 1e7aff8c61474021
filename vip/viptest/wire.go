package viptest

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// Numbers from linux/rtnetlink.h, linux/if_addr.h, linux/if.h and linux/if_arp.h,
// written out so that the fake builds on every OS.
const (
	rtmNewLink = 16
	rtmGetLink = 18
	rtmNewAddr = 20
	rtmDelAddr = 21
	rtmGetAddr = 22

	afInet  = 2
	afInet6 = 10

	ifaAddress   = 1
	ifaLocal     = 2
	ifaLabel     = 3
	ifaCacheinfo = 6
	ifaFlags     = 8
	ifaProto     = 11

	ifaFDeprecated = 0x20
	ifaFPermanent  = 0x80

	iflaAddress = 1
	iflaIfname  = 3
	iflaMTU     = 4

	iffUp       = 0x1
	iffLoopback = 0x8
	iffRunning  = 0x40
	iffLowerUp  = 0x10000

	arphrdEther    = 1
	arphrdLoopback = 772

	infinity = 0xffffffff
)

// addrMsg is a decoded RTM_NEWADDR or RTM_DELADDR request: struct ifaddrmsg and the
// attributes the kernel reads.
type addrMsg struct {
	family    uint8
	prefixLen uint8
	flags     uint32
	scope     uint8
	index     uint32
	local     netip.Addr // IFA_LOCAL
	address   netip.Addr // IFA_ADDRESS
	label     string
	proto     uint8
	hasProto  bool
	preferred uint32
	valid     uint32
}

// parseAddrMsg decodes a request body. ok is false when the kernel would answer
// EINVAL.
func parseAddrMsg(b []byte) (m addrMsg, ok bool) {
	if len(b) < 8 {
		return m, false
	}
	m = addrMsg{
		family:    b[0],
		prefixLen: b[1],
		flags:     uint32(b[2]),
		scope:     b[3],
		index:     binary.NativeEndian.Uint32(b[4:8]),
		preferred: infinity,
		valid:     infinity,
	}
	ad, err := netlink.NewAttributeDecoder(b[8:])
	if err != nil {
		return m, false
	}
	ip := func(raw []byte) (netip.Addr, bool) {
		a, ok := netip.AddrFromSlice(raw)
		if !ok || (m.family == afInet) != a.Is4() {
			return netip.Addr{}, false
		}
		return a, true
	}
	for ad.Next() {
		switch ad.Type() {
		case ifaLocal:
			m.local, ok = ip(ad.Bytes())
		case ifaAddress:
			m.address, ok = ip(ad.Bytes())
		case ifaLabel:
			m.label, ok = ad.String(), true
		case ifaFlags:
			m.flags, ok = ad.Uint32(), true
		case ifaProto:
			m.proto, m.hasProto, ok = ad.Uint8(), true, true
		case ifaCacheinfo:
			d := ad.Bytes()
			ok = len(d) >= 8
			if ok {
				m.preferred = binary.NativeEndian.Uint32(d[0:4])
				m.valid = binary.NativeEndian.Uint32(d[4:8])
			}
		default:
			ok = true
		}
		if !ok {
			return m, false
		}
	}
	if ad.Err() != nil || (m.family != afInet && m.family != afInet6) {
		return m, false
	}
	return m, true
}

// addr is the address the request names: IFA_LOCAL if present (IFA_ADDRESS is the
// peer on point-to-point links), else IFA_ADDRESS.
func (m addrMsg) addr() netip.Addr {
	if m.local.IsValid() {
		return m.local
	}
	return m.address
}

// marshalAddr encodes an address as the kernel reports it in a dump.
func marshalAddr(e *entry) []byte {
	b := make([]byte, 8)
	b[0] = afInet6
	if e.addr.Is4() {
		b[0] = afInet
	}
	b[1] = e.prefixLen
	b[2] = uint8(e.flags)
	b[3] = e.scope
	binary.NativeEndian.PutUint32(b[4:], e.index)
	ae := netlink.NewAttributeEncoder()
	ip := e.addr.AsSlice()
	ae.Bytes(ifaAddress, ip)
	if e.addr.Is4() {
		ae.Bytes(ifaLocal, ip)
		ae.String(ifaLabel, e.label)
	}
	ae.Uint32(ifaFlags, e.flags)
	ci := make([]byte, 16) // struct ifa_cacheinfo; the timestamps stay zero
	binary.NativeEndian.PutUint32(ci[0:], e.preferred)
	binary.NativeEndian.PutUint32(ci[4:], e.valid)
	ae.Bytes(ifaCacheinfo, ci)
	if e.hasProto {
		ae.Uint8(ifaProto, e.proto)
	}
	attrs, _ := ae.Encode() // fixed-size attributes: never fails
	return append(b, attrs...)
}

// marshalLink encodes a link as the kernel reports it in a dump (struct ifinfomsg
// and the attributes vip reads).
func marshalLink(l *link) []byte {
	b := make([]byte, 16)
	typ, flags := uint16(arphrdEther), uint32(0)
	if l.loopback {
		typ, flags = arphrdLoopback, iffLoopback
	}
	if l.up {
		flags |= iffUp | iffRunning | iffLowerUp
	}
	binary.NativeEndian.PutUint16(b[2:], typ)
	binary.NativeEndian.PutUint32(b[4:], l.index)
	binary.NativeEndian.PutUint32(b[8:], flags)
	ae := netlink.NewAttributeEncoder()
	ae.String(iflaIfname, l.name)
	ae.Uint32(iflaMTU, l.mtu)
	ae.Bytes(iflaAddress, l.mac)
	attrs, _ := ae.Encode()
	return append(b, attrs...)
}

// link is one interface of the fake.
type link struct {
	index    uint32
	name     string
	mac      net.HardwareAddr
	mtu      uint32
	up       bool
	loopback bool
}
