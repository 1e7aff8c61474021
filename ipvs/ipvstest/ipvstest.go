// Package ipvstest is an in-memory IPVS for tests: it speaks the kernel's IPVS
// generic-netlink protocol, so code that uses an ipvs.Client runs unmodified against it,
// without root and without IPVS in the kernel.
//
// The fake enforces the kernel's rules as net/netfilter/ipvs/ip_vs_ctl.c does: missing
// required attributes are EINVAL; an existing service or destination is EEXIST; a missing
// service is ESRCH and a missing destination ENOENT; unknown schedulers and persistence
// engines are ENOENT; a negative weight or a lower threshold above the upper one is
// ERANGE; flags are applied through their mask and dumps carry the kernel-owned HASHED
// flag; a destination dump of a missing service is empty. Errors carry Linux's errno
// numbers (see Errno) on every OS. Replies come one datagram at a
// time, as from a netlink socket: dumps in several multi-part datagrams ending in DONE,
// acknowledgements only when asked for, errors echoing their request's sequence number.
//
// Use it as
//
//	srv := ipvstest.New(nil)
//	c, err := ipvs.NewClient(srv.Dial())
//
// or, for lower-level tests with genltest, genltest.Dial(srv.Func()).
//
// # Order
//
// Dumps list what they list in the kernel's order. A service's destinations come newest
// first: the kernel adds a destination at the head of its service's list, so one that is
// deleted and added again moves to the front. Services come from the kernel's two hash
// tables of 256 buckets, every service with an address (by protocol, address and port)
// before every firewall-mark service, bucket by bucket, and newest first within a
// bucket. The fake computes the kernel's bucket (ip_vs_svc_hashkey and
// ip_vs_svc_fwm_hashkey in ip_vs_ctl.c), but the kernel mixes bits of a kernel address
// into it, so the order of services in different buckets differs between network
// namespaces and boots; Config.ServiceHashSeed stands for those bits. Compare lists of
// services as sets (or sort them) unless a test pins the seed against the fake alone.
//
// # Inspection and failures
//
// Server.Table returns the current services and destinations without a client, in dump
// order, as the package's own plain types (the fake cannot import package ipvs, whose
// tests use it). Server.FailNext makes the next request of a command fail with an errno
// of the test's choice, the way a kernel refuses under memory pressure or a race with
// another process.
package ipvstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
)

// FamilyID is the generic-netlink family ID the fake gives "IPVS".
const FamilyID = 0x24

// Version is the IPVS version the fake reports (1.2.1).
const Version = 0x010201

// ConnTableSize is the connection table size the fake reports.
const ConnTableSize = 4096

// Config selects kernel behaviours. A nil *Config is the zero Config: a current kernel.
type Config struct {
	// Unavailable makes the "IPVS" family lookup fail with ENOENT, as on a kernel
	// without IPVS.
	Unavailable bool
	// NoStats64 leaves out the 64-bit statistics (kernels before 4.1): only the legacy
	// STATS nest, with 32-bit packet and connection counters.
	NoStats64 bool
	// NoAddrFamily leaves IPVS_DEST_ATTR_ADDR_FAMILY out of destination dumps (kernels
	// before 3.18).
	NoAddrFamily bool
	// DenyPermission answers every IPVS command with EPERM, as for a caller without
	// CAP_NET_ADMIN.
	DenyPermission bool
	// ServiceHashSeed stands for bits 8-15 of the address of the kernel's per-namespace
	// IPVS state, which the kernel mixes into its service hash and so into the order in
	// which a dump lists services (see Server). Zero is one of the kernel's 256 possible
	// orders; a test cannot know which one a real kernel will use.
	ServiceHashSeed uint8
	// ErrnoMessages adds to every error reply an extended acknowledgement whose message
	// (NLMSGERR_ATTR_MSG) is ErrnoMessage(errno). The fake always does so outside Linux,
	// where github.com/mdlayher/netlink keeps a reply's message but not its errno; on
	// Linux it is off unless set here, as the kernel's IPVS sends no such message.
	ErrnoMessages bool
}

// Server is the in-memory IPVS state of one network namespace. It is safe for
// concurrent use by any number of connections.
type Server struct {
	cfg Config

	mu       sync.Mutex
	services []*service // in the order they were added
	added    uint64     // how many services were ever added, for their sequence numbers
	fail     map[Command][]Errno
	tcp      uint32
	tcpFin   uint32
	udp      uint32
	daemons  []*daemon
	requests int
}

// New returns an empty IPVS with the kernel's default timeouts (900, 120, 300 s).
func New(cfg *Config) *Server {
	s := &Server{tcp: 900, tcpFin: 120, udp: 300}
	if cfg != nil {
		s.cfg = *cfg
	}
	s.cfg.ErrnoMessages = s.cfg.ErrnoMessages || defaultErrnoMessages
	return s
}

// Requests returns how many IPVS requests (not family lookups) the server has handled.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// AddTraffic adds n to every counter of every service and destination (connections,
// packets, bytes, rates) and n to each destination's active-connection count, so that
// tests can check statistics decoding, including values beyond 32 bits.
func (s *Server) AddTraffic(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, svc := range s.services {
		svc.stats.add(n)
		for _, d := range svc.dests {
			d.stats.add(n)
			d.active += uint32(n)
			d.inact += uint32(n)
		}
	}
}

// Func returns the server as a genltest.Func, family lookups included, for use with
// genltest.Dial. A genltest connection delivers one reply batch per request, so it does
// not support pipelined requests; Dial's connections do.
func (s *Server) Func() genltest.Func {
	fam := genetlink.Family{ID: FamilyID, Version: 1, Name: "IPVS"}
	return genltest.ServeFamily(fam, func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		msgs, err := s.handle(greq, nreq)
		var en Errno
		if errors.As(err, &en) {
			return nil, genltest.Error(int(en))
		}
		return msgs, err
	})
}

// counters mirror struct ip_vs_kstats.
type counters struct{ conns, inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps, inbps, outbps uint64 }

func (c *counters) add(n uint64) {
	c.conns += n
	c.inpkts += n
	c.outpkts += n
	c.inbytes += n
	c.outbytes += n
	c.cps += n
	c.inpps += n
	c.outpps += n
	c.inbps += n
	c.outbps += n
}

type service struct {
	seq      uint64 // when it was added: newer services come first in their hash bucket
	af       uint16
	protocol uint16
	addr     [16]byte
	port     [2]byte
	fwmark   uint32
	sched    string
	pe       string
	flags    uint32
	timeout  uint32
	netmask  [4]byte
	stats    counters
	dests    []*dest
}

type dest struct {
	af                     uint16
	addr                   [16]byte
	port                   [2]byte
	fwd                    uint32
	weight                 int32
	uthresh, lthresh       uint32
	tunType                uint8
	tunPort                [2]byte
	tunFlags               uint16
	active, inact, persist uint32
	stats                  counters
}

type daemon struct {
	state  uint32
	ifn    string
	syncID uint32
	maxLen uint16
	group  []byte
	group6 bool
	port   uint16
	ttl    uint8
}

const (
	flagHashed = 0x2

	ipprotoTCP  = 6
	ipprotoUDP  = 17
	ipprotoSCTP = 132

	afINET  = 2  // AF_INET
	afINET6 = 10 // AF_INET6 (Linux's number, whatever the OS the fake runs on)
)

var schedulers = []string{"rr", "wrr", "lc", "wlc", "fo", "ovf", "lblc", "lblcr", "dh", "sh", "mh", "sed", "nq", "twos", "none"}

// attrs indexes the attributes of a nest by type (the last one wins, as in nla_parse).
func attrs(b []byte) (map[uint16][]byte, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return nil, EINVAL
	}
	m := make(map[uint16][]byte)
	for ad.Next() {
		m[ad.Type()] = ad.Bytes()
	}
	if ad.Err() != nil {
		return nil, EINVAL
	}
	return m, nil
}

func u16(b []byte) (uint16, bool) {
	if len(b) < 2 {
		return 0, false
	}
	return binary.NativeEndian.Uint16(b), true
}

func u32(b []byte) (uint32, bool) {
	if len(b) < 4 {
		return 0, false
	}
	return binary.NativeEndian.Uint32(b), true
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// handle serves one IPVS request, returning its replies.
func (s *Server) handle(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.cfg.DenyPermission {
		return nil, EPERM
	}
	if q := s.fail[Command(greq.Header.Command)]; len(q) > 0 {
		s.fail[Command(greq.Header.Command)] = q[1:]
		return nil, q[0]
	}
	if greq.Header.Version != 1 {
		// The kernel ignores the version; the Client must send 1 all the same.
		return nil, fmt.Errorf("ipvstest: request with version %d, want 1", greq.Header.Version)
	}
	top, err := attrs(greq.Data)
	if err != nil {
		return nil, err
	}
	dump := nreq.Header.Flags&netlink.Dump == netlink.Dump
	cmd := greq.Header.Command
	switch cmd {
	case 4: // GET_SERVICE
		if dump {
			return s.dumpServices(), nil
		}
		svc, _, err := s.parseService(top[1], false)
		if err != nil {
			return nil, err
		}
		if svc == nil {
			return nil, ESRCH
		}
		return []genetlink.Message{s.serviceMessage(svc)}, nil
	case 8: // GET_DEST
		if !dump {
			return nil, EOPNOTSUPP
		}
		svc, _, err := s.parseService(top[1], false)
		if err != nil || svc == nil {
			return nil, nil // the kernel answers an empty dump
		}
		out := make([]genetlink.Message, 0, len(svc.dests))
		for _, d := range svc.dests {
			out = append(out, s.destMessage(d))
		}
		return out, nil
	case 11: // GET_DAEMON
		if !dump {
			return nil, EOPNOTSUPP
		}
		var out []genetlink.Message
		for _, d := range s.daemons {
			out = append(out, daemonMessage(d))
		}
		return out, nil
	case 13: // GET_CONFIG
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(4, s.tcp)
		ae.Uint32(5, s.tcpFin)
		ae.Uint32(6, s.udp)
		return []genetlink.Message{message(12, ae)}, nil
	case 15: // GET_INFO
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(1, Version)
		ae.Uint32(2, ConnTableSize)
		return []genetlink.Message{message(14, ae)}, nil
	}
	if dump {
		return nil, EOPNOTSUPP
	}
	switch cmd {
	case 1, 2, 3: // NEW, SET, DEL SERVICE
		return nil, s.setService(cmd, top[1])
	case 5, 6, 7: // NEW, SET, DEL DEST
		return nil, s.setDest(cmd, top[1], top[2])
	case 9: // NEW_DAEMON
		return nil, s.newDaemon(top[3])
	case 10: // DEL_DAEMON
		return nil, s.delDaemon(top[3])
	case 12: // SET_CONFIG
		if v, ok := u32(top[4]); ok {
			s.tcp = v
		}
		if v, ok := u32(top[5]); ok {
			s.tcpFin = v
		}
		if v, ok := u32(top[6]); ok {
			s.udp = v
		}
		return nil, nil
	case 16: // ZERO
		if top[1] == nil {
			for _, svc := range s.services {
				svc.stats = counters{}
				for _, d := range svc.dests {
					d.stats = counters{}
				}
			}
			return nil, nil
		}
		svc, _, err := s.parseService(top[1], false)
		if err != nil {
			return nil, err
		}
		if svc == nil {
			return nil, ESRCH
		}
		svc.stats = counters{}
		for _, d := range svc.dests {
			d.stats = counters{}
		}
		return nil, nil
	case 17: // FLUSH
		s.services = nil
		return nil, nil
	}
	return nil, EOPNOTSUPP
}

// parseService decodes a SERVICE nest like ip_vs_genl_parse_service: it returns the
// existing service it names (or nil) and, when full, the requested configuration.
func (s *Server) parseService(nest []byte, full bool) (*service, *service, error) {
	if nest == nil {
		return nil, nil, EINVAL
	}
	a, err := attrs(nest)
	if err != nil {
		return nil, nil, err
	}
	af, ok := u16(a[1])
	if !ok {
		return nil, nil, EINVAL
	}
	if af != afINET && af != afINET6 {
		return nil, nil, EAFNOSUPPORT
	}
	u := &service{af: af}
	if fw, ok := u32(a[5]); ok && a[5] != nil {
		u.fwmark = fw
		u.protocol = ipprotoTCP
	} else {
		p, okp := u16(a[2])
		if !okp || a[3] == nil || len(a[4]) < 2 {
			return nil, nil, EINVAL
		}
		u.protocol = p
		copy(u.addr[:], a[3])
		copy(u.port[:], a[4])
	}
	existing := s.find(u)
	if !full {
		return existing, u, nil
	}
	if a[6] == nil || len(a[7]) < 8 || a[8] == nil || len(a[9]) < 4 {
		return nil, nil, EINVAL
	}
	u.sched = cstr(a[6])
	u.pe = cstr(a[11])
	if existing != nil {
		u.flags = existing.flags
	}
	flags := binary.NativeEndian.Uint32(a[7])
	mask := binary.NativeEndian.Uint32(a[7][4:])
	u.flags = (u.flags &^ mask) | (flags & mask)
	u.timeout, _ = u32(a[8])
	copy(u.netmask[:], a[9])
	return existing, u, nil
}

func (s *Server) find(u *service) *service {
	for _, svc := range s.services {
		if svc.af != u.af {
			continue
		}
		if u.fwmark != 0 {
			if svc.fwmark == u.fwmark {
				return svc
			}
			continue
		}
		if svc.fwmark == 0 && svc.protocol == u.protocol && svc.port == u.port && sameAddr(u.af, svc.addr, u.addr) {
			return svc
		}
	}
	return nil
}

func sameAddr(af uint16, a, b [16]byte) bool {
	if af == afINET {
		return [4]byte(a[:4]) == [4]byte(b[:4])
	}
	return a == b
}

// checkService applies ip_vs_add_service's and ip_vs_edit_service's checks.
func checkService(u *service) error {
	if u.fwmark == 0 && u.protocol != ipprotoTCP && u.protocol != ipprotoUDP && u.protocol != ipprotoSCTP {
		return EINVAL
	}
	if u.af == afINET6 {
		if n := binary.NativeEndian.Uint32(u.netmask[:]); n < 1 || n > 128 {
			return EINVAL
		}
	}
	if !slices.Contains(schedulers, u.sched) {
		return ENOENT
	}
	if u.pe != "" && u.pe != "sip" {
		return ENOENT
	}
	return nil
}

func (s *Server) setService(cmd uint8, nest []byte) error {
	existing, u, err := s.parseService(nest, cmd != 3)
	if err != nil {
		return err
	}
	switch cmd {
	case 1:
		if existing != nil {
			return EEXIST
		}
		if err := checkService(u); err != nil {
			return err
		}
		// A service added with HASHED set would never be hashed: the kernel owns it.
		u.flags &^= flagHashed
		if u.fwmark != 0 {
			u.addr, u.port = [16]byte{}, [2]byte{}
		}
		s.added++
		u.seq = s.added
		s.services = append(s.services, u)
	case 2:
		if existing == nil {
			return ESRCH
		}
		if err := checkService(u); err != nil {
			return err
		}
		existing.sched, existing.pe, existing.flags = u.sched, u.pe, u.flags&^flagHashed
		existing.timeout, existing.netmask = u.timeout, u.netmask
	case 3:
		if existing == nil {
			return ESRCH
		}
		s.services = slices.DeleteFunc(s.services, func(x *service) bool { return x == existing })
	}
	return nil
}

func (s *Server) setDest(cmd uint8, svcNest, destNest []byte) error {
	svc, _, err := s.parseService(svcNest, false)
	if err != nil {
		return err
	}
	if svc == nil {
		return ESRCH
	}
	if destNest == nil {
		return EINVAL
	}
	a, err := attrs(destNest)
	if err != nil {
		return err
	}
	if a[1] == nil || len(a[2]) < 2 {
		return EINVAL
	}
	u := &dest{af: svc.af}
	copy(u.addr[:], a[1])
	copy(u.port[:], a[2])
	if v, ok := u16(a[11]); ok {
		u.af = v
	}
	var existing *dest
	for _, d := range svc.dests {
		if d.af == u.af && d.port == u.port && sameAddr(u.af, d.addr, u.addr) {
			existing = d
		}
	}
	if cmd == 7 {
		if existing == nil {
			return ENOENT
		}
		svc.dests = slices.DeleteFunc(svc.dests, func(x *dest) bool { return x == existing })
		return nil
	}
	fwd, ok1 := u32(a[3])
	w, ok2 := u32(a[4])
	ut, ok3 := u32(a[5])
	lt, ok4 := u32(a[6])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return EINVAL
	}
	u.fwd, u.weight, u.uthresh, u.lthresh = fwd&0x7, int32(w), ut, lt
	if v := a[13]; len(v) >= 1 {
		u.tunType = v[0]
	}
	if v := a[14]; len(v) >= 2 {
		copy(u.tunPort[:], v)
	}
	if v, ok := u16(a[15]); ok {
		u.tunFlags = v
	}
	if u.af != svc.af && u.fwd != 2 {
		return EINVAL
	}
	if u.af != svc.af && len(s.daemons) > 0 {
		return EINVAL
	}
	if u.fwd == 2 && u.tunType == 1 && u.tunPort == [2]byte{} {
		return EINVAL
	}
	if u.weight < 0 || u.lthresh > u.uthresh {
		return ERANGE
	}
	if cmd == 5 {
		if existing != nil {
			return EEXIST
		}
		// list_add_rcu: a new destination, or one deleted and added again, goes to the
		// head of the service's list, and dumps list the newest first.
		svc.dests = slices.Insert(svc.dests, 0, u)
		return nil
	}
	if existing == nil {
		return ENOENT
	}
	u.active, u.inact, u.persist, u.stats = existing.active, existing.inact, existing.persist, existing.stats
	*existing = *u
	return nil
}

func (s *Server) newDaemon(nest []byte) error {
	if nest == nil {
		return EINVAL
	}
	a, err := attrs(nest)
	if err != nil {
		return err
	}
	st, ok := u32(a[1])
	id, ok2 := u32(a[3])
	if !ok || a[2] == nil || !ok2 {
		return EINVAL
	}
	if st != 1 && st != 2 {
		return EINVAL
	}
	for _, d := range s.daemons {
		if d.state == st {
			return EEXIST
		}
	}
	d := &daemon{state: st, ifn: cstr(a[2]), syncID: id, port: 8848, ttl: 1, group: []byte{224, 0, 0, 81}}
	if v, ok := u16(a[4]); ok {
		d.maxLen = v
	}
	if v := a[5]; len(v) == 4 {
		d.group, d.group6 = v, false
	}
	if v := a[6]; len(v) == 16 {
		d.group, d.group6 = v, true
	}
	if v, ok := u16(a[7]); ok {
		d.port = v
	}
	if v := a[8]; len(v) >= 1 {
		d.ttl = v[0]
	}
	if d.maxLen == 0 {
		d.maxLen = 1472
	}
	s.daemons = append(s.daemons, d)
	return nil
}

func (s *Server) delDaemon(nest []byte) error {
	if nest == nil {
		return EINVAL
	}
	a, err := attrs(nest)
	if err != nil {
		return err
	}
	st, ok := u32(a[1])
	if !ok {
		return EINVAL
	}
	for i, d := range s.daemons {
		if d.state == st {
			s.daemons = slices.Delete(s.daemons, i, i+1)
			return nil
		}
	}
	return ESRCH
}

func message(cmd uint8, ae *netlink.AttributeEncoder) genetlink.Message {
	b, err := ae.Encode()
	if err != nil {
		panic(err) // only fixed-size attributes are encoded here
	}
	return genetlink.Message{Header: genetlink.Header{Command: cmd, Version: 1}, Data: b}
}

func (s *Server) encodeStats(ae *netlink.AttributeEncoder, legacy, wide uint16, c counters) {
	ae.Nested(legacy, func(n *netlink.AttributeEncoder) error {
		n.Uint32(1, uint32(c.conns))
		n.Uint32(2, uint32(c.inpkts))
		n.Uint32(3, uint32(c.outpkts))
		n.Uint64(4, c.inbytes)
		n.Uint64(5, c.outbytes)
		n.Uint32(6, uint32(c.cps))
		n.Uint32(7, uint32(c.inpps))
		n.Uint32(8, uint32(c.outpps))
		n.Uint32(9, uint32(c.inbps))
		n.Uint32(10, uint32(c.outbps))
		return nil
	})
	if s.cfg.NoStats64 {
		return
	}
	ae.Nested(wide, func(n *netlink.AttributeEncoder) error {
		for i, v := range []uint64{c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes, c.cps, c.inpps, c.outpps, c.inbps, c.outbps} {
			n.Uint64(uint16(i+1), v)
		}
		return nil
	})
}

func (s *Server) serviceMessage(svc *service) genetlink.Message {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(1, func(n *netlink.AttributeEncoder) error {
		n.Uint16(1, svc.af)
		if svc.fwmark != 0 {
			n.Uint32(5, svc.fwmark)
		} else {
			n.Uint16(2, svc.protocol)
			n.Bytes(3, svc.addr[:])
			n.Bytes(4, svc.port[:])
		}
		n.String(6, svc.sched)
		if svc.pe != "" {
			n.String(11, svc.pe)
		}
		fl := make([]byte, 8)
		binary.NativeEndian.PutUint32(fl, svc.flags|flagHashed)
		binary.NativeEndian.PutUint32(fl[4:], ^uint32(0))
		n.Bytes(7, fl)
		n.Uint32(8, svc.timeout)
		n.Bytes(9, svc.netmask[:])
		s.encodeStats(n, 10, 12, svc.stats)
		return nil
	})
	return message(1, ae)
}

func (s *Server) dumpServices() []genetlink.Message {
	out := make([]genetlink.Message, 0, len(s.services))
	for _, svc := range s.dumpOrder() {
		out = append(out, s.serviceMessage(svc))
	}
	return out
}

func (s *Server) destMessage(d *dest) genetlink.Message {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(2, func(n *netlink.AttributeEncoder) error {
		n.Bytes(1, d.addr[:])
		n.Bytes(2, d.port[:])
		n.Uint32(3, d.fwd)
		n.Uint32(4, uint32(d.weight))
		n.Uint8(13, d.tunType)
		n.Bytes(14, d.tunPort[:])
		n.Uint16(15, d.tunFlags)
		n.Uint32(5, d.uthresh)
		n.Uint32(6, d.lthresh)
		n.Uint32(7, d.active)
		n.Uint32(8, d.inact)
		n.Uint32(9, d.persist)
		if !s.cfg.NoAddrFamily {
			n.Uint16(11, d.af)
		}
		s.encodeStats(n, 10, 12, d.stats)
		return nil
	})
	return message(5, ae)
}

func daemonMessage(d *daemon) genetlink.Message {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(3, func(n *netlink.AttributeEncoder) error {
		n.Uint32(1, d.state)
		n.String(2, d.ifn)
		n.Uint32(3, d.syncID)
		n.Uint16(4, d.maxLen)
		if d.group6 {
			n.Bytes(6, d.group)
		} else {
			n.Bytes(5, d.group)
		}
		n.Uint16(7, d.port)
		n.Uint8(8, d.ttl)
		return nil
	})
	return message(9, ae)
}
