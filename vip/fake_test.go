package vip

import (
	"encoding/binary"
	"net"
	"slices"
	"sync"
	"syscall"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// fakeKernel answers rtnetlink address and link requests from memory, the way Linux
// does for the cases vip uses.
type fakeKernel struct {
	mu        sync.Mutex
	links     []link
	addrs     []ifaddr
	keepProto bool // false: drop IFA_PROTO like kernels before 5.18
	failAdd   int  // non-zero: RTM_NEWADDR fails with this errno
	// added keeps the bodies of RTM_NEWADDR requests, to check what was sent.
	added []ifaddr
	flags []netlink.HeaderFlags
}

func newFakeKernel(keepProto bool) *fakeKernel {
	return &fakeKernel{
		keepProto: keepProto,
		links: []link{
			{index: 1, name: "lo", flags: iffUp | iffRunning},
			{index: 2, name: "eth0", flags: iffUp | iffRunning, mac: net.HardwareAddr{2, 0, 0, 0, 0, 2}},
		},
	}
}

func (k *fakeKernel) client(cfg *Config) *Client {
	c := NewClient(nltest.Dial(k.handle), cfg)
	c.kernelProto = k.keepProto
	return c
}

// errReply is an NLMSG_ERROR reply (errno 0 is an ack). nltest.Error would copy the
// request's flags, and NLM_F_EXCL shares its bit with NLM_F_ACK_TLVS in replies.
func (k *fakeKernel) errReply(errno int, reqs []netlink.Message) ([]netlink.Message, error) {
	req := reqs[0]
	data := binary.NativeEndian.AppendUint32(nil, uint32(int32(-errno)))
	data = append(data, make([]byte, 16)...)
	return []netlink.Message{{Header: netlink.Header{Type: netlink.Error, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: data}}, nil
}

func (k *fakeKernel) handle(reqs []netlink.Message) ([]netlink.Message, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	req := reqs[0]
	reply := func(typ netlink.HeaderType, data []byte) netlink.Message {
		return netlink.Message{Header: netlink.Header{Type: typ, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: data}
	}
	dump := func(ms []netlink.Message) ([]netlink.Message, error) {
		return nltest.Multipart(append(ms, reply(netlink.Done, nil)))
	}
	switch req.Header.Type {
	case rtmGetLink:
		var ms []netlink.Message
		for _, l := range k.links {
			ms = append(ms, reply(rtmNewLink, l.marshal()))
		}
		return dump(ms)
	case rtmGetAddr:
		var ms []netlink.Message
		for _, a := range k.addrs {
			b, err := a.marshal()
			if err != nil {
				return nil, err
			}
			ms = append(ms, reply(rtmNewAddr, b))
		}
		return dump(ms)
	case rtmNewAddr:
		var a ifaddr
		if err := a.unmarshal(req.Data); err != nil {
			return k.errReply(int(syscall.EINVAL), reqs)
		}
		k.added = append(k.added, a)
		k.flags = append(k.flags, req.Header.Flags)
		if k.failAdd != 0 {
			return k.errReply(k.failAdd, reqs)
		}
		for _, e := range k.addrs {
			if e.index == a.index && e.addr == a.addr {
				return k.errReply(int(syscall.EEXIST), reqs)
			}
		}
		if !k.keepProto {
			a.proto, a.hasProto = 0, false
		}
		if a.family == afInet && a.label == "" {
			a.label = k.links[slices.IndexFunc(k.links, func(l link) bool { return l.index == a.index })].name
		}
		k.addrs = append(k.addrs, a)
		return k.errReply(0, reqs)
	case rtmDelAddr:
		var a ifaddr
		if err := a.unmarshal(req.Data); err != nil {
			return k.errReply(int(syscall.EINVAL), reqs)
		}
		i := slices.IndexFunc(k.addrs, func(e ifaddr) bool {
			return e.index == a.index && e.addr == a.addr && e.prefixLen == a.prefixLen
		})
		if i < 0 {
			return k.errReply(int(syscall.EADDRNOTAVAIL), reqs)
		}
		k.addrs = slices.Delete(k.addrs, i, i+1)
		return k.errReply(0, reqs)
	}
	return k.errReply(int(syscall.EOPNOTSUPP), reqs)
}
