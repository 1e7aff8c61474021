package ipvstest_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// These tests speak raw generic netlink to the fake, below the ipvs package, to check
// that it enforces the kernel's rules (net/netfilter/ipvs/ip_vs_ctl.c) by itself.

// attr is one netlink attribute; a nest holds others.
type attr struct {
	typ  uint16
	data []byte
	nest []attr
}

func encode(ae *netlink.AttributeEncoder, as []attr) {
	for _, a := range as {
		if a.nest != nil {
			ae.Nested(a.typ, func(n *netlink.AttributeEncoder) error { encode(n, a.nest); return nil })
			continue
		}
		ae.Bytes(a.typ, a.data)
	}
}

func u16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func flags(f, mask uint32) []byte {
	return binary.NativeEndian.AppendUint32(u32(f), mask)
}

const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
)

var (
	vip = []byte{192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	rip = []byte{198, 51, 100, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
)

// svcID names TCP 192.0.2.1:80.
func svcID() []attr {
	return []attr{{typ: 1, data: u16(2 /* AF_INET */)}, {typ: 2, data: u16(6 /* TCP */)},
		{typ: 3, data: vip}, {typ: 4, data: []byte{0, 80}}}
}

// svcFull is svcID with the configuration NEW_SERVICE requires.
func svcFull(sched string, f, mask uint32) []attr {
	return append(svcID(), attr{typ: 6, data: append([]byte(sched), 0)}, attr{typ: 7, data: flags(f, mask)},
		attr{typ: 8, data: u32(0)}, attr{typ: 9, data: u32(0xffffffff)})
}

// dstFull is 198.51.100.10:80, DR, weight w, with the configuration NEW_DEST requires.
func dstFull(w int32) []attr {
	return []attr{{typ: 1, data: rip}, {typ: 2, data: []byte{0, 80}}, {typ: 3, data: u32(3)},
		{typ: 4, data: u32(uint32(w))}, {typ: 5, data: u32(0)}, {typ: 6, data: u32(0)}}
}

func without(as []attr, typ uint16) []attr {
	var out []attr
	for _, a := range as {
		if a.typ != typ {
			out = append(out, a)
		}
	}
	return out
}

type fake struct {
	t   *testing.T
	c   *genetlink.Conn
	fam uint16
}

func newFake(t *testing.T) *fake {
	t.Helper()
	c := genetlink.NewConn(ipvstest.New(&ipvstest.Config{ErrnoMessages: true}).Dial())
	t.Cleanup(func() { c.Close() })
	f, err := c.GetFamily("IPVS")
	if err != nil {
		t.Fatalf("GetFamily: %v", err)
	}
	if f.ID != ipvstest.FamilyID || f.Version != 1 {
		t.Fatalf("family %+v, want ID %#x version 1", f, ipvstest.FamilyID)
	}
	return &fake{t: t, c: c, fam: f.ID}
}

// do sends one request and returns the replies' attribute bytes.
func (f *fake) do(cmd uint8, dump bool, as ...attr) ([][]byte, error) {
	ae := netlink.NewAttributeEncoder()
	encode(ae, as)
	b, err := ae.Encode()
	if err != nil {
		f.t.Fatal(err)
	}
	fl := netlink.Request | netlink.Acknowledge
	if dump {
		fl = netlink.Request | netlink.Dump
	}
	msgs, err := f.c.Execute(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: 1}, Data: b}, f.fam, fl)
	var out [][]byte
	for _, m := range msgs {
		out = append(out, m.Data)
	}
	return out, err
}

func (f *fake) must(cmd uint8, as ...attr) {
	f.t.Helper()
	if _, err := f.do(cmd, false, as...); err != nil {
		f.t.Fatalf("command %d: %v", cmd, err)
	}
}

// errnoOf returns the errno of an error reply of the fake: netlink's OpError carries it
// on Linux, the fake's ErrnoMessage on every OS; where both exist they must agree.
func errnoOf(t *testing.T, err error) ipvstest.Errno {
	t.Helper()
	var oe *netlink.OpError
	if !errors.As(err, &oe) {
		return 0
	}
	var fromMsg ipvstest.Errno
	if _, serr := fmt.Sscanf(oe.Message, "ipvstest: errno %d", &fromMsg); serr != nil {
		t.Errorf("error reply without the errno message: %v", err)
	} else if oe.Message != ipvstest.ErrnoMessage(fromMsg) {
		t.Errorf("message %q, want %q", oe.Message, ipvstest.ErrnoMessage(fromMsg))
	}
	var se syscall.Errno
	if runtime.GOOS == "linux" {
		if !errors.As(oe.Err, &se) {
			t.Fatalf("on Linux, netlink's OpError holds no errno: %v", err)
		}
		if ipvstest.Errno(se) != fromMsg {
			t.Errorf("OpError errno %d, message errno %d", se, fromMsg)
		}
	}
	return fromMsg
}

func TestKernelErrors(t *testing.T) {
	svc := func(as []attr) attr { return attr{typ: 1, nest: as} }
	dst := func(as []attr) attr { return attr{typ: 2, nest: as} }
	tests := []struct {
		name  string
		setup bool // create the service (and its destination) first
		cmd   uint8
		attrs []attr
		want  ipvstest.Errno
	}{
		{"new service without service nest", false, cmdNewService, nil, ipvstest.EINVAL},
		{"new service without family", false, cmdNewService, []attr{svc(without(svcFull("rr", 0, 0), 1))}, ipvstest.EINVAL},
		{"new service without address", false, cmdNewService, []attr{svc(without(svcFull("rr", 0, 0), 3))}, ipvstest.EINVAL},
		{"new service without scheduler", false, cmdNewService, []attr{svc(without(svcFull("rr", 0, 0), 6))}, ipvstest.EINVAL},
		{"new service without flags", false, cmdNewService, []attr{svc(without(svcFull("rr", 0, 0), 7))}, ipvstest.EINVAL},
		{"new service without timeout", false, cmdNewService, []attr{svc(without(svcFull("rr", 0, 0), 8))}, ipvstest.EINVAL},
		{"new service without netmask", false, cmdNewService, []attr{svc(without(svcFull("rr", 0, 0), 9))}, ipvstest.EINVAL},
		{"new service with bad family", false, cmdNewService,
			[]attr{svc(append([]attr{{typ: 1, data: u16(7)}}, without(svcFull("rr", 0, 0), 1)...))}, ipvstest.EAFNOSUPPORT},
		{"new service unknown scheduler", false, cmdNewService, []attr{svc(svcFull("nosuch", 0, 0))}, ipvstest.ENOENT},
		{"new service exists", true, cmdNewService, []attr{svc(svcFull("rr", 0, 0))}, ipvstest.EEXIST},
		{"set missing service", false, cmdSetService, []attr{svc(svcFull("rr", 0, 0))}, ipvstest.ESRCH},
		{"delete missing service", false, cmdDelService, []attr{svc(svcID())}, ipvstest.ESRCH},
		{"get missing service", false, cmdGetService, []attr{svc(svcID())}, ipvstest.ESRCH},
		{"new dest of missing service", false, cmdNewDest, []attr{svc(svcID()), dst(dstFull(1))}, ipvstest.ESRCH},
		{"new dest without dest nest", true, cmdNewDest, []attr{svc(svcID())}, ipvstest.EINVAL},
		{"new dest without forwarding method", true, cmdNewDest, []attr{svc(svcID()), dst(without(dstFull(1), 3))}, ipvstest.EINVAL},
		{"new dest without weight", true, cmdNewDest, []attr{svc(svcID()), dst(without(dstFull(1), 4))}, ipvstest.EINVAL},
		{"new dest exists", true, cmdNewDest, []attr{svc(svcID()), dst(dstFull(1))}, ipvstest.EEXIST},
		{"new dest negative weight", false, cmdNewDest, []attr{svc(svcID()), dst(dstFull(-1))}, ipvstest.ERANGE},
		{"set missing dest", false, cmdSetDest, []attr{svc(svcID()), dst(dstFull(1))}, ipvstest.ENOENT},
		{"delete missing dest", false, cmdDelDest, []attr{svc(svcID()), dst(dstFull(1)[:2])}, ipvstest.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			needSvc := tt.setup || tt.want == ipvstest.ERANGE || tt.cmd == cmdSetDest || tt.cmd == cmdDelDest
			if needSvc {
				f.must(cmdNewService, svc(svcFull("rr", 0, 0)))
			}
			if tt.setup && tt.cmd == cmdNewDest {
				f.must(cmdNewDest, svc(svcID()), dst(dstFull(1)))
			}
			_, err := f.do(tt.cmd, false, tt.attrs...)
			if got := errnoOf(t, err); got != tt.want {
				t.Fatalf("err = %v (errno %d), want errno %d (%v)", err, got, tt.want, tt.want)
			}
		})
	}
}

// serviceFlags returns the flags attribute of a service dump reply.
func serviceFlags(t *testing.T, reply []byte) uint32 {
	t.Helper()
	ad, err := netlink.NewAttributeDecoder(reply)
	if err != nil {
		t.Fatal(err)
	}
	var fl uint32
	found := false
	for ad.Next() {
		if ad.Type() != 1 {
			continue
		}
		ad.Nested(func(nad *netlink.AttributeDecoder) error {
			for nad.Next() {
				if nad.Type() == 7 {
					b := nad.Bytes()
					fl, found = binary.NativeEndian.Uint32(b), len(b) == 8
				}
			}
			return nil
		})
	}
	if err := ad.Err(); err != nil || !found {
		t.Fatalf("no 8-byte flags attribute in %x (%v)", reply, err)
	}
	return fl
}

func TestFlagsMaskAndHashed(t *testing.T) {
	const (
		persistent = 0x1
		hashed     = 0x2
		onePacket  = 0x4
		sched1     = 0x8
	)
	tests := []struct {
		name      string
		create    [2]uint32 // flags, mask
		update    *[2]uint32
		wantFlags uint32
	}{
		{"kernel adds HASHED to dumps", [2]uint32{persistent, ^uint32(0)}, nil, persistent | hashed},
		{"HASHED sent by the user is ignored", [2]uint32{hashed | onePacket, ^uint32(0)}, nil, onePacket | hashed},
		{"mask limits what is set", [2]uint32{persistent | onePacket, persistent}, nil, persistent | hashed},
		{"update keeps flags outside the mask", [2]uint32{persistent, ^uint32(0)}, &[2]uint32{sched1, sched1},
			persistent | sched1 | hashed},
		{"update clears flags inside the mask", [2]uint32{persistent | sched1, ^uint32(0)}, &[2]uint32{0, persistent},
			sched1 | hashed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.must(cmdNewService, attr{typ: 1, nest: svcFull("sh", tt.create[0], tt.create[1])})
			if tt.update != nil {
				f.must(cmdSetService, attr{typ: 1, nest: svcFull("sh", tt.update[0], tt.update[1])})
			}
			for _, dump := range []bool{true, false} {
				var as []attr
				if !dump {
					as = []attr{{typ: 1, nest: svcID()}}
				}
				replies, err := f.do(cmdGetService, dump, as...)
				if err != nil || len(replies) != 1 {
					t.Fatalf("get (dump %v): %d replies, %v", dump, len(replies), err)
				}
				if got := serviceFlags(t, replies[0]); got != tt.wantFlags {
					t.Errorf("flags (dump %v) = %#x, want %#x", dump, got, tt.wantFlags)
				}
			}
		})
	}
}

func TestDumps(t *testing.T) {
	f := newFake(t)
	// An empty table and a missing service both give empty dumps, not errors.
	for _, tc := range []struct {
		name string
		cmd  uint8
		as   []attr
	}{
		{"services of an empty table", cmdGetService, nil},
		{"destinations of a missing service", cmdGetDest, []attr{{typ: 1, nest: svcID()}}},
	} {
		replies, err := f.do(tc.cmd, true, tc.as...)
		if err != nil || len(replies) != 0 {
			t.Errorf("%s: %d replies, %v; want none and no error", tc.name, len(replies), err)
		}
	}
	f.must(cmdNewService, attr{typ: 1, nest: svcFull("rr", 0, 0)})
	for i := range byte(3) {
		d := dstFull(int32(i))
		d[0].data = []byte{198, 51, 100, 10 + i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		f.must(cmdNewDest, attr{typ: 1, nest: svcID()}, attr{typ: 2, nest: d})
	}
	dests := func() [][]byte {
		t.Helper()
		replies, err := f.do(cmdGetDest, true, attr{typ: 1, nest: svcID()})
		if err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		for _, r := range replies {
			ad, err := netlink.NewAttributeDecoder(r)
			if err != nil {
				t.Fatal(err)
			}
			for ad.Next() {
				ad.Nested(func(nad *netlink.AttributeDecoder) error {
					for nad.Next() {
						if nad.Type() == 1 {
							got = append(got, nad.Bytes()[:4])
						}
					}
					return nil
				})
			}
		}
		return got
	}
	// The kernel adds a destination at the head of its service's list (list_add_rcu):
	// newest first, and one deleted and added again moves to the front.
	if diff := cmp.Diff([][]byte{{198, 51, 100, 12}, {198, 51, 100, 11}, {198, 51, 100, 10}}, dests()); diff != "" {
		t.Errorf("destinations as added (-want +got):\n%s", diff)
	}
	f.must(cmdDelDest, attr{typ: 1, nest: svcID()}, attr{typ: 2, nest: dstFull(0)[:2]})
	if diff := cmp.Diff([][]byte{{198, 51, 100, 12}, {198, 51, 100, 11}}, dests()); diff != "" {
		t.Errorf("destinations after deleting the oldest (-want +got):\n%s", diff)
	}
	f.must(cmdNewDest, attr{typ: 1, nest: svcID()}, attr{typ: 2, nest: dstFull(5)})
	if diff := cmp.Diff([][]byte{{198, 51, 100, 10}, {198, 51, 100, 12}, {198, 51, 100, 11}}, dests()); diff != "" {
		t.Errorf("destinations after adding the oldest again (-want +got):\n%s", diff)
	}
	// Changing a destination leaves it where it is.
	f.must(cmdSetDest, attr{typ: 1, nest: svcID()}, attr{typ: 2, nest: dstFull(7)})
	if diff := cmp.Diff([][]byte{{198, 51, 100, 10}, {198, 51, 100, 12}, {198, 51, 100, 11}}, dests()); diff != "" {
		t.Errorf("destinations after changing one (-want +got):\n%s", diff)
	}
	// Deleting the service takes its destinations: their dump is empty again.
	f.must(cmdDelService, attr{typ: 1, nest: svcID()})
	if replies, err := f.do(cmdGetDest, true, attr{typ: 1, nest: svcID()}); err != nil || len(replies) != 0 {
		t.Errorf("destinations of a deleted service: %d replies, %v", len(replies), err)
	}
}
