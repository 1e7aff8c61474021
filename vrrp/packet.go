package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Protocol is the IP protocol number of VRRP.
const Protocol = 112

// Multicast groups that VRRP adverts are sent to (RFC 9568 5.1.1.2, 5.1.2.2).
var (
	MulticastIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	MulticastIPv6 = netip.MustParseAddr("ff02::12")
)

// TypeAdvertisement is the only VRRP packet type.
const TypeAdvertisement = 1

// Authentication types of VRRPv2 (RFC 2338; RFC 3768 keeps only AuthNone).
const (
	AuthNone   = 0
	AuthSimple = 1
)

// HeaderLen is the length of the fixed VRRP header.
const HeaderLen = 8

// AuthDataLen is the length of the authentication data that ends every v2 advert.
const AuthDataLen = 8

// ChecksumForm selects how a VRRPv3 advert over IPv4 is checksummed. RFC 5798 was
// ambiguous; keepalived (by default), older FRR and Wireshark include the IPv4
// pseudo-header, Cisco and Juniper do not, and RFC 9568 settles on no pseudo-header.
// Receivers accept both; senders must pick what their peers expect. The form does not
// matter for VRRPv2 (never a pseudo-header) or IPv6 (always one).
type ChecksumForm uint8

const (
	// ChecksumPseudoHeader includes the IPv4 pseudo-header: keepalived's default, so it is
	// the zero value.
	ChecksumPseudoHeader ChecksumForm = iota
	// ChecksumNoPseudoHeader covers the VRRP message only, as RFC 9568 specifies and as
	// keepalived does with v3_checksum_as_v2.
	ChecksumNoPseudoHeader
)

// String returns "pseudo-header" or "no pseudo-header".
func (f ChecksumForm) String() string {
	if f == ChecksumNoPseudoHeader {
		return "no pseudo-header"
	}
	return "pseudo-header"
}

// Advert is a decoded VRRP advertisement of either version. Parse fills a caller's
// Advert in place and reuses the capacity of Addrs, so a receive loop that keeps one
// Advert allocates nothing.
type Advert struct {
	// Version is 2 or 3.
	Version uint8
	// Type is TypeAdvertisement in every valid packet.
	Type uint8
	// VRID is the virtual router ID, 1..255.
	VRID uint8
	// Priority is the sender's priority: 255 owner, 1..254 backup, 0 resigning.
	Priority uint8
	// Interval is the advertisement interval in centiseconds, for both versions: a v2
	// advert's whole seconds are multiplied by 100 on Parse and divided on Append.
	Interval uint16
	// AuthType is the v2 authentication type (AuthNone or AuthSimple); zero for v3.
	AuthType uint8
	// AuthData is the v2 authentication data: the simple password, zero-padded. It is
	// sent in clear text and gives no security; it only keeps apart routers that were
	// configured differently. Zero for v3.
	AuthData [AuthDataLen]byte
	// Checksum is the checksum as received. Append computes its own and ignores this.
	Checksum uint16
	// Form is the checksum form of a v3 IPv4 advert: on Parse, the form the packet used
	// (ChecksumPseudoHeader when both would match); on Append, the form to send.
	Form ChecksumForm
	// Addrs are the virtual addresses: IPv4 for v2 and v3 over IPv4, IPv6 for v3 over
	// IPv6 (where RFC 9568 wants the first to be link-local).
	Addrs []netip.Addr
}

// Parse decodes the VRRP message b, received from src for dst (the IP header's
// addresses, which the v3 checksum covers), into a, validating it strictly. The address
// family of src selects IPv4 or IPv6. On failure it returns a DropReason naming the
// first rule b breaks, and a is partly overwritten. Parse does not allocate when a.Addrs
// has room for the addresses.
//
// Parse checks what the packet alone can tell: length, version, type, checksum, a
// non-zero address count (v3) and interval, and the v2 auth type being known. The TTL,
// the VRID and the v2 password and interval are checked by the Machine that receives it.
func Parse(b []byte, src, dst netip.Addr, a *Advert) error {
	if len(b) < HeaderLen {
		return DropTruncated
	}
	version := b[0] >> 4
	a.Version = version
	a.Type = b[0] & 0x0f
	a.VRID = b[1]
	a.Priority = b[2]
	count := int(b[3])
	a.Checksum = binary.BigEndian.Uint16(b[6:8])
	a.Form = ChecksumPseudoHeader
	a.AuthType = 0
	a.AuthData = [AuthDataLen]byte{}
	is4 := src.Is4()
	if !is4 && !src.Is6() {
		return DropFamily
	}
	alen := 4
	if !is4 {
		alen = 16
	}
	var need int
	switch version {
	case 2:
		if !is4 {
			return DropFamily
		}
		a.AuthType = b[4]
		a.Interval = uint16(b[5]) * 100
		need = HeaderLen + count*alen + AuthDataLen
	case 3:
		a.Interval = binary.BigEndian.Uint16(b[4:6]) & 0x0fff
		need = HeaderLen + count*alen
	default:
		return DropVersion
	}
	if a.Type != TypeAdvertisement {
		return DropType
	}
	if len(b) < need {
		return DropTruncated
	}
	if len(b) > need {
		return DropTrailing
	}
	switch version {
	case 2:
		if checksum(0, b) != 0 {
			return DropChecksum
		}
		if a.AuthType != AuthNone && a.AuthType != AuthSimple {
			return DropAuthType
		}
		copy(a.AuthData[:], b[need-AuthDataLen:])
	case 3:
		if count == 0 {
			return DropCountZero
		}
		if is4 {
			if checksum(pseudoSum(src, dst, len(b)), b) == 0 {
				a.Form = ChecksumPseudoHeader
			} else if checksum(0, b) == 0 {
				a.Form = ChecksumNoPseudoHeader
			} else {
				return DropChecksum
			}
		} else if checksum(pseudoSum(src, dst, len(b)), b) != 0 {
			return DropChecksum
		}
	}
	if a.Interval == 0 {
		return DropIntervalZero
	}
	a.Addrs = a.Addrs[:0]
	p := b[HeaderLen:]
	for i := 0; i < count; i++ {
		if is4 {
			a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte(p[:4])))
		} else {
			a.Addrs = append(a.Addrs, netip.AddrFrom16([16]byte(p[:16])))
		}
		p = p[alen:]
	}
	return nil
}

// Errors that Append returns for adverts it cannot encode.
var (
	errAppendVersion  = errors.New("vrrp: version must be 2 or 3")
	errAppendCount    = errors.New("vrrp: an advert carries 1..255 addresses (0..255 with version 2)")
	errAppendFamily   = errors.New("vrrp: source and addresses must be of one family, and IPv4 for version 2")
	errAppendInterval = errors.New("vrrp: interval out of range for the version (v2: whole seconds 1..255; v3: 1..4095 centiseconds)")
)

// Append encodes a as a VRRP message sent from src to dst, computes its checksum (in
// a.Form for v3 over IPv4) and appends it to b. It does not allocate when b has room.
// a.Type and a.Checksum are ignored: the type is always TypeAdvertisement.
func (a *Advert) Append(b []byte, src, dst netip.Addr) ([]byte, error) {
	is4 := src.Is4()
	if !is4 && !src.Is6() {
		return b, errAppendFamily
	}
	if len(a.Addrs) > 255 || len(a.Addrs) == 0 && a.Version != 2 {
		// RFC 3768 permits a v2 advert without addresses (keepalived sends them for
		// an instance with none); RFC 9568 does not.
		return b, errAppendCount
	}
	for _, ad := range a.Addrs {
		if ad.Is4() != is4 || (!ad.Is4() && !ad.Is6()) || ad.Is4In6() {
			return b, errAppendFamily
		}
	}
	start := len(b)
	switch a.Version {
	case 2:
		if !is4 {
			return b, errAppendFamily
		}
		if a.Interval == 0 || a.Interval%100 != 0 || a.Interval/100 > 255 {
			return b, errAppendInterval
		}
		b = append(b, 2<<4|TypeAdvertisement, a.VRID, a.Priority, uint8(len(a.Addrs)), a.AuthType, uint8(a.Interval/100), 0, 0)
	case 3:
		if a.Interval == 0 || a.Interval > 0x0fff {
			return b, errAppendInterval
		}
		b = append(b, 3<<4|TypeAdvertisement, a.VRID, a.Priority, uint8(len(a.Addrs)), uint8(a.Interval>>8), uint8(a.Interval), 0, 0)
	default:
		return b, errAppendVersion
	}
	for _, ad := range a.Addrs {
		if is4 {
			v := ad.As4()
			b = append(b, v[:]...)
		} else {
			v := ad.As16()
			b = append(b, v[:]...)
		}
	}
	if a.Version == 2 {
		b = append(b, a.AuthData[:]...)
	}
	msg := b[start:]
	var initial uint32
	if a.Version == 3 && (!is4 || a.Form == ChecksumPseudoHeader) {
		initial = pseudoSum(src, dst, len(msg))
	}
	binary.BigEndian.PutUint16(msg[6:8], checksum(initial, msg))
	return b, nil
}

// Len returns the encoded length of a in bytes for the given address length (4 or 16).
func (a *Advert) Len() int {
	n := HeaderLen
	for _, ad := range a.Addrs {
		n += ad.BitLen() / 8
	}
	if a.Version == 2 {
		n += AuthDataLen
	}
	return n
}

// String formats a for logs, such as "v3 vrid 51 prio 100 int 100cs 1 addrs".
func (a *Advert) String() string {
	return fmt.Sprintf("v%d vrid %d prio %d int %dcs %d addrs", a.Version, a.VRID, a.Priority, a.Interval, len(a.Addrs))
}

// pseudoSum returns the unfolded one's-complement sum of the IPv4 or IPv6
// pseudo-header for a VRRP message of length n from src to dst.
func pseudoSum(src, dst netip.Addr, n int) uint32 {
	var s uint32
	add := func(ad netip.Addr) {
		if ad.Is4() {
			b := ad.As4()
			s += uint32(b[0])<<8 | uint32(b[1])
			s += uint32(b[2])<<8 | uint32(b[3])
			return
		}
		b := ad.As16()
		for i := 0; i < 16; i += 2 {
			s += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	add(src)
	add(dst)
	// IPv4: zero, protocol, 16-bit length; IPv6: 32-bit length, three zeros, next
	// header. Both sum to protocol + length for lengths below 65536.
	s += Protocol + uint32(n)
	return s
}

// checksum returns the Internet checksum (RFC 1071) of b with initial added in; over a
// message that includes a correct checksum field it returns 0.
func checksum(initial uint32, b []byte) uint16 {
	s := initial
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
