package ipvstest

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// svcTabBits is IP_VS_SVC_TAB_BITS: each of the kernel's two service tables has 256
// buckets.
const svcTabBits = 8

// bucket returns the service's table (0: by address, 1: by firewall mark) and its bucket
// there, as ip_vs_svc_hashkey and ip_vs_svc_fwm_hashkey compute them with seed standing
// for ((size_t)ipvs >> 8).
func bucket(svc *service, seed uint8) (table, idx uint32) {
	const mask = 1<<svcTabBits - 1
	if svc.fwmark != 0 {
		return 1, (uint32(seed) ^ svc.fwmark) & mask
	}
	porth := uint32(binary.BigEndian.Uint16(svc.port[:]))
	// The address is folded in network byte order and then converted with ntohl, so
	// reading the words big-endian gives the same value.
	fold := binary.BigEndian.Uint32(svc.addr[:4])
	if svc.af == afINET6 {
		fold ^= binary.BigEndian.Uint32(svc.addr[4:8]) ^ binary.BigEndian.Uint32(svc.addr[8:12]) ^
			binary.BigEndian.Uint32(svc.addr[12:16])
	}
	ahash := fold ^ uint32(seed)
	return 0, (uint32(svc.protocol) ^ ahash ^ (porth >> svcTabBits) ^ porth) & mask
}

// dumpOrder returns the services in the order the kernel's dump lists them: the address
// table's buckets, then the firewall-mark table's, newest first within a bucket
// (hlist_add_head_rcu).
func (s *Server) dumpOrder() []*service {
	out := slices.Clone(s.services)
	seed := s.cfg.ServiceHashSeed
	slices.SortFunc(out, func(a, b *service) int {
		ta, ia := bucket(a, seed)
		tb, ib := bucket(b, seed)
		if c := cmp.Compare(ta, tb); c != 0 {
			return c
		}
		if c := cmp.Compare(ia, ib); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	return out
}
