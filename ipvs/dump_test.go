package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

// nlmsg builds one netlink message: header, payload, padding.
func nlmsg(typ uint16, flags netlink.HeaderFlags, seq uint32, payload ...byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(nlmsgHdrLen+len(payload)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, uint16(flags))
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 1234)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// genlmsg is a generic-netlink reply of the IPVS family (id 30) carrying attrs.
func genlmsg(seq uint32, cmd uint8, attrs ...[]byte) []byte {
	return nlmsg(30, netlink.Multi, seq, cat([]byte{cmd, familyVersion, 0, 0}, cat(attrs...))...)
}

func doneMsg(seq uint32, code int32) []byte {
	return nlmsg(nlmsgDone, netlink.Multi, seq, ne32(uint32(code))...)
}

func errMsg(seq uint32, errno syscall.Errno) []byte {
	return nlmsg(nlmsgError, 0, seq, ne32(uint32(-int32(errno)))...)
}

func destBody(addr string, port uint16, weight int32) []byte {
	a := netip.MustParseAddr(addr)
	return nest(attrDest, attr(dstAddr, addr16(a, familyOf(a))...), attr(dstPort, be16(port)...),
		attr(dstFwdMethod, ne32(uint32(DirectRoute))...), attr(dstWeight, ne32(uint32(weight))...),
		attr(dstAddrFamily, ne16(uint16(IPv4))...))
}

// fakeIO serves prepared datagrams and records the requests.
type fakeIO struct {
	sent  [][]byte
	reply func(seq uint32) [][]byte
	queue [][]byte
	err   error
}

func (f *fakeIO) send(b []byte) error {
	f.sent = append(f.sent, append([]byte(nil), b...))
	f.queue = append(f.queue, f.reply(binary.NativeEndian.Uint32(b[8:]))...)
	return nil
}

func (f *fakeIO) arm(context.Context, time.Time) {}

func (f *fakeIO) close() error { return nil }

func (f *fakeIO) recv(b []byte) (int, error) {
	if len(f.queue) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		return 0, errors.New("fakeIO: nothing queued")
	}
	d := f.queue[0]
	f.queue = f.queue[1:]
	return copy(b, d) + max(0, len(d)-len(b)), nil
}

func TestAppendServiceIDMatchesEncoder(t *testing.T) {
	for _, s := range []Service{
		{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80},
		{Protocol: UDP, Address: netip.MustParseAddr("2001:db8::1"), Port: 53},
		{Protocol: SCTP, Address: netip.MustParseAddr("::ffff:192.0.2.9"), Port: 9},
		{FWMark: 7},
		{Family: IPv6, FWMark: 0xfffffff},
	} {
		t.Run(s.String(), func(t *testing.T) {
			want := encodeWith(t, func(ae *netlink.AttributeEncoder) { encodeService(ae, s, false) })
			got := appendServiceID(nil, s)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("appendServiceID (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDumperDests(t *testing.T) {
	svc := Service{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: 80}
	d1 := DestinationStatus{Destination: Destination{Family: IPv4, Address: netip.MustParseAddr("198.51.100.1"), Port: 80, Forward: DirectRoute, Weight: 1}}
	d2 := DestinationStatus{Destination: Destination{Family: IPv4, Address: netip.MustParseAddr("198.51.100.2"), Port: 8080, Forward: DirectRoute, Weight: 3}}
	tests := []struct {
		name    string
		reply   func(seq uint32) [][]byte
		want    []DestinationStatus
		wantErr error
	}{
		{"one datagram then DONE", func(seq uint32) [][]byte {
			return [][]byte{cat(genlmsg(seq, cmdNewDest, destBody("198.51.100.1", 80, 1)), genlmsg(seq, cmdNewDest, destBody("198.51.100.2", 8080, 3))),
				doneMsg(seq, 0)}
		}, []DestinationStatus{d1, d2}, nil},
		{"DONE in the same datagram", func(seq uint32) [][]byte {
			return [][]byte{cat(genlmsg(seq, cmdNewDest, destBody("198.51.100.1", 80, 1)), doneMsg(seq, 0))}
		}, []DestinationStatus{d1}, nil},
		{"stale replies of an older sequence are skipped", func(seq uint32) [][]byte {
			return [][]byte{cat(genlmsg(seq-1, cmdNewDest, destBody("198.51.100.9", 1, 1)), doneMsg(seq-1, 0)),
				genlmsg(seq, cmdNewDest, destBody("198.51.100.2", 8080, 3)), doneMsg(seq, 0)}
		}, []DestinationStatus{d2}, nil},
		{"empty dump", func(seq uint32) [][]byte { return [][]byte{doneMsg(seq, 0)} }, []DestinationStatus{}, nil},
		{"short DONE", func(seq uint32) [][]byte { return [][]byte{nlmsg(nlmsgDone, netlink.Multi, seq)} }, []DestinationStatus{}, nil},
		{"error message", func(seq uint32) [][]byte { return [][]byte{errMsg(seq, syscall.EPERM)} }, nil, syscall.EPERM},
		{"error in DONE", func(seq uint32) [][]byte { return [][]byte{doneMsg(seq, -int32(syscall.EINTR))} }, nil, syscall.EINTR},
		{"truncated datagram", func(seq uint32) [][]byte { return [][]byte{make([]byte, dumpBuffer+4)} }, nil, errTruncatedForTest},
		{"malformed header", func(seq uint32) [][]byte { return [][]byte{{1, 2, 3}} }, nil, errBadMessage},
		{"bad destination", func(seq uint32) [][]byte {
			return [][]byte{genlmsg(seq, cmdNewDest, nest(attrDest, attr(dstPort, 1)))}
		}, nil, errShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io := &fakeIO{reply: tt.reply}
			d := newDumperIO(30, io)
			got, err := d.dumpDests(svc, &destArena{})
			switch {
			case tt.wantErr == errTruncatedForTest:
				if err == nil {
					t.Fatalf("dumpDests = %v, want a truncation error", got)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("dumpDests error = %v, want %v", err, tt.wantErr)
				}
				if errno, ok := tt.wantErr.(syscall.Errno); ok {
					if got, ok := kernelErrno(err); !ok || got != errno {
						t.Errorf("kernelErrno = %v, %v; want %v, true", got, ok, errno)
					}
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, exact); diff != "" {
				t.Errorf("destinations (-want +got):\n%s", diff)
			}
			if got == nil {
				t.Error("destinations are nil, want an empty slice")
			}
			// The request: a dump of GET_DEST for svc, in the family.
			req := io.sent[0]
			if n := binary.NativeEndian.Uint32(req); int(n) != len(req) {
				t.Errorf("request length field %d, request %d bytes", n, len(req))
			}
			wantHdr := binary.NativeEndian.AppendUint16(nil, 30)
			wantHdr = binary.NativeEndian.AppendUint16(wantHdr, uint16(netlink.Request|netlink.Dump))
			if diff := cmp.Diff(wantHdr, req[4:8]); diff != "" {
				t.Errorf("request type and flags (-want +got):\n%s", diff)
			}
			wantBody := cat([]byte{cmdGetDest, familyVersion, 0, 0}, encodeWith(t, func(ae *netlink.AttributeEncoder) { encodeService(ae, svc, false) }))
			if diff := cmp.Diff(wantBody, req[nlmsgHdrLen:]); diff != "" {
				t.Errorf("request body (-want +got):\n%s", diff)
			}
		})
	}
}

var errTruncatedForTest = errors.New("truncated")

func TestDumperArena(t *testing.T) {
	io := &fakeIO{reply: func(seq uint32) [][]byte {
		return [][]byte{cat(genlmsg(seq, cmdNewDest, destBody("198.51.100.1", 80, 1)), genlmsg(seq, cmdNewDest, destBody("198.51.100.2", 80, 2))),
			doneMsg(seq, 0)}
	}}
	d := newDumperIO(30, io)
	a := destArena{chunkSize: 3}
	svc := Service{FWMark: 1}
	var all [][]DestinationStatus
	for range 3 {
		ds, err := d.dumpDests(svc, &a)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ds)
	}
	for i, ds := range all {
		if len(ds) != 2 || cap(ds) != 2 {
			t.Fatalf("service %d: len %d cap %d, want 2 and 2", i, len(ds), cap(ds))
		}
		if ds[0].Destination.Weight != 1 || ds[1].Destination.Weight != 2 {
			t.Errorf("service %d: weights %d %d, want 1 2", i, ds[0].Destination.Weight, ds[1].Destination.Weight)
		}
	}
	// Appending to one service's slice must not overwrite the next one's.
	_ = append(all[0], DestinationStatus{})
	if all[1][0].Destination.Weight != 1 {
		t.Error("append to one service's destinations changed another's")
	}
}

func TestDumperServices(t *testing.T) {
	svcAttrs := func(port uint16) []byte {
		return nest(attrService, attr(svcAF, ne16(uint16(IPv4))...), attr(svcProtocol, ne16(uint16(TCP))...),
			attr(svcAddr, addr16(netip.MustParseAddr("192.0.2.1"), IPv4)...), attr(svcPort, be16(port)...),
			attr(svcSchedName, []byte("rr\x00")...), attr(svcFlags, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff),
			attr(svcNetmask, 0xff, 0xff, 0xff, 0xff))
	}
	io := &fakeIO{reply: func(seq uint32) [][]byte {
		return [][]byte{genlmsg(seq, cmdNewService, svcAttrs(80)), genlmsg(seq, cmdNewService, svcAttrs(81)), doneMsg(seq, 0)}
	}}
	d := newDumperIO(30, io)
	got, err := d.dumpServices()
	if err != nil {
		t.Fatal(err)
	}
	var want []ServiceStatus
	for _, p := range []uint16{80, 81} {
		want = append(want, ServiceStatus{Service: Service{Family: IPv4, Protocol: TCP, Address: netip.MustParseAddr("192.0.2.1"), Port: p, Scheduler: RoundRobin}})
	}
	if diff := cmp.Diff(want, got, exact); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(cat([]byte{cmdGetService, familyVersion, 0, 0}), io.sent[0][nlmsgHdrLen:]); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
	// A failing socket is reported as such, not as a kernel error.
	io = &fakeIO{reply: func(uint32) [][]byte { return nil }, err: syscall.EBADF}
	if _, err := newDumperIO(30, io).dumpServices(); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("dumpServices on a failing socket = %v, want EBADF", err)
	} else if _, ok := kernelErrno(err); ok {
		t.Errorf("socket failure %v reported as a kernel error", err)
	}
}

func TestSchedulerName(t *testing.T) {
	for _, in := range []string{"wlc\x00", "rr", "mh\x00\x00", "custom\x00", ""} {
		want := Scheduler(cstring([]byte(in)))
		if got := schedulerName([]byte(in)); got != want {
			t.Errorf("schedulerName(%q) = %q, want %q", in, got, want)
		}
	}
	b := []byte("wlc\x00")
	if n := testing.AllocsPerRun(100, func() { _ = schedulerName(b) }); n != 0 {
		t.Errorf("schedulerName of a kernel scheduler allocates %v times", n)
	}
}

// FuzzDumpDatagram checks that parsing a datagram never panics, that every body it
// passes lies inside the datagram, and that re-framing the bodies it accepted as
// messages of the same sequence parses to the same bodies.
func FuzzDumpDatagram(f *testing.F) {
	f.Add(cat(genlmsg(5, cmdNewDest, destBody("198.51.100.1", 80, 1)), doneMsg(5, 0)), uint32(5))
	f.Add(cat(genlmsg(4, cmdNewDest, destBody("198.51.100.1", 80, 1)), errMsg(5, syscall.EPERM)), uint32(5))
	f.Add([]byte{16, 0, 0, 0, 3, 0}, uint32(0))
	f.Fuzz(func(t *testing.T, b []byte, seq uint32) {
		var bodies [][]byte
		done, err := parseDumpDatagram(b, seq, func(body []byte) error {
			bodies = append(bodies, append([]byte(nil), body...))
			return nil
		})
		if err != nil {
			return
		}
		var re []byte
		for _, body := range bodies {
			re = append(re, nlmsg(30, netlink.Multi, seq, cat([]byte{1, 1, 0, 0}, body)...)...)
		}
		if done {
			re = append(re, doneMsg(seq, 0)...)
		}
		var again [][]byte
		done2, err := parseDumpDatagram(re, seq, func(body []byte) error {
			again = append(again, append([]byte(nil), body...))
			return nil
		})
		if err != nil || done2 != done {
			t.Fatalf("re-framed datagram: done %v err %v, want done %v", done2, err, done)
		}
		if diff := cmp.Diff(bodies, again); diff != "" {
			t.Fatalf("bodies after re-framing (-want +got):\n%s", diff)
		}
	})
}
