package main

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvskit/lvskit/ipvs"
)

type format int

const (
	fmtDefault format = iota
	fmtStats
	fmtRate
	fmtThresholds
	fmtPersistentConn
	fmtTunInfo
)

type listOpts struct {
	f     format
	exact bool
}

func listFormat(c *command) listOpts {
	o := listOpts{exact: c.exact}
	switch {
	case c.stats:
		o.f = fmtStats
	case c.rate:
		o.f = fmtRate
	case c.thresholds:
		o.f = fmtThresholds
	case c.persistentConn:
		o.f = fmtPersistentConn
	case c.tunInfo:
		o.f = fmtTunInfo
	}
	return o
}

// addrWords returns a as libipvs reads it for comparisons: the 32-bit words of the
// kernel's address union, IPv4 in the first word and zeros after it. fam decides the
// layout, so that an IPv4-mapped address of an IPv6 service or destination is read as the
// 16-byte address it is in the kernel.
func addrWords(a netip.Addr, fam ipvs.Family) [4]uint32 {
	if fam != ipvs.IPv6 && (a.Is4() || a.Is4In6()) {
		v := a.Unmap().As4()
		return [4]uint32{be32(v[:])}
	}
	v := a.As16()
	return [4]uint32{be32(v[0:]), be32(v[4:]), be32(v[8:]), be32(v[12:])}
}

// cmpWords compares the first n words of a and b as libipvs does: by an int
// subtraction, so that differences of 2^31 or more wrap exactly as in ipvsadm.
func cmpWords(a, b [4]uint32, n int) int {
	for i := 0; i < n; i++ {
		if r := int(int32(a[i] - b[i])); r != 0 {
			return r
		}
	}
	return 0
}

// sortKey is what libipvs compares of a service or a destination, read once per
// value so that the comparisons touch small structs only.
type sortKey struct {
	fwmark   uint32
	family   int
	protocol int
	words    [4]uint32
	nwords   int // words compared: 1 for IPv4, 4 for IPv6
	port     int
	svc      *ipvs.ServiceStatus
	dst      *ipvs.DestinationStatus
}

// cmpServices orders services as libipvs's ipvs_cmp_services does: fwmark, family and
// protocol by subtraction, then the address (one word for IPv4, four for IPv6), then the
// port.
func cmpServices(a, b *sortKey) int {
	if r := int(int32(a.fwmark - b.fwmark)); r != 0 {
		return r
	}
	if r := a.family - b.family; r != 0 {
		return r
	}
	if r := a.protocol - b.protocol; r != 0 {
		return r
	}
	if r := cmpWords(a.words, b.words, a.nwords); r != 0 {
		return r
	}
	return a.port - b.port
}

// cmpDests orders destinations as libipvs's ipvs_cmp_dests does: without comparing
// families first, by the first destination's family: an IPv4 one compares the first
// 32-bit words only, an IPv6 one all four, with an IPv4 other read as its address
// followed by zeros.
func cmpDests(a, b *sortKey) int {
	if r := cmpWords(a.words, b.words, a.nwords); r != 0 {
		return r
	}
	return a.port - b.port
}

func wordsOf(fam ipvs.Family) int {
	if fam == ipvs.IPv6 {
		return 4
	}
	return 1
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// sortTable returns the services of snap in ipvsadm's order, and sorts each service's
// destinations in place. It sorts small keys, not the large status values, and copies
// each value once into place.
func sortTable(snap []ipvs.ServiceStatus) []ipvs.ServiceStatus {
	keys := make([]sortKey, len(snap))
	ptrs := make([]*sortKey, len(snap))
	for i := range snap {
		s := &snap[i].Service
		fam := s.Family
		if fam == 0 {
			fam = familyOf(s.Address)
		}
		keys[i] = sortKey{fwmark: s.FWMark, family: int(fam), protocol: int(s.Protocol),
			words: addrWords(s.Address, fam), nwords: wordsOf(fam), port: int(s.Port), svc: &snap[i]}
		ptrs[i] = &keys[i]
	}
	msortFunc(ptrs, nil, cmpServices)
	var dkeys []sortKey
	var dptrs, dtmp []*sortKey
	var dvals []ipvs.DestinationStatus
	out := make([]ipvs.ServiceStatus, len(snap))
	for i, k := range ptrs {
		out[i] = *k.svc
		ds := out[i].Destinations
		if len(ds) < 2 {
			continue
		}
		dkeys, dptrs = dkeys[:0], dptrs[:0]
		for j := range ds {
			d := &ds[j].Destination
			fam := d.Family
			if fam == 0 {
				fam = familyOf(d.Address)
			}
			dkeys = append(dkeys, sortKey{words: addrWords(d.Address, fam), nwords: wordsOf(fam), port: int(d.Port), dst: &ds[j]})
		}
		for j := range dkeys {
			dptrs = append(dptrs, &dkeys[j])
		}
		if cap(dtmp) < len(ds) {
			dtmp = make([]*sortKey, len(ds))
		}
		msortFunc(dptrs, dtmp[:len(ds)], cmpDests)
		dvals = dvals[:0]
		for _, k := range dptrs {
			dvals = append(dvals, *k.dst)
		}
		copy(ds, dvals)
	}
	return out
}

// msortFunc sorts s as glibc's qsort (2.36, Debian 12) does for ipvsadm: a top-down
// merge sort, left half first, taking from the left run while cmp <= 0. libipvs's
// comparisons are not transitive (fwmarks and addresses compared by a wrapping int
// subtraction), so the order depends on the algorithm, and only the same one gives
// ipvsadm's order (fwmarks of 2^31 and more end up after the other services).
//
// tmp, when not nil, is scratch space of len(s).
func msortFunc[T any](s, tmp []T, cmp func(a, b T) int) {
	if len(s) < 2 {
		return
	}
	if tmp == nil {
		tmp = make([]T, len(s))
	}
	msort(s, tmp, cmp)
}

func msort[T any](s, tmp []T, cmp func(a, b T) int) {
	n := len(s)
	if n < 2 {
		return
	}
	n1 := n / 2
	msort(s[:n1], tmp, cmp)
	msort(s[n1:], tmp, cmp)
	l, r, out := s[:n1], s[n1:], tmp[:0]
	for len(l) > 0 && len(r) > 0 {
		if cmp(l[0], r[0]) <= 0 {
			out, l = append(out, l[0]), l[1:]
		} else {
			out, r = append(out, r[0]), r[1:]
		}
	}
	out = append(out, l...)
	copy(s, out) // what is left of r is already in place
}

// hostPort is "192.0.2.1:80" or "[2001:db8::1]:80"; an address of family IPv6 prints as
// IPv6 even when it is IPv4-mapped ("[::ffff:192.0.2.1]:53"), as ipvsadm prints it.
func hostPort(a netip.Addr, fam ipvs.Family, port uint16) string {
	return string(appendHostPort(nil, a, fam, port))
}

// svcName is ipvsadm's service column: "TCP  192.0.2.1:80", "FWM  100", "FWM  100 IPv6".
func svcName(s ipvs.Service) string {
	if s.FWMark != 0 {
		// ipvsadm 1.31 prints the mark with %d: marks of 2^31 and more come out
		// negative (fixed after 1.31), and ipvsctl prints what 1.31 prints.
		if s.Family == ipvs.IPv6 {
			return fmt.Sprintf("FWM  %d IPv6", int32(s.FWMark))
		}
		return fmt.Sprintf("FWM  %d", int32(s.FWMark))
	}
	return fmt.Sprintf("%-4s %s", s.Protocol, hostPort(s.Address, s.Family, s.Port))
}

// schedFlags names the scheduler flags of s as ipvsadm does, and reports whether any
// is set. For sh and mh only their two named flags are listed, so a third flag alone
// prints as an empty list (" ()" in -L, "-b " in -S), as in ipvsadm.
func schedFlags(s ipvs.Service) (string, bool) {
	var out []string
	names := [3]string{"flag-1", "flag-2", "flag-3"}
	switch s.Scheduler {
	case "sh":
		names = [3]string{"sh-fallback", "sh-port", ""}
	case "mh":
		names = [3]string{"mh-fallback", "mh-port", ""}
	}
	for i, f := range []ipvs.ServiceFlags{ipvs.FlagSched1, ipvs.FlagSched2, ipvs.FlagSched3} {
		if s.Flags&f != 0 && names[i] != "" {
			out = append(out, names[i])
		}
	}
	return strings.Join(out, ","), s.Flags&(ipvs.FlagSched1|ipvs.FlagSched2|ipvs.FlagSched3) != 0
}

func maskString(s ipvs.Service) string {
	if s.Family != ipvs.IPv6 && s.IPv4Mask.IsValid() {
		return s.IPv4Mask.Unmap().String()
	}
	if s.Netmask == 0 {
		return ""
	}
	if s.Family == ipvs.IPv6 {
		return fmt.Sprint(s.Netmask)
	}
	m := ^uint32(0) << (32 - s.Netmask)
	return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
}

// largenum prints a counter as ipvsadm's print_largenum does.
func largenum(n uint64, exact bool) string {
	if exact {
		s := fmt.Sprint(n)
		w := len(s) + 1
		if len(s) <= 8 {
			w = 9
		}
		return fmt.Sprintf("%*d", w, n)
	}
	switch {
	case n < 100000000:
		return fmt.Sprintf("%9d", n)
	case n < 1000000000:
		return fmt.Sprintf("%8dK", n/1000)
	case n < 100000000000:
		return fmt.Sprintf("%8dM", n/1000000)
	case n < 100000000000000:
		return fmt.Sprintf("%8dG", n/1000000000)
	}
	return fmt.Sprintf("%8dT", n/1000000000000)
}

func writeList(w io.Writer, info ipvs.Info, snap []ipvs.ServiceStatus, o listOpts, sorted, header bool) {
	if sorted {
		snap = sortTable(snap)
	}
	if o.f == fmtDefault {
		writeListDefault(w, info, snap, header)
		return
	}
	if header {
		fmt.Fprintf(w, "IP Virtual Server version %s (size=%d)\n", info.VersionString(), info.ConnTableSize)
	}
	switch o.f {
	case fmtStats:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	case fmtRate:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
	case fmtThresholds:
		fmt.Fprint(w, "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n  -> RemoteAddress:Port\n")
	case fmtPersistentConn:
		fmt.Fprint(w, "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n  -> RemoteAddress:Port\n")
	case fmtTunInfo:
		fmt.Fprint(w, "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n")
	default:
		fmt.Fprint(w, "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
	for _, st := range snap {
		s := st.Service
		switch o.f {
		case fmtStats, fmtRate:
			fmt.Fprintf(w, "%-33s", svcName(s))
			writeNums(w, st.Stats, o)
		default:
			fmt.Fprintf(w, "%s %s", svcName(s), s.Scheduler)
			if f, any := schedFlags(s); any {
				fmt.Fprintf(w, " (%s)", f)
			}
			if s.Flags&ipvs.FlagPersistent != 0 {
				fmt.Fprintf(w, " persistent %d", int64(s.Timeout.Seconds()))
				if m := maskString(s); m != "" {
					fmt.Fprintf(w, " mask %s", m)
				}
				if s.PersistenceEngine != "" {
					fmt.Fprintf(w, " pe %s", s.PersistenceEngine)
				}
			}
			if s.Flags&ipvs.FlagOnePacket != 0 {
				fmt.Fprint(w, " ops")
			}
		}
		fmt.Fprintln(w)
		for _, ds := range st.Destinations {
			d := ds.Destination
			name := hostPort(d.Address, d.Family, d.Port)
			switch o.f {
			case fmtStats:
				fmt.Fprintf(w, "  -> %-28s", name)
				writeNums(w, ds.Stats, o)
				fmt.Fprintln(w)
			case fmtRate:
				// ipvsadm prints a destination's CPS, InPPS and OutPPS in full (never
				// with K, M, ...), and only the byte rates as the service's columns.
				fmt.Fprintf(w, "  -> %-28s %8d %8d %8d%s%s\n", name, ds.Stats.CPS, ds.Stats.PPSIn, ds.Stats.PPSOut,
					largenum(ds.Stats.BPSIn, o.exact), largenum(ds.Stats.BPSOut, o.exact))
			case fmtThresholds:
				fmt.Fprintf(w, "  -> %-28s %-10d %-10d %-10d %-10d\n", name, d.UpperThreshold, d.LowerThreshold, ds.ActiveConns, ds.InactiveConns)
			case fmtPersistentConn:
				fmt.Fprintf(w, "  -> %-28s %-9d %-11d %-10d %-10d\n", name, d.Weight, ds.PersistentConns, ds.ActiveConns, ds.InactiveConns)
			case fmtTunInfo:
				fmt.Fprintf(w, "  -> %-28s %-7s %-13s %-6d %-10d %-10d\n", name, d.Forward, tunInfo(d), d.Weight, ds.ActiveConns, ds.InactiveConns)
			default:
				fmt.Fprintf(w, "  -> %-28s %-7s %-6d %-10d %-10d\n", name, d.Forward, d.Weight, ds.ActiveConns, ds.InactiveConns)
			}
		}
	}
}

// writeListDefault is writeList's default format, appended to one buffer as writeSave
// does.
func writeListDefault(w io.Writer, info ipvs.Info, snap []ipvs.ServiceStatus, header bool) {
	b := make([]byte, 0, flushAt+512)
	if header {
		b = fmt.Appendf(b, "IP Virtual Server version %s (size=%d)\n", info.VersionString(), info.ConnTableSize)
	}
	b = append(b, "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"...)
	for _, st := range snap {
		s := st.Service
		if s.FWMark != 0 {
			b = append(b, svcName(s)...)
		} else {
			b = appendPaddedString(b, s.Protocol.String(), 4)
			b = append(b, ' ')
			b = appendHostPort(b, s.Address, s.Family, s.Port)
		}
		b = append(b, ' ')
		b = append(b, s.Scheduler...)
		if f, any := schedFlags(s); any {
			b = append(b, " ("...)
			b = append(b, f...)
			b = append(b, ')')
		}
		if s.Flags&ipvs.FlagPersistent != 0 {
			b = append(b, " persistent "...)
			b = strconv.AppendInt(b, int64(s.Timeout.Seconds()), 10)
			if m := maskString(s); m != "" {
				b = append(b, " mask "...)
				b = append(b, m...)
			}
			if s.PersistenceEngine != "" {
				b = append(b, " pe "...)
				b = append(b, s.PersistenceEngine...)
			}
		}
		if s.Flags&ipvs.FlagOnePacket != 0 {
			b = append(b, " ops"...)
		}
		b = append(b, '\n')
		for _, ds := range st.Destinations {
			d := ds.Destination
			b = append(b, "  -> "...)
			start := len(b)
			b = appendHostPort(b, d.Address, d.Family, d.Port)
			for len(b)-start < 28 {
				b = append(b, ' ')
			}
			b = append(b, ' ')
			b = appendPaddedString(b, d.Forward.String(), 7)
			b = append(b, ' ')
			b = appendPadded(b, int64(d.Weight), 6)
			b = append(b, ' ')
			b = appendPadded(b, int64(ds.ActiveConns), 10)
			b = append(b, ' ')
			b = appendPadded(b, int64(ds.InactiveConns), 10)
			b = append(b, '\n')
		}
		if len(b) >= flushAt {
			_, _ = w.Write(b)
			b = b[:0]
		}
	}
	_, _ = w.Write(b)
}

// tunInfo is ipvsadm's TunnelInfo column: "ipip", "gue:PORT:CSUM", "gre:CSUM" (CSUM is
// -c, +c or r+c for no checksum, checksum, remote checksum), or "n/a" for a destination
// that is not tunnelled. ipvsadm formats it into 16 bytes: it is cut at 15 characters.
func tunInfo(d ipvs.Destination) string {
	s := tunInfoFull(d)
	if len(s) > 15 {
		s = s[:15]
	}
	return s
}

func tunInfoFull(d ipvs.Destination) string {
	if d.Forward != ipvs.Tunnel {
		return "n/a"
	}
	csum := "-c" // as ipvsadm 1.31 abbreviates the checksum options
	switch {
	case d.TunnelFlags&ipvs.TunnelRemoteChecksum != 0:
		csum = "r+c"
	case d.TunnelFlags&ipvs.TunnelChecksum != 0:
		csum = "+c"
	}
	switch d.TunnelType {
	case ipvs.TunnelIPIP:
		return "ipip"
	case ipvs.TunnelGUE:
		return fmt.Sprintf("gue:%d:%s", d.TunnelPort, csum)
	case ipvs.TunnelGRE:
		return "gre:" + csum
	}
	return "n/a"
}

func writeNums(w io.Writer, st ipvs.Stats, o listOpts) {
	vals := []uint64{st.Connections, st.PacketsIn, st.PacketsOut, st.BytesIn, st.BytesOut}
	if o.f == fmtRate {
		vals = []uint64{st.CPS, st.PPSIn, st.PPSOut, st.BPSIn, st.BPSOut}
	}
	for _, v := range vals {
		fmt.Fprint(w, largenum(v, o.exact))
	}
}

func fwdSwitch(m ipvs.ForwardMethod) string {
	switch m {
	case ipvs.Masquerade:
		return "-m"
	case ipvs.Tunnel:
		return "-i"
	}
	return "-g"
}

// writeSave prints the table as ipvsadm -Sn does. Lines are appended to one buffer
// with strconv and netip's Append functions (fmt per line dominated a large table's
// save under emulation) and written in large pieces.
func writeSave(w io.Writer, snap []ipvs.ServiceStatus, sorted bool) {
	if sorted {
		snap = sortTable(snap)
	}
	b := make([]byte, 0, flushAt+512)
	var rule []byte
	for _, st := range snap {
		s := st.Service
		rule = appendSvcRule(rule[:0], s)
		b = append(b, "-A "...)
		b = append(b, rule...)
		b = append(b, " -s "...)
		b = append(b, s.Scheduler...)
		if s.Flags&ipvs.FlagPersistent != 0 {
			b = append(b, " -p "...)
			b = strconv.AppendInt(b, int64(s.Timeout.Seconds()), 10)
			if m := maskString(s); m != "" {
				b = append(b, " -M "...)
				b = append(b, m...)
			}
		}
		// -S names the persistence engine even without -p (-L only with it).
		if s.PersistenceEngine != "" {
			b = append(b, " --pe "...)
			b = append(b, s.PersistenceEngine...)
		}
		if s.Flags&ipvs.FlagOnePacket != 0 {
			b = append(b, " -o"...)
		}
		if f, any := schedFlags(s); any {
			b = append(b, " -b "...)
			b = append(b, f...)
		}
		b = append(b, '\n')
		for _, ds := range st.Destinations {
			d := ds.Destination
			b = append(b, "-a "...)
			b = append(b, rule...)
			b = append(b, " -r "...)
			b = appendHostPort(b, d.Address, d.Family, d.Port)
			b = append(b, ' ')
			b = append(b, fwdSwitch(d.Forward)...)
			b = append(b, " -w "...)
			b = strconv.AppendInt(b, int64(d.Weight), 10)
			if d.Forward == ipvs.Tunnel {
				b = append(b, " --tun-type "...)
				b = append(b, d.TunnelType.String()...)
				if d.TunnelType == ipvs.TunnelGUE {
					b = append(b, " --tun-port "...)
					b = strconv.AppendUint(b, uint64(d.TunnelPort), 10)
				}
				if d.TunnelType == ipvs.TunnelGUE || d.TunnelType == ipvs.TunnelGRE {
					switch {
					case d.TunnelFlags&ipvs.TunnelRemoteChecksum != 0:
						b = append(b, " --tun-remcsum"...)
					case d.TunnelFlags&ipvs.TunnelChecksum != 0:
						b = append(b, " --tun-csum"...)
					default:
						b = append(b, " --tun-nocsum"...)
					}
				}
			}
			b = append(b, '\n')
			if len(b) >= flushAt {
				_, _ = w.Write(b)
				b = b[:0]
			}
		}
		if len(b) >= flushAt {
			_, _ = w.Write(b)
			b = b[:0]
		}
	}
	_, _ = w.Write(b)
}

// flushAt is the buffered size at which writeSave and writeList write out.
const flushAt = 32 << 10

func appendHostPort(b []byte, a netip.Addr, fam ipvs.Family, port uint16) []byte {
	if fam == ipvs.IPv6 && a.IsValid() {
		a = netip.AddrFrom16(a.As16())
	} else {
		a = a.Unmap()
	}
	return netip.AddrPortFrom(a, port).AppendTo(b)
}

// appendSvcRule appends svcRule(s).
func appendSvcRule(b []byte, s ipvs.Service) []byte {
	if s.FWMark != 0 {
		b = append(b, "-f "...)
		b = strconv.AppendInt(b, int64(int32(s.FWMark)), 10) // signed, as in svcName
		if s.Family == ipvs.IPv6 {
			b = append(b, " -6"...)
		}
		return b
	}
	switch s.Protocol {
	case ipvs.TCP:
		b = append(b, "-t "...)
	case ipvs.UDP:
		b = append(b, "-u "...)
	case ipvs.SCTP:
		b = append(b, "--sctp-service "...)
	default:
		b = append(b, ' ')
	}
	return appendHostPort(b, s.Address, s.Family, s.Port)
}

// appendPadded appends the decimal v left-aligned in width columns, as %-*d does.
func appendPadded(b []byte, v int64, width int) []byte {
	start := len(b)
	b = strconv.AppendInt(b, v, 10)
	for len(b)-start < width {
		b = append(b, ' ')
	}
	return b
}

// appendPaddedString appends s left-aligned in width columns, as %-*s does.
func appendPaddedString(b []byte, s string, width int) []byte {
	b = append(b, s...)
	for i := len(s); i < width; i++ {
		b = append(b, ' ')
	}
	return b
}

func writeDaemons(w io.Writer, ds []ipvs.Daemon) {
	for _, d := range ds {
		fmt.Fprintf(w, "%s sync daemon (mcast=%s, syncid=%d", d.State, d.Interface, d.SyncID)
		if d.MaxLen != 0 {
			fmt.Fprintf(w, ", maxlen=%d", d.MaxLen)
		}
		if d.Group.IsValid() {
			fmt.Fprintf(w, ", group=%s", d.Group)
		}
		if d.Port != 0 {
			fmt.Fprintf(w, ", port=%d", d.Port)
		}
		if d.TTL != 0 {
			fmt.Fprintf(w, ", ttl=%d", d.TTL)
		}
		fmt.Fprintln(w, ")")
	}
}
