package main

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// The layout of a run: N instances spread over segments (one bridge each) of at most
// maxPerSegment instances, because a VRID identifies a virtual router only on one
// LAN. Instance i runs on segment i/maxPerSegment with VRID i%maxPerSegment+1.
const maxPerSegment = 255

// maxSegments bounds the segments: each takes a /29 of 192.0.2.0/24.
const maxSegments = 32

// advertInt is every instance's advert_int.
const advertInt = 100 * time.Millisecond

// Priorities of the two directors: A must win every election.
const (
	prioA = 150
	prioB = 100
)

// host names one of the three machines on every segment.
type host int

const (
	hostA host = iota // the director that should be MASTER (priority 150)
	hostB             // the backup (priority 100)
	hostO             // the observer, which only listens
)

func (h host) String() string { return [...]string{"a", "b", "o"}[h] }

// instance is one vrrp_instance of the run.
type instance struct {
	Name    string
	Segment int // index of the segment (bridge), and of ethN on each host
	VRID    int
	VIP     netip.Addr
}

// segments is the number of segments N instances need.
func segments(n int) int { return (n + maxPerSegment - 1) / maxPerSegment }

// ifName is the interface of a host on segment s.
func ifName(s int) string { return fmt.Sprintf("eth%d", s) }

// hostAddr is host h's address on segment s: segment s is 192.0.2.8s/29, with A at
// .8s+1, B at .8s+2 and the observer at .8s+3.
func hostAddr(s int, h host) netip.Addr {
	return netip.AddrFrom4([4]byte{192, 0, 2, byte(8*s + 1 + int(h))})
}

// vipPool is the number of distinct VIPs: 198.51.100.1-254 and 203.0.113.1-254.
const vipPool = 2 * 254

// vipFor is the VIP of instance i. Beyond vipPool instances the addresses repeat,
// but never on one segment (vipPool > maxPerSegment): the same /32 then sits on two
// interfaces of a host, each in its own virtual router, which Linux allows.
func vipFor(i int) netip.Addr {
	k := i % vipPool
	if k < 254 {
		return netip.AddrFrom4([4]byte{198, 51, 100, byte(k + 1)})
	}
	return netip.AddrFrom4([4]byte{203, 0, 113, byte(k - 254 + 1)})
}

// layout lists the n instances of a run.
func layout(n int) ([]instance, error) {
	if n < 1 || segments(n) > maxSegments {
		return nil, fmt.Errorf("%d instances: want 1 to %d", n, maxSegments*maxPerSegment)
	}
	out := make([]instance, n)
	for i := range out {
		out[i] = instance{
			Name:    fmt.Sprintf("VI_%d", i+1),
			Segment: i / maxPerSegment,
			VRID:    i%maxPerSegment + 1,
			VIP:     vipFor(i),
		}
	}
	return out, nil
}

// keepalivedConf is the keepalived.conf both implementations run on host h: every
// instance VRRPv3 at advert_int 0.1 with one /32 VIP, BACKUP with h's priority (A
// preempts B), no scripts, no virtual servers.
func keepalivedConf(insts []instance, h host) string {
	prio := prioA
	if h == hostB {
		prio = prioB
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n\trouter_id bench_%s\n\tvrrp_version 3\n}\n", h)
	for _, in := range insts {
		fmt.Fprintf(&b, "vrrp_instance %s {\n", in.Name)
		fmt.Fprintf(&b, "\tstate BACKUP\n\tinterface %s\n\tvirtual_router_id %d\n", ifName(in.Segment), in.VRID)
		fmt.Fprintf(&b, "\tpriority %d\n\tadvert_int %s\n", prio, seconds(advertInt))
		fmt.Fprintf(&b, "\tvirtual_ipaddress {\n\t\t%s/32\n\t}\n}\n", in.VIP)
	}
	return b.String()
}

// seconds formats d as keepalived's decimal seconds.
func seconds(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".")
}
