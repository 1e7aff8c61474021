package main

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
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

// cmpAddr orders addresses as libipvs does: 32-bit words compared by an int
// subtraction, so differences of 2^31 or more wrap exactly as in ipvsadm.
func cmpAddr(a, b netip.Addr) int {
	a16, b16 := a.Unmap().As16(), b.Unmap().As16()
	if a.Unmap().Is4() && b.Unmap().Is4() {
		x, y := a.Unmap().As4(), b.Unmap().As4()
		return int(int32(be32(x[:]) - be32(y[:])))
	}
	for i := 0; i < 16; i += 4 {
		if r := int(int32(be32(a16[i:]) - be32(b16[i:]))); r != 0 {
			return r
		}
	}
	return 0
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func sortTable(snap []ipvs.ServiceStatus) []ipvs.ServiceStatus {
	snap = slices.Clone(snap)
	slices.SortStableFunc(snap, func(x, y ipvs.ServiceStatus) int {
		a, b := x.Service, y.Service
		if r := int(int32(a.FWMark - b.FWMark)); r != 0 {
			return r
		}
		if r := int(a.Family) - int(b.Family); r != 0 {
			return r
		}
		if r := int(a.Protocol) - int(b.Protocol); r != 0 {
			return r
		}
		if r := cmpAddr(a.Address, b.Address); r != 0 {
			return r
		}
		return int(a.Port) - int(b.Port)
	})
	for i := range snap {
		ds := slices.Clone(snap[i].Destinations)
		slices.SortStableFunc(ds, func(x, y ipvs.DestinationStatus) int {
			a, b := x.Destination, y.Destination
			if r := int(a.Family) - int(b.Family); r != 0 {
				return r
			}
			if r := cmpAddr(a.Address, b.Address); r != 0 {
				return r
			}
			return int(a.Port) - int(b.Port)
		})
		snap[i].Destinations = ds
	}
	return snap
}

func hostPort(a netip.Addr, port uint16) string { return netip.AddrPortFrom(a.Unmap(), port).String() }

// svcName is ipvsadm's service column: "TCP  192.0.2.1:80", "FWM  100", "FWM  100 IPv6".
func svcName(s ipvs.Service) string {
	if s.FWMark != 0 {
		if s.Family == ipvs.IPv6 {
			return fmt.Sprintf("FWM  %d IPv6", s.FWMark)
		}
		return fmt.Sprintf("FWM  %d", s.FWMark)
	}
	return fmt.Sprintf("%-4s %s", s.Protocol, hostPort(s.Address, s.Port))
}

// svcRule is the service in rule form: "-t 192.0.2.1:80", "-f 100 -6".
func svcRule(s ipvs.Service) string {
	if s.FWMark != 0 {
		if s.Family == ipvs.IPv6 {
			return fmt.Sprintf("-f %d -6", s.FWMark)
		}
		return fmt.Sprintf("-f %d", s.FWMark)
	}
	opt := map[ipvs.Protocol]string{ipvs.TCP: "-t", ipvs.UDP: "-u", ipvs.SCTP: "--sctp-service"}[s.Protocol]
	return opt + " " + hostPort(s.Address, s.Port)
}

func schedFlags(s ipvs.Service) string {
	var out []string
	names := [3]string{"flag-1", "flag-2", "flag-3"}
	switch s.Scheduler {
	case "sh":
		names[0], names[1] = "sh-fallback", "sh-port"
	case "mh":
		names[0], names[1] = "mh-fallback", "mh-port"
	}
	for i, f := range []ipvs.ServiceFlags{ipvs.FlagSched1, ipvs.FlagSched2, ipvs.FlagSched3} {
		if s.Flags&f != 0 {
			out = append(out, names[i])
		}
	}
	return strings.Join(out, ",")
}

func maskString(s ipvs.Service) string {
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
			if f := schedFlags(s); f != "" {
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
			name := hostPort(d.Address, d.Port)
			switch o.f {
			case fmtStats, fmtRate:
				fmt.Fprintf(w, "  -> %-28s", name)
				writeNums(w, ds.Stats, o)
				fmt.Fprintln(w)
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

// writeSave prints the table as ipvsadm -Sn does.
func writeSave(w io.Writer, snap []ipvs.ServiceStatus, sorted bool) {
	if sorted {
		snap = sortTable(snap)
	}
	for _, st := range snap {
		s := st.Service
		rule := svcRule(s)
		fmt.Fprintf(w, "-A %s -s %s", rule, s.Scheduler)
		if s.Flags&ipvs.FlagPersistent != 0 {
			fmt.Fprintf(w, " -p %d", int64(s.Timeout.Seconds()))
			if m := maskString(s); m != "" {
				fmt.Fprintf(w, " -M %s", m)
			}
			if s.PersistenceEngine != "" {
				fmt.Fprintf(w, " --pe %s", s.PersistenceEngine)
			}
		}
		if s.Flags&ipvs.FlagOnePacket != 0 {
			fmt.Fprint(w, " -o")
		}
		if f := schedFlags(s); f != "" {
			fmt.Fprintf(w, " -b %s", f)
		}
		fmt.Fprintln(w)
		for _, ds := range st.Destinations {
			d := ds.Destination
			fmt.Fprintf(w, "-a %s -r %s %s -w %d", rule, hostPort(d.Address, d.Port), fwdSwitch(d.Forward), d.Weight)
			if d.Forward == ipvs.Tunnel {
				fmt.Fprintf(w, " --tun-type %s", d.TunnelType)
				if d.TunnelType == ipvs.TunnelGUE {
					fmt.Fprintf(w, " --tun-port %d", d.TunnelPort)
				}
				if d.TunnelType == ipvs.TunnelGUE || d.TunnelType == ipvs.TunnelGRE {
					switch {
					case d.TunnelFlags&ipvs.TunnelRemoteChecksum != 0:
						fmt.Fprint(w, " --tun-remcsum")
					case d.TunnelFlags&ipvs.TunnelChecksum != 0:
						fmt.Fprint(w, " --tun-csum")
					default:
						fmt.Fprint(w, " --tun-nocsum")
					}
				}
			}
			fmt.Fprintln(w)
		}
	}
}

func writeDaemons(w io.Writer, ds []ipvs.Daemon) {
	for _, d := range ds {
		fmt.Fprintf(w, "%s sync daemon (mcast=%s, syncid=%d)\n", d.State, d.Interface, d.SyncID)
	}
}
