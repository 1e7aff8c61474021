package viptest

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/lvskit/lvskit/vip"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// Link is an interface of the fake kernel.
type Link struct {
	// Name is the interface's name, such as "eth0". It must be set and unique.
	Name string
	// Index is the interface index. Zero means the link's position in Config.Links
	// plus one.
	Index int
	// HardwareAddr is the link-layer address. Nil means 02:00:00:00:00:NN with NN the
	// index, or all zeroes for "lo".
	HardwareAddr net.HardwareAddr
	// Down starts the link down. The zero value is up and running.
	Down bool
}

// Config configures a Kernel. A nil *Config means every default.
type Config struct {
	// Links are the interfaces. Nil means "lo" (index 1) and "eth0" (index 2). A link
	// named "lo" is a loopback.
	Links []Link
	// Addresses are present when New returns, as if an administrator had added them;
	// those with Owned set carry the ownership mark, as a crashed daemon leaves its
	// VIPs. Nil means none (not even 127.0.0.1 on lo).
	Addresses []vip.Address
	// Proto is the IFA_PROTO value that Addresses and AddAddress use for owned
	// addresses, and that Kernel.Addresses reports as Owned. Set it to the
	// vip.Config.Proto of the clients under test. Zero means vip.DefaultProto.
	Proto uint8
	// DropProto makes the kernel drop IFA_PROTO, as kernels before 5.18 do: no
	// address is then Owned unless the client keeps a vip.Config.StateFile (and
	// vip.NewClient assumes a kernel that keeps the mark, so its Owned finds nothing).
	// False keeps the mark.
	DropProto bool
}

// Op is a kind of request, for FailNext.
type Op int

// The kinds of request a vip.Client sends.
const (
	// OpListLinks is a link dump (RTM_GETLINK), which every Client call starts with.
	OpListLinks Op = iota + 1
	// OpListAddresses is an address dump (RTM_GETADDR), for List, Owned, Cleanup and
	// the checks Add makes before adding.
	OpListAddresses
	// OpAdd is RTM_NEWADDR, sent by Add.
	OpAdd
	// OpRemove is RTM_DELADDR, sent by Remove and Cleanup.
	OpRemove
)

// String names the operation.
func (o Op) String() string {
	switch o {
	case OpListLinks:
		return "list links"
	case OpListAddresses:
		return "list addresses"
	case OpAdd:
		return "add"
	case OpRemove:
		return "remove"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Kernel is a fake of the rtnetlink side of the Linux kernel that package vip uses.
// Its methods are safe for concurrent use, also with the requests of its connections.
type Kernel struct {
	proto     uint8
	dropProto bool

	mu    sync.Mutex
	links []link
	addrs []entry
	seq   uint64 // order of insertion, for dump order
	fail  map[Op][]Errno
}

// entry is one configured address.
type entry struct {
	index     uint32
	addr      netip.Addr
	prefixLen uint8
	scope     uint8
	flags     uint32
	label     string // IPv4 only; the link's name when unlabelled, as the kernel reports it
	proto     uint8
	hasProto  bool
	preferred uint32
	valid     uint32
	seq       uint64
}

// New returns a Kernel with cfg's links and addresses. It panics when cfg is
// inconsistent (a link without a name, two links with one name or index, an address
// that is invalid, on an unknown link or a duplicate), which is a mistake in the test.
func New(cfg *Config) *Kernel {
	if cfg == nil {
		cfg = &Config{}
	}
	k := &Kernel{proto: cfg.Proto, dropProto: cfg.DropProto, fail: map[Op][]Errno{}}
	if k.proto == 0 {
		k.proto = vip.DefaultProto
	}
	links := cfg.Links
	if links == nil {
		links = []Link{{Name: "lo"}, {Name: "eth0"}}
	}
	for i, l := range links {
		idx := uint32(l.Index)
		if idx == 0 {
			idx = uint32(i + 1)
		}
		if l.Name == "" || slices.ContainsFunc(k.links, func(o link) bool { return o.name == l.Name || o.index == idx }) {
			panic(fmt.Sprintf("viptest: link %d (%q, index %d) has no name or repeats one", i, l.Name, idx))
		}
		mac := slices.Clone(l.HardwareAddr)
		if mac == nil {
			mac = net.HardwareAddr{0, 0, 0, 0, 0, 0}
			if l.Name != "lo" {
				mac = net.HardwareAddr{2, 0, 0, 0, 0, byte(idx)}
			}
		}
		mtu := uint32(1500)
		if l.Name == "lo" {
			mtu = 65536
		}
		k.links = append(k.links, link{index: idx, name: l.Name, mac: mac, mtu: mtu, up: !l.Down, loopback: l.Name == "lo"})
	}
	for _, a := range cfg.Addresses {
		if err := k.AddAddress(a); err != nil {
			panic(fmt.Sprintf("viptest: Config.Addresses: %v", err))
		}
	}
	return k
}

// Dial returns a new rtnetlink connection to the kernel, for vip.NewClient. Each
// connection serves one request at a time, as vip.Client sends them; dial one per
// Client. The connection has no deadlines, so the Client ignores a context once a call
// has started (the fake answers at once).
func (k *Kernel) Dial() *netlink.Conn { return nltest.Dial(k.handle) }

// FailNext makes the next request of kind op fail with e, once; the request has no
// effect. Several calls queue failures for successive requests.
func (k *Kernel) FailNext(op Op, e Errno) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fail[op] = append(k.fail[op], e)
}

// Addresses returns the configured addresses in the order of the kernel's dump (see the
// package documentation), as vip.Client.List reports them: an IPv4 address labelled
// with its interface's name has no Label, and Owned means the address carries the
// Config.Proto mark.
func (k *Kernel) Addresses() []vip.Address {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []vip.Address
	for _, e := range k.sorted(0) {
		out = append(out, k.address(e))
	}
	return out
}

func (k *Kernel) address(e *entry) vip.Address {
	name := k.links[k.linkIndex(e.index)].name
	a := vip.Address{
		Interface:     name,
		Prefix:        netip.PrefixFrom(e.addr, int(e.prefixLen)),
		Scope:         vip.Scope(e.scope),
		NoPrefixRoute: e.flags&0x200 != 0,
		Owned:         e.hasProto && e.proto == k.proto,
	}
	if e.label != name {
		a.Label = e.label
	}
	return a
}

// AddAddress adds a from outside any Client, as an administrator's `ip addr add` does:
// without a mark unless a.Owned is set (then it carries Config.Proto's, as an address
// that an earlier run of the daemon left). It fails as the kernel would: an error
// wrapping ENODEV for an unknown interface and EEXIST for a duplicate.
func (k *Kernel) AddAddress(a vip.Address) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("viptest: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	i := k.linkByName(a.Interface)
	if i < 0 {
		return fmt.Errorf("viptest: add %s: %w", a, ENODEV)
	}
	m := addrMsg{
		family:    afInet6,
		prefixLen: uint8(a.Prefix.Bits()),
		scope:     uint8(a.Scope),
		index:     k.links[i].index,
		address:   a.Prefix.Addr(),
		label:     a.Label,
		proto:     k.proto,
		hasProto:  a.Owned,
		preferred: infinity,
		valid:     infinity,
	}
	if a.Is4() {
		m.family = afInet
	}
	if a.NoPrefixRoute {
		m.flags |= 0x200
	}
	if e := k.insert(m, true, true); e != 0 {
		return fmt.Errorf("viptest: add %s: %w", a, e)
	}
	return nil
}

// DeleteAddress removes the address with a's interface and prefix from outside any
// Client, as an administrator's `ip addr del` does, whoever added it. It returns an
// error wrapping EADDRNOTAVAIL when there is no such address and ENODEV when there is
// no such interface.
func (k *Kernel) DeleteAddress(a vip.Address) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := k.linkByName(a.Interface)
	if i < 0 {
		return fmt.Errorf("viptest: delete %s: %w", a, ENODEV)
	}
	m := addrMsg{prefixLen: uint8(a.Prefix.Bits()), index: k.links[i].index, address: a.Prefix.Addr()}
	if e := k.delete(m); e != 0 {
		return fmt.Errorf("viptest: delete %s: %w", a, e)
	}
	return nil
}

// SetLinkUp sets the named link up and running, or down. Taking a link down removes
// its IPv6 addresses, as Linux does unless keep_addr_on_down is set; its IPv4
// addresses stay. It returns an error wrapping ENODEV when there is no such link.
func (k *Kernel) SetLinkUp(name string, up bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := k.linkByName(name)
	if i < 0 {
		return fmt.Errorf("viptest: link %q: %w", name, ENODEV)
	}
	l := &k.links[i]
	if l.up && !up {
		k.addrs = slices.DeleteFunc(k.addrs, func(e entry) bool { return e.index == l.index && e.addr.Is6() })
	}
	l.up = up
	return nil
}

func (k *Kernel) linkByName(name string) int {
	return slices.IndexFunc(k.links, func(l link) bool { return l.name == name })
}

func (k *Kernel) linkIndex(index uint32) int {
	return slices.IndexFunc(k.links, func(l link) bool { return l.index == index })
}

// sorted returns the addresses of family (0: all) in dump order. k.mu is held.
func (k *Kernel) sorted(family uint8) []*entry {
	var out []*entry
	for i := range k.addrs {
		e := &k.addrs[i]
		if family == 0 || (family == afInet) == e.addr.Is4() {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *entry) int {
		if c := cmp.Compare(a.addr.BitLen(), b.addr.BitLen()); c != 0 {
			return c // IPv4 (AF_INET) is dumped before IPv6
		}
		if c := cmp.Compare(k.linkIndex(a.index), k.linkIndex(b.index)); c != 0 {
			return c
		}
		if a.addr.Is4() {
			return cmp.Compare(a.seq, b.seq) // appended to the interface's list
		}
		if c := cmp.Compare(a.scope, b.scope); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq) // added at the head of its scope
	})
	return out
}

// insert adds or changes an address as RTM_NEWADDR with the given NLM_F_CREATE and
// NLM_F_EXCL does. k.mu is held.
func (k *Kernel) insert(m addrMsg, create, excl bool) Errno {
	li := k.linkIndex(m.index)
	if li < 0 {
		return ENODEV
	}
	ip := m.addr()
	if !ip.IsValid() || int(m.prefixLen) > ip.BitLen() {
		return EINVAL
	}
	e := entry{
		index: m.index, addr: ip, prefixLen: m.prefixLen, scope: m.scope, label: m.label,
		proto: m.proto, hasProto: m.hasProto, preferred: m.preferred, valid: m.valid,
		flags: m.flags &^ (ifaFPermanent | ifaFDeprecated),
	}
	if k.dropProto {
		e.proto, e.hasProto = 0, false
	}
	if ip.Is4() {
		if e.label == "" {
			e.label = k.links[li].name
		}
	}
	if e.valid == infinity {
		e.flags |= ifaFPermanent
	}
	if e.preferred == 0 {
		e.flags |= ifaFDeprecated
	}
	i := slices.IndexFunc(k.addrs, func(o entry) bool {
		// IPv4 keeps the same address with another prefix length as another
		// address; IPv6 refuses the same address whatever the prefix length.
		return o.index == m.index && o.addr == ip && (ip.Is6() || o.prefixLen == m.prefixLen)
	})
	switch {
	case i >= 0 && excl:
		return EEXIST
	case i >= 0:
		e.seq = k.addrs[i].seq
		k.addrs[i] = e
		return 0
	case !create:
		return ENOENT
	}
	k.seq++
	e.seq = k.seq
	k.addrs = append(k.addrs, e)
	return 0
}

// delete removes an address as RTM_DELADDR does. k.mu is held.
func (k *Kernel) delete(m addrMsg) Errno {
	if k.linkIndex(m.index) < 0 {
		return ENODEV
	}
	ip := m.addr()
	i := slices.IndexFunc(k.addrs, func(o entry) bool {
		return o.index == m.index && o.addr == ip && o.prefixLen == m.prefixLen
	})
	if i < 0 {
		return EADDRNOTAVAIL
	}
	k.addrs = slices.Delete(k.addrs, i, i+1)
	return 0
}

// handle serves one request from a connection.
func (k *Kernel) handle(reqs []netlink.Message) ([]netlink.Message, error) {
	if len(reqs) == 0 {
		// A read with nothing sent: the fake sends no notifications.
		return nil, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	req := reqs[0]
	reply := func(typ netlink.HeaderType, data []byte) netlink.Message {
		return netlink.Message{Header: netlink.Header{Type: typ, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: data}
	}
	errReply := func(e Errno) ([]netlink.Message, error) {
		// struct nlmsgerr: the negative errno and the request's header, its payload
		// left out (NLM_F_CAPPED), as the kernel answers by default. An errno of 0
		// is an acknowledgement.
		data := binary.NativeEndian.AppendUint32(nil, uint32(-int32(e)))
		data = binary.NativeEndian.AppendUint32(data, uint32(16))
		data = binary.NativeEndian.AppendUint16(data, uint16(req.Header.Type))
		data = binary.NativeEndian.AppendUint16(data, uint16(req.Header.Flags))
		data = binary.NativeEndian.AppendUint32(data, req.Header.Sequence)
		data = binary.NativeEndian.AppendUint32(data, req.Header.PID)
		m := reply(netlink.Error, data)
		if e != 0 {
			m.Header.Flags = netlink.Capped
		}
		return []netlink.Message{m}, nil
	}
	dump := func(ms []netlink.Message) ([]netlink.Message, error) {
		return nltest.Multipart(append(ms, reply(netlink.Done, make([]byte, 4))))
	}
	var op Op
	switch req.Header.Type {
	case rtmGetLink:
		op = OpListLinks
	case rtmGetAddr:
		op = OpListAddresses
	case rtmNewAddr:
		op = OpAdd
	case rtmDelAddr:
		op = OpRemove
	default:
		return errReply(EOPNOTSUPP)
	}
	if q := k.fail[op]; len(q) > 0 {
		k.fail[op] = q[1:]
		return errReply(q[0])
	}
	switch op {
	case OpListLinks:
		if req.Header.Flags&netlink.Dump == 0 {
			return errReply(EOPNOTSUPP) // vip only dumps
		}
		var ms []netlink.Message
		for i := range k.links {
			ms = append(ms, reply(rtmNewLink, marshalLink(&k.links[i])))
		}
		return dump(ms)
	case OpListAddresses:
		if req.Header.Flags&netlink.Dump == 0 {
			return errReply(EOPNOTSUPP) // Linux has no RTM_GETADDR for one address
		}
		var family uint8
		if len(req.Data) > 0 {
			family = req.Data[0]
		}
		var ms []netlink.Message
		for _, e := range k.sorted(family) {
			ms = append(ms, reply(rtmNewAddr, marshalAddr(e)))
		}
		return dump(ms)
	case OpAdd:
		m, ok := parseAddrMsg(req.Data)
		if !ok {
			return errReply(EINVAL)
		}
		return errReply(k.insert(m, req.Header.Flags&netlink.Create != 0, req.Header.Flags&netlink.Excl != 0))
	default: // OpRemove
		m, ok := parseAddrMsg(req.Data)
		if !ok {
			return errReply(EINVAL)
		}
		return errReply(k.delete(m))
	}
}
