package vip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Ethernet, ARP and ICMPv6 numbers.
const (
	etherTypeARP  = 0x0806
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd

	arpRequest = 1
	arpReply   = 2

	icmpv6NeighborAdvert = 136
	ndOptTargetLLAddr    = 2
	protoICMPv6          = 58

	naFlagRouter    = 0x80
	naFlagSolicited = 0x40
	naFlagOverride  = 0x20

	etherHeaderLen = 14
	arpFrameLen    = etherHeaderLen + 28
	naFrameLen     = etherHeaderLen + 40 + 32
)

var (
	broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	allNodes     = netip.MustParseAddr("ff02::1")
	// allNodesMAC is the Ethernet multicast address for ff02::1 (33:33 + last 4 bytes).
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
)

var errFrame = errors.New("malformed frame")

// arpFrame is an Ethernet frame carrying an ARP packet for IPv4 over Ethernet.
type arpFrame struct {
	dst, src  [6]byte
	op        uint16
	senderMAC [6]byte
	senderIP  netip.Addr
	targetMAC [6]byte
	targetIP  netip.Addr
}

// garp returns a gratuitous ARP for ip from mac, broadcast. Sender and target IP are
// both ip. As a request (reply false) the target MAC is zero, as RFC 5227
// announcements have it; as a reply it is mac itself, as arping -A sends it and as
// Linux requires to treat a reply as gratuitous (and so bypass its ARP locktime).
func garp(mac net.HardwareAddr, ip netip.Addr, reply bool) arpFrame {
	f := arpFrame{op: arpRequest, senderIP: ip, targetIP: ip}
	copy(f.dst[:], broadcastMAC)
	copy(f.src[:], mac)
	copy(f.senderMAC[:], mac)
	if reply {
		f.op = arpReply
		copy(f.targetMAC[:], mac)
	}
	return f
}

func (f arpFrame) marshal() []byte {
	b := make([]byte, arpFrameLen)
	copy(b[0:6], f.dst[:])
	copy(b[6:12], f.src[:])
	binary.BigEndian.PutUint16(b[12:14], etherTypeARP)
	a := b[etherHeaderLen:]
	binary.BigEndian.PutUint16(a[0:2], 1) // Ethernet
	binary.BigEndian.PutUint16(a[2:4], etherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], f.op)
	copy(a[8:14], f.senderMAC[:])
	s4, t4 := f.senderIP.As4(), f.targetIP.As4()
	copy(a[14:18], s4[:])
	copy(a[18:24], f.targetMAC[:])
	copy(a[24:28], t4[:])
	return b
}

// parseARPFrame decodes an Ethernet/IPv4 ARP frame. Bytes past the ARP packet (the
// Ethernet minimum-length padding) are ignored.
func parseARPFrame(b []byte) (arpFrame, error) {
	var f arpFrame
	if len(b) < arpFrameLen {
		return f, fmt.Errorf("vip: ARP frame of %d bytes: %w", len(b), errFrame)
	}
	if binary.BigEndian.Uint16(b[12:14]) != etherTypeARP {
		return f, fmt.Errorf("vip: not ARP: %w", errFrame)
	}
	a := b[etherHeaderLen:]
	if binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != etherTypeIPv4 || a[4] != 6 || a[5] != 4 {
		return f, fmt.Errorf("vip: ARP for something other than IPv4 over Ethernet: %w", errFrame)
	}
	copy(f.dst[:], b[0:6])
	copy(f.src[:], b[6:12])
	f.op = binary.BigEndian.Uint16(a[6:8])
	copy(f.senderMAC[:], a[8:14])
	f.senderIP = netip.AddrFrom4([4]byte(a[14:18]))
	copy(f.targetMAC[:], a[18:24])
	f.targetIP = netip.AddrFrom4([4]byte(a[24:28]))
	return f, nil
}

// naFrame is an Ethernet frame carrying an IPv6 neighbour advertisement with a target
// link-layer address option.
type naFrame struct {
	dst, src [6]byte
	srcIP    netip.Addr
	dstIP    netip.Addr
	hopLimit uint8
	flags    uint8 // naFlag*
	target   netip.Addr
	lladdr   [6]byte
}

// unsolicitedNA returns an unsolicited neighbour advertisement for target from mac,
// sent from src to all nodes (ff02::1) with hop limit 255, the override flag, the
// router flag when router is true, and the target link-layer address option.
func unsolicitedNA(mac net.HardwareAddr, src, target netip.Addr, router bool) naFrame {
	f := naFrame{srcIP: src, dstIP: allNodes, hopLimit: 255, flags: naFlagOverride, target: target}
	if router {
		f.flags |= naFlagRouter
	}
	copy(f.dst[:], allNodesMAC)
	copy(f.src[:], mac)
	copy(f.lladdr[:], mac)
	return f
}

func (f naFrame) marshal() []byte {
	b := make([]byte, naFrameLen)
	copy(b[0:6], f.dst[:])
	copy(b[6:12], f.src[:])
	binary.BigEndian.PutUint16(b[12:14], etherTypeIPv6)
	ip := b[etherHeaderLen:]
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], 32)
	ip[6] = protoICMPv6
	ip[7] = f.hopLimit
	s, d := f.srcIP.As16(), f.dstIP.As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	m := ip[40:]
	m[0] = icmpv6NeighborAdvert
	m[4] = f.flags
	t := f.target.As16()
	copy(m[8:24], t[:])
	m[24] = ndOptTargetLLAddr
	m[25] = 1 // in units of 8 bytes
	copy(m[26:32], f.lladdr[:])
	binary.BigEndian.PutUint16(m[2:4], icmpv6Checksum(s, d, m))
	return b
}

// parseNAFrame decodes and checks an Ethernet/IPv6 neighbour advertisement of the
// shape naFrame.marshal writes: no extension headers, one option (the target
// link-layer address), a correct checksum.
func parseNAFrame(b []byte) (naFrame, error) {
	var f naFrame
	if len(b) < naFrameLen {
		return f, fmt.Errorf("vip: NA frame of %d bytes: %w", len(b), errFrame)
	}
	if binary.BigEndian.Uint16(b[12:14]) != etherTypeIPv6 {
		return f, fmt.Errorf("vip: not IPv6: %w", errFrame)
	}
	ip := b[etherHeaderLen:]
	if ip[0] != 6<<4 || ip[1] != 0 || ip[2] != 0 || ip[3] != 0 {
		return f, fmt.Errorf("vip: IPv6 version, class or flow label: %w", errFrame)
	}
	if binary.BigEndian.Uint16(ip[4:6]) != 32 || ip[6] != protoICMPv6 {
		return f, fmt.Errorf("vip: not a 32-byte ICMPv6 payload: %w", errFrame)
	}
	m := ip[40:72]
	if m[0] != icmpv6NeighborAdvert || m[1] != 0 || m[4]&0x1f != 0 || m[5] != 0 || m[6] != 0 || m[7] != 0 {
		return f, fmt.Errorf("vip: not a neighbour advertisement: %w", errFrame)
	}
	if m[24] != ndOptTargetLLAddr || m[25] != 1 {
		return f, fmt.Errorf("vip: NA without a target link-layer address option: %w", errFrame)
	}
	s, d := [16]byte(ip[8:24]), [16]byte(ip[24:40])
	want := binary.BigEndian.Uint16(m[2:4])
	if icmpv6Checksum(s, d, m) != want {
		return f, fmt.Errorf("vip: ICMPv6 checksum: %w", errFrame)
	}
	copy(f.dst[:], b[0:6])
	copy(f.src[:], b[6:12])
	f.hopLimit = ip[7]
	f.srcIP = netip.AddrFrom16(s)
	f.dstIP = netip.AddrFrom16(d)
	f.flags = m[4]
	f.target = netip.AddrFrom16([16]byte(m[8:24]))
	copy(f.lladdr[:], m[26:32])
	return f, nil
}

// icmpv6Checksum computes the ICMPv6 checksum of msg over the IPv6 pseudo-header,
// treating the checksum field (bytes 2-3) as zero.
func icmpv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	sum += uint32(len(msg)) // upper-layer length; fits in 16 bits here
	sum += protoICMPv6
	add(msg[:2])
	add(msg[4:])
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
