package route

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

var (
	vip4 = netip.MustParsePrefix("192.0.2.10/32")
	vip6 = netip.MustParsePrefix("2001:db8::10/128")
)

func newTestClient(t *testing.T, cfg *Config, routes ...rtmsg) (*Client, *fakeKernel) {
	t.Helper()
	k, conn := newFakeKernel(t, routes...)
	c, err := NewClient(conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name      string
		cfg       *Config
		wantErr   error
		wantProto uint8
	}{
		{name: "nil", cfg: nil, wantErr: ErrReservedTable},
		{name: "table 0", cfg: &Config{}, wantErr: ErrReservedTable},
		{name: "compat", cfg: &Config{Table: 252}, wantErr: ErrReservedTable},
		{name: "default", cfg: &Config{Table: 253}, wantErr: ErrReservedTable},
		{name: "main", cfg: &Config{Table: 254}, wantErr: ErrReservedTable},
		{name: "local", cfg: &Config{Table: 255}, wantErr: ErrReservedTable},
		{name: "kernel protocol", cfg: &Config{Table: 100, Protocol: 2}, wantErr: ErrReservedProtocol},
		{name: "static protocol", cfg: &Config{Table: 100, Protocol: 4}, wantErr: ErrReservedProtocol},
		{name: "bird protocol", cfg: &Config{Table: 100, Protocol: 12}, wantErr: ErrReservedProtocol},
		{name: "defaults", cfg: &Config{Table: 100}, wantProto: DefaultProtocol},
		{name: "own protocol", cfg: &Config{Table: 1000, Protocol: 200}, wantProto: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, conn := newFakeKernel(t)
			c, err := NewClient(conn, tt.cfg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewClient: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if c.Protocol() != tt.wantProto || c.Table() != tt.cfg.Table {
				t.Errorf("table %d protocol %d, want %d and %d", c.Table(), c.Protocol(), tt.cfg.Table, tt.wantProto)
			}
		})
	}
}

// TestAnnounceRequest checks the message BIRD's kernel protocol will read back: a
// blackhole route of our protocol in our table, sent as an exclusive create.
func TestAnnounceRequest(t *testing.T) {
	tests := []struct {
		name  string
		table uint32
		p     netip.Prefix
		want  rtmsg
	}{
		{
			name: "IPv4", table: 100, p: vip4,
			want: rtmsg{family: afInet, dstLen: 32, table: 100, protocol: DefaultProtocol, scope: rtScopeUniverse, typ: rtnBlackhole, dst: vip4.Addr()},
		},
		{
			name: "IPv6", table: 100, p: vip6,
			want: rtmsg{family: afInet6, dstLen: 128, table: 100, protocol: DefaultProtocol, scope: rtScopeUniverse, typ: rtnBlackhole, dst: vip6.Addr()},
		},
		{
			name: "range", table: 70000, p: netip.MustParsePrefix("198.51.100.0/24"),
			want: rtmsg{family: afInet, dstLen: 24, table: 70000, protocol: DefaultProtocol, scope: rtScopeUniverse, typ: rtnBlackhole, dst: netip.MustParseAddr("198.51.100.0")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, k := newTestClient(t, &Config{Table: tt.table})
			if err := c.Announce(ctx(t), tt.p); err != nil {
				t.Fatal(err)
			}
			reqs := k.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if reqs[0].typ != rtmNewRoute {
				t.Errorf("type %d, want RTM_NEWROUTE", reqs[0].typ)
			}
			wantFlags := netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl
			if reqs[0].flags != wantFlags {
				t.Errorf("flags %v, want %v", reqs[0].flags, wantFlags)
			}
			if diff := cmp.Diff(tt.want, reqs[0].msg, cmp.AllowUnexported(rtmsg{}), comparePrefix); diff != "" {
				t.Errorf("rtmsg (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLargeTableWire(t *testing.T) {
	// rtm_table carries RT_TABLE_COMPAT above 255 and the real id in RTA_TABLE.
	m := rtmsg{family: afInet, dstLen: 32, table: 70000, dst: vip4.Addr()}
	b, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if b[4] != rtTableCompat {
		t.Errorf("rtm_table = %d, want %d", b[4], rtTableCompat)
	}
	var got rtmsg
	if err := got.unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if got.table != 70000 {
		t.Errorf("decoded table %d, want 70000", got.table)
	}
}

func TestAnnounceExisting(t *testing.T) {
	ours := rtmsg{family: afInet, dstLen: 32, table: 100, protocol: DefaultProtocol, typ: rtnBlackhole, dst: vip4.Addr()}
	admin := rtmsg{family: afInet, dstLen: 32, table: 100, protocol: 4, typ: rtnBlackhole, dst: vip4.Addr()}
	elsewhere := rtmsg{family: afInet, dstLen: 32, table: 254, protocol: 4, typ: rtnBlackhole, dst: vip4.Addr()}

	t.Run("ours", func(t *testing.T) {
		c, _ := newTestClient(t, &Config{Table: 100}, ours)
		if err := c.Announce(ctx(t), vip4); err != nil {
			t.Errorf("Announce of a route already announced: %v, want nil", err)
		}
	})
	t.Run("administrator's", func(t *testing.T) {
		c, k := newTestClient(t, &Config{Table: 100}, admin)
		err := c.Announce(ctx(t), vip4)
		if !errors.Is(err, ErrConflict) || !errors.Is(err, syscall.EEXIST) {
			t.Errorf("Announce over another protocol's route: %v, want ErrConflict and EEXIST", err)
		}
		if diff := cmp.Diff([]rtmsg{admin}, k.routes, cmp.AllowUnexported(rtmsg{}), comparePrefix); diff != "" {
			t.Errorf("table changed (-want +got):\n%s", diff)
		}
	})
	t.Run("in another table", func(t *testing.T) {
		c, k := newTestClient(t, &Config{Table: 100}, elsewhere)
		if err := c.Announce(ctx(t), vip4); err != nil {
			t.Fatal(err)
		}
		if len(k.routes) != 2 {
			t.Errorf("table holds %d routes, want 2", len(k.routes))
		}
	})
}

func TestWithdraw(t *testing.T) {
	ours := rtmsg{family: afInet6, dstLen: 128, table: 100, protocol: DefaultProtocol, typ: rtnBlackhole, dst: vip6.Addr()}
	admin := rtmsg{family: afInet, dstLen: 32, table: 100, protocol: 4, typ: rtnBlackhole, dst: vip4.Addr()}
	c, k := newTestClient(t, &Config{Table: 100}, ours, admin)
	for _, p := range []netip.Prefix{vip6, vip6, vip4} {
		if err := c.Withdraw(ctx(t), p); err != nil {
			t.Errorf("Withdraw(%s): %v, want nil", p, err)
		}
	}
	if diff := cmp.Diff([]rtmsg{admin}, k.routes, cmp.AllowUnexported(rtmsg{}), comparePrefix); diff != "" {
		t.Errorf("table after Withdraw (-want +got):\n%s", diff)
	}
	req := k.requests()[0]
	want := rtmsg{family: afInet6, dstLen: 128, table: 100, protocol: DefaultProtocol, scope: rtScopeNowhere, dst: vip6.Addr()}
	if req.typ != rtmDelRoute || req.flags != netlink.Request|netlink.Acknowledge {
		t.Errorf("type %d flags %v, want RTM_DELROUTE request+ack", req.typ, req.flags)
	}
	if diff := cmp.Diff(want, req.msg, cmp.AllowUnexported(rtmsg{}), comparePrefix); diff != "" {
		t.Errorf("rtmsg (-want +got):\n%s", diff)
	}
}

func TestErrnoReachable(t *testing.T) {
	c, k := newTestClient(t, &Config{Table: 100})
	k.fail = syscall.EPERM
	err := c.Announce(ctx(t), vip4)
	if !errors.Is(err, os.ErrPermission) || !errors.Is(err, syscall.EPERM) {
		t.Errorf("Announce: %v, want os.ErrPermission and EPERM", err)
	}
	k.fail = syscall.EPERM
	if err := c.Withdraw(ctx(t), vip4); !errors.Is(err, os.ErrPermission) {
		t.Errorf("Withdraw: %v, want os.ErrPermission", err)
	}
}

func TestList(t *testing.T) {
	route := func(table uint32, proto uint8, p string) rtmsg {
		pp := netip.MustParsePrefix(p)
		return rtmsg{family: familyOf(pp), dstLen: uint8(pp.Bits()), table: table, protocol: proto, typ: rtnBlackhole, dst: pp.Addr()}
	}
	c, _ := newTestClient(t, &Config{Table: 100},
		route(100, DefaultProtocol, "2001:db8::10/128"),
		route(100, DefaultProtocol, "192.0.2.20/32"),
		route(100, 4, "192.0.2.30/32"),               // an administrator's
		route(254, DefaultProtocol, "192.0.2.40/32"), // ours, but in main
		route(100, DefaultProtocol, "192.0.2.10/32"),
		route(100, DefaultProtocol, "192.0.2.0/24"),
	)
	got, err := c.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("192.0.2.10/32"),
		netip.MustParsePrefix("192.0.2.20/32"),
		netip.MustParsePrefix("2001:db8::10/128"),
	}
	if diff := cmp.Diff(want, got, comparePrefix); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}

	empty, _ := newTestClient(t, &Config{Table: 100})
	if got, err := empty.List(ctx(t)); err != nil || len(got) != 0 {
		t.Errorf("List of an empty table = %v, %v; want nothing, nil", got, err)
	}
}

func TestReconcile(t *testing.T) {
	a := netip.MustParsePrefix("192.0.2.1/32")
	b := netip.MustParsePrefix("192.0.2.2/32")
	admin := rtmsg{family: afInet, dstLen: 32, table: 100, protocol: 4, typ: rtnBlackhole, dst: netip.MustParseAddr("192.0.2.3")}
	c, k := newTestClient(t, &Config{Table: 100}, admin)

	steps := []struct {
		want []netip.Prefix
	}{
		{want: []netip.Prefix{b, a, a}},
		{want: []netip.Prefix{vip6, a}},
		{want: []netip.Prefix{vip6, a}},
		{want: nil},
	}
	for i, s := range steps {
		if err := c.Reconcile(ctx(t), s.want); err != nil {
			t.Fatalf("step %d: Reconcile: %v", i, err)
		}
		got, err := c.List(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		want := sortedSet(s.want)
		if diff := cmp.Diff(want, got, comparePrefix); diff != "" {
			t.Errorf("step %d: List after Reconcile (-want +got):\n%s", i, diff)
		}
	}
	if diff := cmp.Diff([]rtmsg{admin}, k.routes, cmp.AllowUnexported(rtmsg{}), comparePrefix); diff != "" {
		t.Errorf("an administrator's route did not survive (-want +got):\n%s", diff)
	}

	// A failed announcement does not stop the withdrawals.
	if err := c.Reconcile(ctx(t), []netip.Prefix{a, b}); err != nil {
		t.Fatal(err)
	}
	k.fail = syscall.ENOBUFS
	err := c.Reconcile(ctx(t), []netip.Prefix{vip4})
	if !errors.Is(err, syscall.ENOBUFS) {
		t.Errorf("Reconcile with a failing add: %v, want ENOBUFS", err)
	}
	if got, _ := c.List(ctx(t)); len(got) != 0 {
		t.Errorf("after a failed add, Reconcile left %v, want the stale routes withdrawn", got)
	}
}

func TestInvalidPrefix(t *testing.T) {
	c, k := newTestClient(t, &Config{Table: 100})
	for _, p := range []netip.Prefix{
		{},
		netip.MustParsePrefix("192.0.2.1/24"),
		netip.MustParsePrefix("0.0.0.0/0"),
		netip.MustParsePrefix("::/0"),
		netip.MustParsePrefix("::ffff:192.0.2.1/128"),
	} {
		if err := c.Announce(ctx(t), p); !errors.Is(err, ErrInvalidPrefix) {
			t.Errorf("Announce(%s): %v, want ErrInvalidPrefix", p, err)
		}
		if err := c.Withdraw(ctx(t), p); !errors.Is(err, ErrInvalidPrefix) {
			t.Errorf("Withdraw(%s): %v, want ErrInvalidPrefix", p, err)
		}
		if err := c.Reconcile(ctx(t), []netip.Prefix{vip4, p}); !errors.Is(err, ErrInvalidPrefix) {
			t.Errorf("Reconcile(%s): %v, want ErrInvalidPrefix", p, err)
		}
	}
	if n := len(k.requests()); n != 0 {
		t.Errorf("%d requests reached the kernel, want 0", n)
	}
}

// TestWaitBoundedByContext checks that a caller stuck behind another call gives up
// when its own context ends.
func TestWaitBoundedByContext(t *testing.T) {
	c, k := newTestClient(t, &Config{Table: 100})
	c.turn <- struct{}{} // another call holds the socket
	cx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Announce(cx, vip4); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Announce while the socket is busy: %v, want context.DeadlineExceeded", err)
	}
	<-c.turn
	if n := len(k.requests()); n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
	if err := c.Announce(ctx(t), vip4); err != nil {
		t.Errorf("Announce once the socket is free: %v", err)
	}
}
