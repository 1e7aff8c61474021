package route

import (
	"io"
	"sync"
	"syscall"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// fakeKernel is an in-memory routing table behind an nltest connection. It answers
// route requests the way Linux does for the parts this package relies on (EEXIST for
// an exclusive add of a prefix that is there, deletion only of a matching non-zero
// protocol, ESRCH when nothing matches) and records every request it decodes.
type fakeKernel struct {
	t      *testing.T
	mu     sync.Mutex
	routes []rtmsg
	reqs   []fakeReq
	// fail, when non-zero, is returned as the errno of the next add or delete.
	fail syscall.Errno
}

type fakeReq struct {
	typ   netlink.HeaderType
	flags netlink.HeaderFlags
	msg   rtmsg
}

func newFakeKernel(t *testing.T, routes ...rtmsg) (*fakeKernel, *netlink.Conn) {
	k := &fakeKernel{t: t, routes: routes}
	conn := nltest.Dial(k.handle)
	t.Cleanup(func() { conn.Close() })
	return k, conn
}

func (k *fakeKernel) requests() []fakeReq {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]fakeReq(nil), k.reqs...)
}

func (k *fakeKernel) handle(reqs []netlink.Message) ([]netlink.Message, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	req := reqs[0]
	var m rtmsg
	if err := m.unmarshal(req.Data); err != nil {
		k.t.Errorf("fake kernel: bad request: %v", err)
		return errReply(int(syscall.EINVAL), reqs)
	}
	k.reqs = append(k.reqs, fakeReq{typ: req.Header.Type, flags: req.Header.Flags, msg: m})
	if k.fail != 0 && req.Header.Type != rtmGetRoute {
		errno := k.fail
		k.fail = 0
		return errReply(int(errno), reqs)
	}
	same := func(r rtmsg) bool {
		return r.family == m.family && r.table == m.table && r.dst == m.dst && r.dstLen == m.dstLen
	}
	switch req.Header.Type {
	case rtmNewRoute:
		for i, r := range k.routes {
			if !same(r) {
				continue
			}
			if req.Header.Flags&netlink.Excl != 0 {
				return errReply(int(syscall.EEXIST), reqs)
			}
			if req.Header.Flags&netlink.Replace != 0 {
				k.routes[i] = m
				return errReply(0, reqs)
			}
		}
		k.routes = append(k.routes, m)
		return errReply(0, reqs)
	case rtmDelRoute:
		for i, r := range k.routes {
			if same(r) && (m.protocol == 0 || m.protocol == r.protocol) {
				k.routes = append(k.routes[:i], k.routes[i+1:]...)
				return errReply(0, reqs)
			}
		}
		return errReply(int(syscall.ESRCH), reqs)
	case rtmGetRoute:
		// Like a kernel without strict checking: every table, every protocol.
		var out []netlink.Message
		for _, r := range k.routes {
			b, err := r.marshal()
			if err != nil {
				k.t.Fatal(err)
			}
			out = append(out, netlink.Message{Header: netlink.Header{Type: rtmNewRoute, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: b})
		}
		if len(out) == 0 {
			return nil, io.EOF
		}
		// Multipart turns the last message into the end of the dump.
		out = append(out, netlink.Message{Header: netlink.Header{Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: make([]byte, 4)})
		return nltest.Multipart(out)
	}
	return errReply(int(syscall.EOPNOTSUPP), reqs)
}

// errReply is nltest.Error with the request's flags cleared: in an error message the
// bit of NLM_F_EXCL means NLM_F_ACK_TLVS, which would make netlink look for extended
// acknowledgement attributes the fake does not send.
func errReply(errno int, reqs []netlink.Message) ([]netlink.Message, error) {
	req := reqs[0]
	req.Header.Flags = 0
	return nltest.Error(errno, []netlink.Message{req})
}
