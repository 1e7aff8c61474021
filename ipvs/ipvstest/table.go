package ipvstest

import (
	"encoding/binary"
	"net/netip"
)

// Command is an IPVS generic-netlink command (IPVS_CMD_* in linux/ip_vs.h).
type Command uint8

// The IPVS commands.
const (
	CmdNewService Command = 1  // CmdNewService adds a service.
	CmdSetService Command = 2  // CmdSetService changes a service.
	CmdDelService Command = 3  // CmdDelService deletes a service.
	CmdGetService Command = 4  // CmdGetService gets or dumps services.
	CmdNewDest    Command = 5  // CmdNewDest adds a destination.
	CmdSetDest    Command = 6  // CmdSetDest changes a destination.
	CmdDelDest    Command = 7  // CmdDelDest deletes a destination.
	CmdGetDest    Command = 8  // CmdGetDest dumps a service's destinations.
	CmdNewDaemon  Command = 9  // CmdNewDaemon starts a sync daemon.
	CmdDelDaemon  Command = 10 // CmdDelDaemon stops a sync daemon.
	CmdGetDaemon  Command = 11 // CmdGetDaemon dumps the sync daemons.
	CmdSetConfig  Command = 12 // CmdSetConfig sets the timeouts.
	CmdGetConfig  Command = 13 // CmdGetConfig gets the timeouts.
	CmdGetInfo    Command = 15 // CmdGetInfo gets the version and connection table size.
	CmdZero       Command = 16 // CmdZero zeroes statistics.
	CmdFlush      Command = 17 // CmdFlush deletes every service.
)

// FailNext makes the next request of cmd fail with e, without effect: the fake answers
// it as the kernel answers a refused request, with e as the errno of the reply. Calls
// queue up: FailNext(c, a) then FailNext(c, b) fails the next two requests of c, first
// with a. Requests of other commands are served as usual. Config.DenyPermission takes
// precedence (the kernel checks permission first), and a failure still counts in
// Requests.
func (s *Server) FailNext(cmd Command, e Errno) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail == nil {
		s.fail = make(map[Command][]Errno)
	}
	s.fail[cmd] = append(s.fail[cmd], e)
}

// Service is a service of the fake's table as Table returns it, in the kernel's terms
// (ipvstest cannot use package ipvs's types: ipvs's tests import ipvstest). The values
// are what a dump would carry, without the kernel-owned HASHED flag and statistics.
type Service struct {
	// Family is the address family: 2 (AF_INET) or 10 (AF_INET6).
	Family uint16
	// Protocol is the IP protocol (6 TCP, 17 UDP, 132 SCTP); a firewall-mark service
	// has 6, as the kernel stores it.
	Protocol uint16
	// Address is the virtual address; the zero Addr for a firewall-mark service.
	Address netip.Addr
	// Port is the virtual port; zero for a firewall-mark service.
	Port uint16
	// FWMark is the firewall mark; zero for a service with an address.
	FWMark uint32
	// Scheduler is the scheduler's name ("wrr").
	Scheduler string
	// PE is the persistence engine's name, "" for none.
	PE string
	// Flags are IP_VS_SVC_F_* without HASHED (0x2).
	Flags uint32
	// Timeout is the persistence timeout in seconds.
	Timeout uint32
	// Netmask is IPVS_SVC_ATTR_NETMASK as stored: for IPv4 the persistence mask in
	// network byte order (255.255.255.255 is 0xffffffff), for IPv6 the prefix length.
	Netmask uint32
	// Destinations are the real servers, newest first as in a dump.
	Destinations []Destination
}

// Destination is a real server of a Service as Table returns it.
type Destination struct {
	// Family is the destination's address family, which differs from its service's
	// only for tunnelled destinations.
	Family uint16
	// Address is the real server's address.
	Address netip.Addr
	// Port is the real server's port.
	Port uint16
	// Forward is the forwarding method (IP_VS_CONN_F_FWD_MASK bits): 0 masquerade,
	// 1 local, 2 tunnel, 3 direct route, 4 bypass.
	Forward uint32
	// Weight is the scheduling weight; 0 takes no new connections.
	Weight int32
	// UpperThreshold and LowerThreshold are the connection thresholds; 0 is no limit.
	UpperThreshold, LowerThreshold uint32
	// TunnelType is the tunnel encapsulation: 0 IPIP, 1 GUE, 2 GRE.
	TunnelType uint8
	// TunnelPort is the GUE tunnel's destination port.
	TunnelPort uint16
	// TunnelFlags are the tunnel's checksum flags: 0 none, 1 checksum, 2 remote checksum.
	TunnelFlags uint16
	// ActiveConns, InactiveConns and PersistentConns are the connection counts (moved
	// only by AddTraffic in the fake).
	ActiveConns, InactiveConns, PersistentConns uint32
}

// Table returns a copy of the fake's services and their destinations in the order a dump
// lists them (see the package documentation); nil when there are none. It does not count
// as a request.
func (s *Server) Table() []Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Service
	for _, svc := range s.dumpOrder() {
		t := Service{Family: svc.af, Protocol: svc.protocol, FWMark: svc.fwmark, Scheduler: svc.sched,
			PE: svc.pe, Flags: svc.flags &^ flagHashed, Timeout: svc.timeout}
		if svc.fwmark == 0 {
			t.Address = addrOf(svc.af, svc.addr)
			t.Port = binary.BigEndian.Uint16(svc.port[:])
		}
		if svc.af == afINET {
			t.Netmask = binary.BigEndian.Uint32(svc.netmask[:])
		} else {
			t.Netmask = binary.NativeEndian.Uint32(svc.netmask[:])
		}
		for _, d := range svc.dests {
			t.Destinations = append(t.Destinations, Destination{Family: d.af, Address: addrOf(d.af, d.addr),
				Port: binary.BigEndian.Uint16(d.port[:]), Forward: d.fwd, Weight: d.weight,
				UpperThreshold: d.uthresh, LowerThreshold: d.lthresh, TunnelType: d.tunType,
				TunnelPort: binary.BigEndian.Uint16(d.tunPort[:]), TunnelFlags: d.tunFlags,
				ActiveConns: d.active, InactiveConns: d.inact, PersistentConns: d.persist})
		}
		out = append(out, t)
	}
	return out
}

func addrOf(af uint16, a [16]byte) netip.Addr {
	if af == afINET {
		return netip.AddrFrom4([4]byte(a[:4]))
	}
	return netip.AddrFrom16(a)
}
