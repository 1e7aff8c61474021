package ipvs

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
	"time"
)

// Family is an address family: IPv4 or IPv6, with the kernel's AF_* values.
type Family uint16

// Address families.
const (
	IPv4 Family = 2  // AF_INET
	IPv6 Family = 10 // AF_INET6
)

// String returns "IPv4", "IPv6" or the number.
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return fmt.Sprintf("Family(%d)", uint16(f))
}

func familyOf(a netip.Addr) Family {
	if a.Is4() || a.Is4In6() {
		return IPv4
	}
	if a.Is6() {
		return IPv6
	}
	return 0
}

// Protocol is the transport protocol of a virtual service, with IPPROTO_* values.
type Protocol uint16

// Protocols a virtual service can balance.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// String returns "TCP", "UDP", "SCTP" or the number.
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return fmt.Sprintf("Protocol(%d)", uint16(p))
}

// Scheduler names a kernel scheduling module (ip_vs_NAME). Any name the kernel knows
// works; the constants cover every scheduler in mainline.
type Scheduler string

// The kernel's schedulers.
const (
	RoundRobin                      Scheduler = "rr"
	WeightedRoundRobin              Scheduler = "wrr"
	LeastConnection                 Scheduler = "lc"
	WeightedLeastConnection         Scheduler = "wlc"
	WeightedFailover                Scheduler = "fo"
	WeightedOverflow                Scheduler = "ovf"
	LocalityBasedLeastConnection    Scheduler = "lblc"
	LocalityBasedLeastConnectionRep Scheduler = "lblcr"
	DestinationHashing              Scheduler = "dh"
	SourceHashing                   Scheduler = "sh"
	MaglevHashing                   Scheduler = "mh"
	ShortestExpectedDelay           Scheduler = "sed"
	NeverQueue                      Scheduler = "nq"
	TwoRandomChoices                Scheduler = "twos"
	// NoScheduler lets a service run without a scheduler (new connections fail).
	NoScheduler Scheduler = "none"
)

// DefaultScheduler is used when Service.Scheduler is empty, as ipvsadm does.
const DefaultScheduler = WeightedLeastConnection

// Schedulers lists every scheduler in the mainline kernel.
func Schedulers() []Scheduler {
	return []Scheduler{RoundRobin, WeightedRoundRobin, LeastConnection, WeightedLeastConnection,
		WeightedFailover, WeightedOverflow, LocalityBasedLeastConnection, LocalityBasedLeastConnectionRep,
		DestinationHashing, SourceHashing, MaglevHashing, ShortestExpectedDelay, NeverQueue, TwoRandomChoices}
}

// ServiceFlags are a service's IP_VS_SVC_F_* flags. The kernel's HASHED flag (0x2) never
// appears here: the Client strips it from what it reads and never sends it.
type ServiceFlags uint32

// Service flags.
const (
	FlagPersistent ServiceFlags = 0x1
	FlagOnePacket  ServiceFlags = 0x4
	FlagSched1     ServiceFlags = 0x8
	FlagSched2     ServiceFlags = 0x10
	FlagSched3     ServiceFlags = 0x20

	// Scheduler-specific names of FlagSched1 and FlagSched2.
	FlagSHFallback = FlagSched1 // sh: fall back to another server when the chosen one is unavailable
	FlagSHPort     = FlagSched2 // sh: hash the source port too
	FlagMHFallback = FlagSched1 // mh: as FlagSHFallback
	FlagMHPort     = FlagSched2 // mh: as FlagSHPort

	flagHashed ServiceFlags = 0x2
)

// String lists the flags, e.g. "persistent|sched1".
func (f ServiceFlags) String() string {
	names := []struct {
		f ServiceFlags
		s string
	}{{FlagPersistent, "persistent"}, {flagHashed, "hashed"}, {FlagOnePacket, "onepacket"},
		{FlagSched1, "sched1"}, {FlagSched2, "sched2"}, {FlagSched3, "sched3"}}
	var parts []string
	for _, n := range names {
		if f&n.f != 0 {
			parts = append(parts, n.s)
			f &^= n.f
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(f)))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// Service is a virtual service: its identity (Family and FWMark, or Protocol, Address and
// Port) and its configuration. It holds no statistics and the Client never reports the
// kernel's HASHED flag, so a value read from the kernel equals, by Equal, the value it
// was created from; go-cmp uses Equal, so cmp.Diff(want, got) needs no options.
type Service struct {
	// Family is the address family. Zero means the family of Address; a firewall-mark
	// service must set it (zero there means IPv4). Services read from the kernel always
	// have it set.
	Family Family
	// Protocol is TCP, UDP or SCTP; zero for a firewall-mark service.
	Protocol Protocol
	// Address and Port identify a TCP, UDP or SCTP service; zero for a firewall-mark service.
	Address netip.Addr
	Port    uint16 // Port is the virtual port (see Address).
	// FWMark, when non-zero, makes this a firewall-mark service.
	FWMark uint32

	// Scheduler is the scheduling algorithm; empty means DefaultScheduler (wlc).
	Scheduler Scheduler
	// Flags are the service flags; FlagPersistent turns on persistence.
	Flags ServiceFlags
	// Timeout is the persistence timeout, in whole seconds.
	Timeout time.Duration
	// Netmask is the persistence granularity as a prefix length: clients in the same
	// prefix go to the same server. Zero means a single address (/32 or /128), the
	// kernel's default; a full-length mask read from the kernel is reported as zero.
	Netmask int
	// IPv4Mask, when valid, is the persistence netmask of an IPv4 service as a dotted
	// mask, for the masks that are no prefix (255.0.255.0, 0.0.0.0): the kernel takes
	// any, as ipvsadm -M does. It overrides Netmask. A service read from the kernel sets
	// it only for such a mask; Equal takes a prefix given here (255.255.255.0) as the
	// same Netmask (24). It is ignored for IPv6.
	IPv4Mask netip.Addr
	// PersistenceEngine names a persistence engine module ("sip"); empty for none.
	PersistenceEngine string
}

// Equal reports whether s and o describe the same service as the kernel stores it: they
// are compared after resolving the defaults (Family from Address, an empty Scheduler as
// DefaultScheduler, a full-length Netmask as zero, Timeout in whole seconds, an
// IPv4-mapped IPv6 Address as IPv4, and no Protocol, Address or Port for a firewall-mark
// service). Use == to compare the fields exactly. go-cmp calls Equal, so Service values
// and the structs holding them can be diffed without options although netip.Addr has
// unexported fields.
func (s Service) Equal(o Service) bool { return s.normalized() == o.normalized() }

func (s Service) family() Family {
	if s.Family != 0 {
		return s.Family
	}
	if s.FWMark != 0 {
		return IPv4
	}
	return familyOf(s.Address)
}

// key is the identity of a service, comparable, with defaults resolved.
type serviceKey struct {
	family   Family
	protocol Protocol
	addr     netip.Addr
	port     uint16
	fwmark   uint32
}

func (s Service) key() serviceKey {
	if s.FWMark != 0 {
		return serviceKey{family: s.family(), fwmark: s.FWMark}
	}
	return serviceKey{family: s.family(), protocol: s.Protocol, addr: s.Address.Unmap(), port: s.Port}
}

// checkID reports a Service that identifies nothing: no FWMark and no Address.
func (s Service) checkID() error {
	if s.FWMark == 0 && !s.Address.IsValid() {
		return fmt.Errorf("%w: Address is unset and FWMark is zero", ErrInvalidService)
	}
	return nil
}

// normalized returns s with its defaults resolved the way the kernel stores them.
func (s Service) normalized() Service {
	s.Family = s.family()
	if s.Scheduler == "" {
		s.Scheduler = DefaultScheduler
	}
	s.Flags &^= flagHashed
	s.Timeout = s.Timeout.Truncate(time.Second)
	if s.FWMark != 0 {
		s.Protocol, s.Address, s.Port = 0, netip.Addr{}, 0
	} else {
		s.Address = s.Address.Unmap()
	}
	if s.Netmask == s.maxBits() {
		s.Netmask = 0
	}
	if m := s.IPv4Mask.Unmap(); s.Family == IPv4 && m.Is4() {
		s.IPv4Mask = netip.Addr{}
		if n, ok := maskPrefix(be32(m)); ok {
			s.Netmask = n
		} else {
			s.Netmask, s.IPv4Mask = 0, m
		}
	} else {
		s.IPv4Mask = netip.Addr{}
	}
	return s
}

// maskPrefix returns the prefix length of an IPv4 mask, 0 for 255.255.255.255 as
// Netmask holds it, and false for a mask that is no prefix of 1 to 32 bits.
func maskPrefix(m uint32) (int, bool) {
	n := bits.LeadingZeros32(^m)
	if n == 0 || m<<n != 0 {
		return 0, false
	}
	if n == 32 {
		n = 0
	}
	return n, true
}

func be32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func (s Service) maxBits() int {
	if s.family() == IPv6 {
		return 128
	}
	return 32
}

// String formats the service's identity as ipvsadm does: "TCP 192.0.2.1:80",
// "UDP [2001:db8::1]:53", "FWM 100" (with " IPv6" for an IPv6 mark).
func (s Service) String() string {
	if s.FWMark != 0 {
		if s.family() == IPv6 {
			return fmt.Sprintf("FWM %d IPv6", s.FWMark)
		}
		return fmt.Sprintf("FWM %d", s.FWMark)
	}
	return s.Protocol.String() + " " + netip.AddrPortFrom(s.Address, s.Port).String()
}

// ForwardMethod is how packets reach a destination (IP_VS_CONN_F_* & 0x7).
type ForwardMethod uint32

// Forwarding methods. The zero value is Masquerade (NAT), as in the kernel.
const (
	Masquerade  ForwardMethod = 0 // NAT, ipvsadm -m
	Local       ForwardMethod = 1 // the director itself
	Tunnel      ForwardMethod = 2 // IP-in-IP, GUE or GRE, ipvsadm -i
	DirectRoute ForwardMethod = 3 // gatewaying, ipvsadm -g
	Bypass      ForwardMethod = 4
)

// String returns ipvsadm's name: Masq, Local, Tunnel, Route, Bypass.
func (m ForwardMethod) String() string {
	switch m {
	case Masquerade:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case DirectRoute:
		return "Route"
	case Bypass:
		return "Bypass"
	}
	return fmt.Sprintf("ForwardMethod(%d)", uint32(m))
}

// TunnelType is the encapsulation of a Tunnel destination.
type TunnelType uint8

// Tunnel types. GUE needs Linux 5.2, GRE 5.3.
const (
	TunnelIPIP TunnelType = 0
	TunnelGUE  TunnelType = 1
	TunnelGRE  TunnelType = 2
)

// String returns "ipip", "gue" or "gre", as ipvsadm spells them.
func (t TunnelType) String() string {
	switch t {
	case TunnelIPIP:
		return "ipip"
	case TunnelGUE:
		return "gue"
	case TunnelGRE:
		return "gre"
	}
	return fmt.Sprintf("TunnelType(%d)", uint8(t))
}

// TunnelFlags are a tunnel's checksum options; zero means no checksum.
type TunnelFlags uint16

// Tunnel checksum flags.
const (
	TunnelChecksum       TunnelFlags = 0x1
	TunnelRemoteChecksum TunnelFlags = 0x2
)

// Destination is a real server of a service: its identity (Address and Port within the
// service) and configuration, without counters. Like Service, it has an Equal method that
// go-cmp uses.
type Destination struct {
	// Family is the address family; zero means the family of Address. It may differ from
	// the service's only with the Tunnel method.
	Family Family
	// Address and Port identify the destination within its service. Port zero with a
	// firewall-mark service means "the port of the packet".
	Address netip.Addr
	Port    uint16 // Port is the real server's port (see Address).
	// Forward is the forwarding method; the zero value is Masquerade.
	Forward ForwardMethod
	// Weight is the scheduling weight; 0 takes no new connections, negative is rejected.
	Weight int32
	// UpperThreshold and LowerThreshold bound the connections (0: no upper bound).
	UpperThreshold uint32
	LowerThreshold uint32 // LowerThreshold: below it an overloaded destination takes connections again.
	// TunnelType, TunnelPort and TunnelFlags configure a Tunnel destination; GUE needs a
	// TunnelPort.
	TunnelType  TunnelType
	TunnelPort  uint16      // TunnelPort is the GUE destination port.
	TunnelFlags TunnelFlags // TunnelFlags selects the tunnel's checksums.
}

// Equal reports whether d and o describe the same destination as the kernel stores it:
// compared after resolving Family from Address and unmapping an IPv4-mapped Address;
// the tunnel fields count only for the Tunnel method. Use == to compare the fields
// exactly. go-cmp calls Equal, so cmp.Diff needs no options.
func (d Destination) Equal(o Destination) bool { return normalizeDest(d) == normalizeDest(o) }

func (d Destination) family() Family {
	if d.Family != 0 {
		return d.Family
	}
	return familyOf(d.Address)
}

type destKey struct {
	addr netip.Addr
	port uint16
}

func (d Destination) key() destKey { return destKey{d.Address.Unmap(), d.Port} }

func (d Destination) normalized() Destination {
	d.Family = d.family()
	d.Address = d.Address.Unmap()
	return d
}

// String returns "192.0.2.10:80" or "[2001:db8::10]:80".
func (d Destination) String() string { return netip.AddrPortFrom(d.Address, d.Port).String() }

// Stats are the counters and rate estimates of a service or destination. The kernel keeps
// them as 64-bit values; on kernels without 64-bit stats (before 4.1) the packet and
// connection counters and the rates wrap at 32 bits.
type Stats struct {
	Connections uint64 // Connections is how many connections were scheduled.
	PacketsIn   uint64 // PacketsIn counts packets from clients.
	PacketsOut  uint64 // PacketsOut counts packets to clients (none with DR or tunnels).
	BytesIn     uint64 // BytesIn counts bytes from clients.
	BytesOut    uint64 // BytesOut counts bytes to clients.
	// Rates, per second, estimated by the kernel every two seconds.
	CPS    uint64 // CPS is connections per second.
	PPSIn  uint64 // PPSIn is incoming packets per second.
	PPSOut uint64 // PPSOut is outgoing packets per second.
	BPSIn  uint64 // BPSIn is incoming bytes per second.
	BPSOut uint64 // BPSOut is outgoing bytes per second.
}

// ServiceStatus is a service as read from the kernel: its configuration, its statistics
// and, in a Snapshot, its destinations.
type ServiceStatus struct {
	Service      Service             // Service is the configuration, as Diff compares it.
	Stats        Stats               // Stats are the service's counters and rates.
	Destinations []DestinationStatus // Destinations are filled by Snapshot only, in the kernel's order.
}

// DestinationStatus is a destination as read from the kernel, with its counters.
type DestinationStatus struct {
	Destination     Destination // Destination is the configuration.
	Stats           Stats       // Stats are the destination's counters and rates.
	ActiveConns     uint32      // ActiveConns counts established connections.
	InactiveConns   uint32      // InactiveConns counts connections in other states.
	PersistentConns uint32      // PersistentConns counts persistence templates.
}

// Timeouts are the connection timeouts of the IPVS connection table. In SetTimeouts a
// zero field leaves that timeout unchanged.
type Timeouts struct {
	TCP    time.Duration // TCP is the timeout of established TCP connections (900 s by default).
	TCPFin time.Duration // TCPFin is the timeout after a FIN (120 s by default).
	UDP    time.Duration // UDP is the timeout of UDP flows (300 s by default).
}

// DaemonState says whether a sync daemon sends (master) or receives (backup) state.
type DaemonState uint32

// Sync daemon states.
const (
	DaemonMaster DaemonState = 1 // DaemonMaster sends connection state.
	DaemonBackup DaemonState = 2 // DaemonBackup receives connection state.
)

// String returns "master" or "backup".
func (s DaemonState) String() string {
	switch s {
	case DaemonMaster:
		return "master"
	case DaemonBackup:
		return "backup"
	}
	return fmt.Sprintf("DaemonState(%d)", uint32(s))
}

// Daemon is a connection-synchronisation daemon: the kernel thread that multicasts
// connection state from a master director to backups so that established connections
// survive a failover.
type Daemon struct {
	// State says whether the daemon sends (master) or receives (backup).
	State DaemonState
	// Interface is the multicast interface (required to start).
	Interface string
	// SyncID tags this director group's messages (0-255).
	SyncID uint32
	// MaxLen is the largest sync message payload; zero means the kernel's default.
	MaxLen uint16
	// Group is the multicast group; invalid means the default 224.0.0.81.
	Group netip.Addr
	// Port is the UDP port; zero means the default 8848.
	Port uint16
	// TTL is the multicast TTL; zero means the default 1.
	TTL uint8
}

// Equal reports whether d and o are the same, field by field. It exists for go-cmp, which
// cannot look inside netip.Addr: cmp.Diff on Daemon values needs no options.
func (d Daemon) Equal(o Daemon) bool { return d == o }

// Info describes the kernel's IPVS.
type Info struct {
	// Version is the IPVS version as 0xMMmmpp, 0x010201 for 1.2.1.
	Version uint32
	// ConnTableSize is the size of the connection hash table.
	ConnTableSize uint32
}

// VersionString formats Version as "1.2.1".
func (i Info) VersionString() string {
	return fmt.Sprintf("%d.%d.%d", i.Version>>16&0xff, i.Version>>8&0xff, i.Version&0xff)
}

// VirtualServer is a service with its destinations: one entry of a desired table for
// Reconcile and Diff.
type VirtualServer struct {
	Service      Service       // Service is the virtual service.
	Destinations []Destination // Destinations are its real servers; their order does not matter to Diff.
}
