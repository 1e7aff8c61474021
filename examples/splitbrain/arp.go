package main

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
)

// ARP over Ethernet for IPv4 (RFC 826), without the Ethernet header: the packet socket
// adds and strips that.
const (
	arpLen     = 28
	arpRequest = 1
	arpReply   = 2
	etherARP   = 0x0806
)

var errARP = errors.New("not an Ethernet/IPv4 ARP packet")

// arpPacket is an ARP request or reply for IPv4 over Ethernet.
type arpPacket struct {
	Op        uint16
	SenderMAC [6]byte
	SenderIP  netip.Addr
	TargetMAC [6]byte
	TargetIP  netip.Addr
}

// appendTo appends the packet's 28 bytes to b. The addresses must be IPv4.
func (p *arpPacket) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, 1) // Ethernet
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	b = append(b, 6, 4)
	b = binary.BigEndian.AppendUint16(b, p.Op)
	b = append(b, p.SenderMAC[:]...)
	s, t := p.SenderIP.As4(), p.TargetIP.As4()
	b = append(b, s[:]...)
	b = append(b, p.TargetMAC[:]...)
	return append(b, t[:]...)
}

// parseARP decodes an Ethernet/IPv4 ARP packet. Trailing bytes (Ethernet padding) are
// ignored.
func parseARP(b []byte) (arpPacket, error) {
	var p arpPacket
	if len(b) < arpLen || binary.BigEndian.Uint16(b[0:2]) != 1 || binary.BigEndian.Uint16(b[2:4]) != 0x0800 ||
		b[4] != 6 || b[5] != 4 {
		return p, errARP
	}
	p.Op = binary.BigEndian.Uint16(b[6:8])
	copy(p.SenderMAC[:], b[8:14])
	p.SenderIP = netip.AddrFrom4([4]byte(b[14:18]))
	copy(p.TargetMAC[:], b[18:24])
	p.TargetIP = netip.AddrFrom4([4]byte(b[24:28]))
	return p, nil
}

// rogueHolders returns the link-layer addresses among holders (those that answered ARP
// for a VIP) that belong to none of the advertising masters: a router that holds the
// VIP without being MASTER. The result is sorted and free of duplicates.
func rogueHolders(masters, holders []net.HardwareAddr) []net.HardwareAddr {
	var rogue []net.HardwareAddr
	for _, h := range holders {
		known := slices.ContainsFunc(masters, func(m net.HardwareAddr) bool { return slices.Equal(m, h) })
		dup := slices.ContainsFunc(rogue, func(r net.HardwareAddr) bool { return slices.Equal(r, h) })
		if !known && !dup {
			rogue = append(rogue, h)
		}
	}
	slices.SortFunc(rogue, func(a, b net.HardwareAddr) int { return slices.Compare(a, b) })
	return rogue
}

// conflictFilter debounces the ARP checks of VIPs. A node that just became MASTER may
// hold the VIP a moment before its first advert reaches the watcher, so a conflict
// counts only once seen in confirm consecutive rounds; it clears at the first clean
// round.
type conflictFilter struct {
	confirm int
	streak  map[netip.Addr]int
	raised  map[netip.Addr]bool
}

func newConflictFilter(confirm int) *conflictFilter {
	return &conflictFilter{confirm: max(confirm, 1), streak: make(map[netip.Addr]int), raised: make(map[netip.Addr]bool)}
}

// observe feeds one round's verdict for vip and says whether to report the conflict
// now (raise) or report that it cleared (cleared).
func (f *conflictFilter) observe(vip netip.Addr, conflict bool) (raise, cleared bool) {
	if !conflict {
		f.streak[vip] = 0
		if f.raised[vip] {
			f.raised[vip] = false
			return false, true
		}
		return false, false
	}
	f.streak[vip]++
	if !f.raised[vip] && f.streak[vip] >= f.confirm {
		f.raised[vip] = true
		return true, false
	}
	return false, false
}
