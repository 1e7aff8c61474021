package main

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"
)

// advert is a VRRP advertisement seen on the wire.
type advert struct {
	At       time.Time // the kernel's receive timestamp
	From     netip.Addr
	MAC      string // source MAC address
	Version  int
	VRID     int
	Priority int
}

// parseAdvert decodes an Ethernet frame carrying an IPv4 VRRP advertisement (IP
// protocol 112, RFC 9568 5.1); ok is false for any other frame.
func parseAdvert(f []byte) (a advert, ok bool) {
	const ethIPv4, protoVRRP = 0x0800, 112
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:14]) != ethIPv4 {
		return a, false
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < 20 || ip[9] != protoVRRP || len(ip) < ihl+8 {
		return a, false
	}
	v := ip[ihl:]
	// Type 1 is ADVERTISEMENT, the only type VRRP defines.
	if v[0]&0x0f != 1 {
		return a, false
	}
	a.From, _ = netip.AddrFromSlice(ip[12:16])
	a.MAC = net.HardwareAddr(f[6:12]).String()
	a.Version, a.VRID, a.Priority = int(v[0]>>4), int(v[1]), int(v[2])
	return a, true
}

// resignGap finds, in adverts for vrid, the first priority-0 advert from resigner
// and the first advert from successor after it, and returns the time between them.
// ok is false when either is missing.
func resignGap(ads []advert, vrid int, resigner, successor netip.Addr) (resign, first advert, ok bool) {
	i := 0
	for ; i < len(ads); i++ {
		if a := ads[i]; a.VRID == vrid && a.From == resigner && a.Priority == 0 {
			resign = a
			break
		}
	}
	if i == len(ads) {
		return resign, first, false
	}
	for _, a := range ads[i+1:] {
		if a.VRID == vrid && a.From == successor && a.Priority > 0 {
			return resign, a, true
		}
	}
	return resign, first, false
}

// takeoverGap finds, in adverts for vrid, the last advert from the old master
// before the first advert from successor, and that first advert. ok is false when
// either is missing.
func takeoverGap(ads []advert, vrid int, old, successor netip.Addr) (last, first advert, ok bool) {
	var seenOld bool
	for _, a := range ads {
		if a.VRID != vrid {
			continue
		}
		switch a.From {
		case old:
			last, seenOld = a, true
		case successor:
			return last, a, seenOld
		}
	}
	return last, first, false
}
