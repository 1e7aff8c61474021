package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"strconv"

	"github.com/lvskit/lvskit/ipvs"
)

// listTable reads the table for -S and for -L's default format: the services from one
// netlink dump, their destinations from c.tableFile (/proc/net/ip_vs, the kernel's text
// listing of the caller's network namespace: every destination with its address, port,
// forwarding method, weight and connection counts). One read of that file costs the
// kernel far less than a netlink dump per service (each dump takes the IPVS mutex and
// three system calls), and it holds every field those formats print, but for tunnels
// (type, port and checksum flags). A service whose destinations the file cannot give
// exactly is dumped over netlink as before: one with a tunnel, a firewall mark the file
// cannot tell from the other family's same mark, and any service missing from the file
// or listed oddly in it. When more than maxSerialDumps services need a dump (a table
// of tunnels, no file on another OS or without /proc), the whole table comes from
// Snapshot instead.
func listTable(ctx context.Context, c *kernel) ([]ipvs.ServiceStatus, error) {
	// The file is read and parsed beside the services' netlink dump.
	parsed := make(chan map[procKey][]ipvs.DestinationStatus, 1)
	go func() {
		var dests map[procKey][]ipvs.DestinationStatus
		if c.tableFile != "" {
			if b, err := os.ReadFile(c.tableFile); err == nil {
				dests = parseTableFile(b)
			}
		}
		parsed <- dests
	}()
	svcs, err := c.Services(ctx)
	dests := <-parsed
	if err != nil {
		return nil, err
	}
	marks := make(map[uint32]int)
	for _, st := range svcs {
		if st.Service.FWMark != 0 {
			marks[st.Service.FWMark]++
		}
	}
	var missing []int // the services to dump over netlink
	for i := range svcs {
		s := svcs[i].Service
		ds, ok := dests[keyOfService(s)]
		if ok && (s.FWMark == 0 || marks[s.FWMark] == 1) {
			svcs[i].Destinations = ds
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) > maxSerialDumps {
		// Many services the file cannot give (a table of tunnels, no file): Snapshot
		// dumps them over several sockets at once.
		return c.Snapshot(ctx)
	}
	for _, i := range missing {
		if svcs[i].Destinations, err = c.Destinations(ctx, svcs[i].Service); err != nil {
			return nil, err
		}
	}
	return svcs, nil
}

// maxSerialDumps is how many services listTable dumps one after the other on one
// socket; with more it takes the whole table from Snapshot, which spreads the dumps over
// several sockets.
const maxSerialDumps = 64

// procKey identifies a service as the kernel's table listing names it: by mark alone for a firewall-mark
// service (the file does not name its family), else by protocol, address and port.
type procKey struct {
	fwmark   uint32
	protocol ipvs.Protocol
	addr     netip.Addr // 4-byte for IPv4, 16-byte for IPv6
	port     uint16
}

func keyOfService(s ipvs.Service) procKey {
	if s.FWMark != 0 {
		return procKey{fwmark: s.FWMark}
	}
	a := s.Address.Unmap()
	if s.Family == ipvs.IPv6 {
		a = netip.AddrFrom16(s.Address.As16())
	}
	return procKey{protocol: s.Protocol, addr: a, port: s.Port}
}

var procProtocols = map[string]ipvs.Protocol{"TCP": ipvs.TCP, "UDP": ipvs.UDP, "SCTP": ipvs.SCTP}

var procForward = map[string]ipvs.ForwardMethod{"Masq": ipvs.Masquerade, "Local": ipvs.Local, "Route": ipvs.DirectRoute}

// parseTableFile reads the kernel's table listing: the destinations of each service it lists.
// A service is left out when a line of it cannot be read exactly, when it has a tunnel
// (the file does not give the tunnel's settings) or when it is listed twice.
func parseTableFile(b []byte) map[procKey][]ipvs.DestinationStatus {
	out := make(map[procKey][]ipvs.DestinationStatus)
	bad := make(map[procKey]bool)
	var (
		cur   procKey
		have  bool // cur is a service being read
		ds    []ipvs.DestinationStatus
		field [8][]byte
	)
	end := func() {
		if !have {
			return
		}
		if _, dup := out[cur]; dup || bad[cur] {
			bad[cur] = true
			delete(out, cur)
		} else {
			out[cur] = ds
		}
		have, ds = false, nil
	}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		n := 0
		for _, f := range bytes.Fields(line) {
			if n == len(field) {
				break
			}
			field[n] = f
			n++
		}
		switch {
		case n == 0:
		case string(field[0]) == "->":
			if !have {
				continue // the header's second line, or a service left out
			}
			d, ok := parseProcDest(field[:n])
			if !ok {
				bad[cur] = true
				continue
			}
			ds = append(ds, d)
		case string(field[0]) == "IP" || string(field[0]) == "Prot":
			end() // header lines
		default:
			end()
			k, ok := parseProcService(field[:n])
			if !ok {
				continue
			}
			cur, have, ds = k, true, make([]ipvs.DestinationStatus, 0, 4)
		}
	}
	end()
	for k := range bad {
		delete(out, k)
	}
	return out
}

// parseProcService reads "TCP  C0000201:0050 wlc ...", "UDP  [2001:0db8:...]:0035 rr ..."
// or "FWM  00000064 rr ...".
func parseProcService(f [][]byte) (procKey, bool) {
	if len(f) < 2 {
		return procKey{}, false
	}
	if string(f[0]) == "FWM" {
		m, err := strconv.ParseUint(string(f[1]), 16, 32)
		if err != nil || m == 0 {
			return procKey{}, false
		}
		return procKey{fwmark: uint32(m)}, true
	}
	p, ok := procProtocols[string(f[0])]
	if !ok {
		return procKey{}, false
	}
	a, port, ok := parseProcAddr(f[1])
	if !ok {
		return procKey{}, false
	}
	return procKey{protocol: p, addr: a, port: port}, true
}

// parseProcDest reads "-> C6336401:0050      Route   1      0          0" (or an
// IPv6 address in brackets).
func parseProcDest(f [][]byte) (ipvs.DestinationStatus, bool) {
	if len(f) != 6 {
		return ipvs.DestinationStatus{}, false
	}
	a, port, ok := parseProcAddr(f[1])
	if !ok {
		return ipvs.DestinationStatus{}, false
	}
	fwd, ok := procForward[string(f[2])]
	if !ok {
		return ipvs.DestinationStatus{}, false // a tunnel, or a name this code does not know
	}
	w, err1 := strconv.ParseInt(string(f[3]), 10, 32)
	act, err2 := strconv.ParseUint(string(f[4]), 10, 32)
	inact, err3 := strconv.ParseUint(string(f[5]), 10, 32)
	if err1 != nil || err2 != nil || err3 != nil {
		return ipvs.DestinationStatus{}, false
	}
	fam := ipvs.IPv4
	if a.Is6() {
		fam = ipvs.IPv6
	}
	return ipvs.DestinationStatus{
		Destination:   ipvs.Destination{Family: fam, Address: a, Port: port, Forward: fwd, Weight: int32(w)},
		ActiveConns:   uint32(act),
		InactiveConns: uint32(inact),
	}, true
}

// parseProcAddr reads "C0000201:0050" (IPv4 in hexadecimal) or "[2001:0db8:...]:0050".
func parseProcAddr(b []byte) (netip.Addr, uint16, bool) {
	i := bytes.LastIndexByte(b, ':')
	if i < 0 || len(b)-i-1 != 4 {
		return netip.Addr{}, 0, false
	}
	port, err := strconv.ParseUint(string(b[i+1:]), 16, 16)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	h := b[:i]
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		a, err := netip.ParseAddr(string(h[1 : len(h)-1]))
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, 0, false
		}
		return a, uint16(port), true
	}
	if len(h) != 8 {
		return netip.Addr{}, 0, false
	}
	v, err := strconv.ParseUint(string(h), 16, 32)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	return addr4(uint32(v)), uint16(port), true
}
