package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
)

// The IPVS generic-netlink family (include/uapi/linux/ip_vs.h).
const (
	familyName    = "IPVS"
	familyVersion = 1
)

// Commands.
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11
	cmdSetConfig  = 12
	cmdGetConfig  = 13
	cmdSetInfo    = 14
	cmdGetInfo    = 15
	cmdZero       = 16
	cmdFlush      = 17
)

// Top-level attributes.
const (
	attrService       = 1
	attrDest          = 2
	attrDaemon        = 3
	attrTimeoutTCP    = 4
	attrTimeoutTCPFin = 5
	attrTimeoutUDP    = 6
)

// Service attributes.
const (
	svcAF        = 1
	svcProtocol  = 2
	svcAddr      = 3
	svcPort      = 4
	svcFWMark    = 5
	svcSchedName = 6
	svcFlags     = 7
	svcTimeout   = 8
	svcNetmask   = 9
	svcStats     = 10
	svcPEName    = 11
	svcStats64   = 12
)

// Destination attributes.
const (
	dstAddr         = 1
	dstPort         = 2
	dstFwdMethod    = 3
	dstWeight       = 4
	dstUThresh      = 5
	dstLThresh      = 6
	dstActiveConns  = 7
	dstInactConns   = 8
	dstPersistConns = 9
	dstStats        = 10
	dstAddrFamily   = 11
	dstStats64      = 12
	dstTunType      = 13
	dstTunPort      = 14
	dstTunFlags     = 15
)

// Daemon attributes.
const (
	dmnState      = 1
	dmnMcastIfn   = 2
	dmnSyncID     = 3
	dmnSyncMaxLen = 4
	dmnMcastGroup = 5
	dmnMcastGrp6  = 6
	dmnMcastPort  = 7
	dmnMcastTTL   = 8
)

// Stats attributes.
const (
	statConns    = 1
	statInPkts   = 2
	statOutPkts  = 3
	statInBytes  = 4
	statOutBytes = 5
	statCPS      = 6
	statInPPS    = 7
	statOutPPS   = 8
	statInBPS    = 9
	statOutBPS   = 10
)

// Info attributes.
const (
	infoVersion     = 1
	infoConnTabSize = 2
)

const fwdMask = 0x7

var errShort = errors.New("attribute too short")

// addr16 returns a in the kernel's 16-byte union nf_inet_addr layout for family f: an
// IPv4 address (or an IPv4-mapped one) in the first 4 bytes, unless f is IPv6, where an
// IPv4 or IPv4-mapped address is the IPv6 address ::ffff:a.b.c.d (as ipvsadm sends
// "[::ffff:192.0.2.1]").
func addr16(a netip.Addr, f Family) []byte {
	b := make([]byte, 16)
	putAddr16(b, a, f)
	return b
}

func putAddr16(b []byte, a netip.Addr, f Family) {
	switch {
	case f == IPv6 && a.IsValid():
		v := a.As16()
		copy(b, v[:])
	case a.Is4() || a.Is4In6():
		v := a.Unmap().As4()
		copy(b, v[:])
	case a.Is6():
		v := a.As16()
		copy(b, v[:])
	}
}

func parseAddr(b []byte, f Family) (netip.Addr, error) {
	switch f {
	case IPv4:
		if len(b) < 4 {
			return netip.Addr{}, errShort
		}
		return netip.AddrFrom4([4]byte(b[:4])), nil
	case IPv6:
		if len(b) < 16 {
			return netip.Addr{}, errShort
		}
		return netip.AddrFrom16([16]byte(b[:16])), nil
	}
	return netip.Addr{}, fmt.Errorf("unknown address family %d", f)
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func parseBE16(b []byte) (uint16, error) {
	if len(b) < 2 {
		return 0, errShort
	}
	return binary.BigEndian.Uint16(b), nil
}

// netmaskBytes encodes the persistence netmask: IPv4 as a mask in network byte order
// (IPv4Mask as given, or Netmask as a prefix), IPv6 as a native-endian prefix length.
func netmaskBytes(s Service) []byte {
	if m := s.IPv4Mask.Unmap(); s.family() == IPv4 && m.Is4() {
		b := m.As4()
		return b[:]
	}
	bits := s.Netmask
	if bits <= 0 || bits > s.maxBits() {
		bits = s.maxBits()
	}
	if s.family() == IPv6 {
		return binary.NativeEndian.AppendUint32(nil, uint32(bits))
	}
	return binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-bits))
}

// parseNetmask decodes the persistence netmask into a Service's Netmask and IPv4Mask: a
// full-length mask as zero, an IPv4 mask that is no prefix as IPv4Mask.
func parseNetmask(b []byte, f Family) (int, netip.Addr, error) {
	if len(b) < 4 {
		return 0, netip.Addr{}, errShort
	}
	if f == IPv6 {
		n := int(binary.NativeEndian.Uint32(b))
		if n == 128 {
			n = 0
		}
		return n, netip.Addr{}, nil
	}
	m := binary.BigEndian.Uint32(b)
	if n, ok := maskPrefix(m); ok {
		return n, netip.Addr{}, nil
	}
	return 0, netip.AddrFrom4([4]byte(b[:4])), nil
}

// encodeServiceID writes the attributes that identify s.
func encodeServiceID(ae *netlink.AttributeEncoder, s Service) {
	ae.Uint16(svcAF, uint16(s.family()))
	if s.FWMark != 0 {
		ae.Uint32(svcFWMark, s.FWMark)
		return
	}
	ae.Uint16(svcProtocol, uint16(s.Protocol))
	ae.Bytes(svcAddr, addr16(s.Address, s.family()))
	ae.Bytes(svcPort, be16(s.Port))
}

// encodeService writes the nested SERVICE attribute; full adds the configuration that
// NEW and SET require.
func encodeService(ae *netlink.AttributeEncoder, s Service, full bool) {
	ae.Nested(attrService, func(nae *netlink.AttributeEncoder) error {
		encodeServiceID(nae, s)
		if !full {
			return nil
		}
		sched := s.Scheduler
		if sched == "" {
			sched = DefaultScheduler
		}
		nae.String(svcSchedName, string(sched))
		if s.PersistenceEngine != "" {
			nae.String(svcPEName, s.PersistenceEngine)
		}
		fl := make([]byte, 8)
		binary.NativeEndian.PutUint32(fl[0:], uint32(s.Flags&^flagHashed))
		binary.NativeEndian.PutUint32(fl[4:], ^uint32(0))
		nae.Bytes(svcFlags, fl)
		nae.Uint32(svcTimeout, uint32(s.Timeout/time.Second))
		nae.Bytes(svcNetmask, netmaskBytes(s))
		return nil
	})
}

func encodeDest(ae *netlink.AttributeEncoder, d Destination, full bool) {
	ae.Nested(attrDest, func(nae *netlink.AttributeEncoder) error {
		nae.Bytes(dstAddr, addr16(d.Address, d.family()))
		nae.Bytes(dstPort, be16(d.Port))
		nae.Uint16(dstAddrFamily, uint16(d.family()))
		if !full {
			return nil
		}
		nae.Uint32(dstFwdMethod, uint32(d.Forward)&fwdMask)
		nae.Int32(dstWeight, d.Weight)
		nae.Uint32(dstUThresh, d.UpperThreshold)
		nae.Uint32(dstLThresh, d.LowerThreshold)
		if d.Forward == Tunnel {
			nae.Uint8(dstTunType, uint8(d.TunnelType))
			nae.Bytes(dstTunPort, be16(d.TunnelPort))
			nae.Uint16(dstTunFlags, uint16(d.TunnelFlags))
		}
		return nil
	})
}

// decodeStats reads a STATS or STATS64 nest: each counter is 4 or 8 bytes wide.
func decodeStats(b []byte) (Stats, error) {
	var st Stats
	ad := newAttrReader(b)
	for ad.next() {
		v, err := uintAttr(ad.val)
		if err != nil {
			continue // padding or malformed counter: ignore
		}
		switch ad.typ {
		case statConns:
			st.Connections = v
		case statInPkts:
			st.PacketsIn = v
		case statOutPkts:
			st.PacketsOut = v
		case statInBytes:
			st.BytesIn = v
		case statOutBytes:
			st.BytesOut = v
		case statCPS:
			st.CPS = v
		case statInPPS:
			st.PPSIn = v
		case statOutPPS:
			st.PPSOut = v
		case statInBPS:
			st.BPSIn = v
		case statOutBPS:
			st.BPSOut = v
		}
	}
	return st, ad.err
}

func uintAttr(b []byte) (uint64, error) {
	switch len(b) {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.NativeEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.NativeEndian.Uint32(b)), nil
	case 8:
		return binary.NativeEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("integer attribute of %d bytes", len(b))
}

// decodeServiceAttrs decodes the attributes inside a SERVICE nest.
func decodeServiceAttrs(b []byte) (ServiceStatus, error) {
	var (
		st               ServiceStatus
		s                = &st.Service
		rawAddr, rawMask []byte
		stats, stats64   []byte
		haveStats64      bool
	)
	ad := newAttrReader(b)
	for ad.next() {
		v := ad.val
		var err error
		switch ad.typ {
		case svcAF:
			var n uint64
			n, err = uintAttr(v)
			s.Family = Family(n)
		case svcProtocol:
			var n uint64
			n, err = uintAttr(v)
			s.Protocol = Protocol(n)
		case svcAddr:
			rawAddr = v
		case svcPort:
			s.Port, err = parseBE16(v)
		case svcFWMark:
			var n uint64
			n, err = uintAttr(v)
			s.FWMark = uint32(n)
		case svcSchedName:
			s.Scheduler = schedulerName(v)
		case svcFlags:
			if len(v) < 4 {
				err = errShort
				break
			}
			s.Flags = ServiceFlags(binary.NativeEndian.Uint32(v)) &^ flagHashed
		case svcTimeout:
			var n uint64
			n, err = uintAttr(v)
			s.Timeout = time.Duration(uint32(n)) * time.Second
		case svcNetmask:
			rawMask = v
		case svcPEName:
			s.PersistenceEngine = cstring(v)
		case svcStats:
			stats = v
		case svcStats64:
			stats64, haveStats64 = v, true
		}
		if err != nil {
			return st, fmt.Errorf("service attribute %d: %w", ad.typ, err)
		}
	}
	if err := ad.err; err != nil {
		return st, err
	}
	var err error
	if s.FWMark != 0 {
		s.Protocol, s.Port = 0, 0 // a mark is the whole identity
	} else if rawAddr != nil {
		if s.Address, err = parseAddr(rawAddr, s.Family); err != nil {
			return st, fmt.Errorf("service address: %w", err)
		}
	}
	if rawMask != nil {
		if s.Netmask, s.IPv4Mask, err = parseNetmask(rawMask, s.Family); err != nil {
			return st, fmt.Errorf("service netmask: %w", err)
		}
	}
	switch {
	case haveStats64:
		st.Stats, err = decodeStats(stats64)
	case stats != nil:
		st.Stats, err = decodeStats(stats)
	}
	return st, err
}

// decodeDestAttrs decodes the attributes inside a DEST nest. svcFamily is used when the
// kernel predates IPVS_DEST_ATTR_ADDR_FAMILY.
func decodeDestAttrs(b []byte, svcFamily Family) (DestinationStatus, error) {
	var (
		st             DestinationStatus
		d              = &st.Destination
		rawAddr        []byte
		stats, stats64 []byte
		haveStats64    bool
	)
	ad := newAttrReader(b)
	for ad.next() {
		v := ad.val
		var (
			n   uint64
			err error
		)
		switch ad.typ {
		case dstAddr:
			rawAddr = v
		case dstPort:
			d.Port, err = parseBE16(v)
		case dstFwdMethod:
			n, err = uintAttr(v)
			d.Forward = ForwardMethod(n & fwdMask)
		case dstWeight:
			n, err = uintAttr(v)
			d.Weight = int32(n)
		case dstUThresh:
			n, err = uintAttr(v)
			d.UpperThreshold = uint32(n)
		case dstLThresh:
			n, err = uintAttr(v)
			d.LowerThreshold = uint32(n)
		case dstActiveConns:
			n, err = uintAttr(v)
			st.ActiveConns = uint32(n)
		case dstInactConns:
			n, err = uintAttr(v)
			st.InactiveConns = uint32(n)
		case dstPersistConns:
			n, err = uintAttr(v)
			st.PersistentConns = uint32(n)
		case dstAddrFamily:
			n, err = uintAttr(v)
			d.Family = Family(n)
		case dstTunType:
			n, err = uintAttr(v)
			d.TunnelType = TunnelType(n)
		case dstTunPort:
			d.TunnelPort, err = parseBE16(v)
		case dstTunFlags:
			n, err = uintAttr(v)
			d.TunnelFlags = TunnelFlags(n)
		case dstStats:
			stats = v
		case dstStats64:
			stats64, haveStats64 = v, true
		}
		if err != nil {
			return st, fmt.Errorf("destination attribute %d: %w", ad.typ, err)
		}
	}
	if err := ad.err; err != nil {
		return st, err
	}
	var err error
	if d.Family == 0 {
		d.Family = svcFamily
	}
	if rawAddr != nil {
		if d.Address, err = parseAddr(rawAddr, d.Family); err != nil {
			return st, fmt.Errorf("destination address: %w", err)
		}
	}
	switch {
	case haveStats64:
		st.Stats, err = decodeStats(stats64)
	case stats != nil:
		st.Stats, err = decodeStats(stats)
	}
	return st, err
}

// schedulerName returns the scheduler named by a NUL-terminated attribute, without
// allocating for the kernel's own schedulers.
func schedulerName(b []byte) Scheduler {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	for _, s := range knownSchedulers {
		if string(b) == string(s) {
			return s
		}
	}
	return Scheduler(b)
}

var knownSchedulers = [...]Scheduler{WeightedLeastConnection, RoundRobin, WeightedRoundRobin,
	LeastConnection, WeightedFailover, WeightedOverflow, LocalityBasedLeastConnection,
	LocalityBasedLeastConnectionRep, DestinationHashing, SourceHashing, MaglevHashing,
	ShortestExpectedDelay, NeverQueue, TwoRandomChoices, NoScheduler}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// nested finds top-level attribute typ in a message body and returns its payload.
func nested(b []byte, typ uint16) ([]byte, bool, error) {
	ad := newAttrReader(b)
	for ad.next() {
		if ad.typ == typ {
			return ad.val, true, nil
		}
	}
	return nil, false, ad.err
}

// decodeServiceMessage decodes a NEW_SERVICE reply body.
func decodeServiceMessage(b []byte) (ServiceStatus, error) {
	p, ok, err := nested(b, attrService)
	if err != nil {
		return ServiceStatus{}, err
	}
	if !ok {
		return ServiceStatus{}, errors.New("no service attribute")
	}
	return decodeServiceAttrs(p)
}

// decodeDestMessage decodes a NEW_DEST reply body.
func decodeDestMessage(b []byte, svcFamily Family) (DestinationStatus, error) {
	p, ok, err := nested(b, attrDest)
	if err != nil {
		return DestinationStatus{}, err
	}
	if !ok {
		return DestinationStatus{}, errors.New("no destination attribute")
	}
	return decodeDestAttrs(p, svcFamily)
}

func encodeDaemon(ae *netlink.AttributeEncoder, d Daemon, full bool) {
	ae.Nested(attrDaemon, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(dmnState, uint32(d.State))
		if !full {
			return nil
		}
		nae.String(dmnMcastIfn, d.Interface)
		nae.Uint32(dmnSyncID, d.SyncID)
		if d.MaxLen != 0 {
			nae.Uint16(dmnSyncMaxLen, d.MaxLen)
		}
		if d.Group.IsValid() {
			if g := d.Group.Unmap(); g.Is4() {
				v := g.As4()
				nae.Bytes(dmnMcastGroup, v[:])
			} else {
				v := g.As16()
				nae.Bytes(dmnMcastGrp6, v[:])
			}
		}
		if d.Port != 0 {
			nae.Uint16(dmnMcastPort, d.Port)
		}
		if d.TTL != 0 {
			nae.Uint8(dmnMcastTTL, d.TTL)
		}
		return nil
	})
}

func decodeDaemonMessage(b []byte) (Daemon, error) {
	var d Daemon
	p, ok, err := nested(b, attrDaemon)
	if err != nil || !ok {
		return d, errors.Join(err, errors.New("no daemon attribute"))
	}
	ad, err := netlink.NewAttributeDecoder(p)
	if err != nil {
		return d, err
	}
	for ad.Next() {
		v := ad.Bytes()
		n, _ := uintAttr(v)
		switch ad.Type() {
		case dmnState:
			d.State = DaemonState(n)
		case dmnMcastIfn:
			d.Interface = cstring(v)
		case dmnSyncID:
			d.SyncID = uint32(n)
		case dmnSyncMaxLen:
			d.MaxLen = uint16(n)
		case dmnMcastGroup:
			if len(v) == 4 {
				d.Group = netip.AddrFrom4([4]byte(v))
			}
		case dmnMcastGrp6:
			if len(v) == 16 {
				d.Group = netip.AddrFrom16([16]byte(v))
			}
		case dmnMcastPort:
			d.Port = uint16(n)
		case dmnMcastTTL:
			d.TTL = uint8(n)
		}
	}
	return d, ad.Err()
}

func encodeTimeouts(ae *netlink.AttributeEncoder, t Timeouts) {
	if t.TCP > 0 {
		ae.Uint32(attrTimeoutTCP, uint32(t.TCP/time.Second))
	}
	if t.TCPFin > 0 {
		ae.Uint32(attrTimeoutTCPFin, uint32(t.TCPFin/time.Second))
	}
	if t.UDP > 0 {
		ae.Uint32(attrTimeoutUDP, uint32(t.UDP/time.Second))
	}
}

func decodeTimeouts(b []byte) (Timeouts, error) {
	var t Timeouts
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return t, err
	}
	for ad.Next() {
		n, _ := uintAttr(ad.Bytes())
		d := time.Duration(n) * time.Second
		switch ad.Type() {
		case attrTimeoutTCP:
			t.TCP = d
		case attrTimeoutTCPFin:
			t.TCPFin = d
		case attrTimeoutUDP:
			t.UDP = d
		}
	}
	return t, ad.Err()
}

func decodeInfo(b []byte) (Info, error) {
	var in Info
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return in, err
	}
	for ad.Next() {
		n, _ := uintAttr(ad.Bytes())
		switch ad.Type() {
		case infoVersion:
			in.Version = uint32(n)
		case infoConnTabSize:
			in.ConnTableSize = uint32(n)
		}
	}
	return in, ad.Err()
}
