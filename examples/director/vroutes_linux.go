package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// rtnlConn is an rtnetlink socket that the route and rule backends send their
// requests on, one call at a time, each bounded by its context's deadline.
type rtnlConn struct {
	mu   sync.Mutex
	conn *netlink.Conn
}

// dialRTNL opens an rtnetlink socket in the namespace of the calling thread.
func dialRTNL() (*rtnlConn, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		return nil, fmt.Errorf("dial rtnetlink: %w", err)
	}
	_ = c.SetOption(netlink.ExtendedAcknowledge, true)
	return &rtnlConn{conn: c}, nil
}

func (c *rtnlConn) Close() error { return c.conn.Close() }

func (c *rtnlConn) execute(ctx context.Context, typ netlink.HeaderType, flags netlink.HeaderFlags, body []byte) ([]netlink.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
		defer c.conn.SetDeadline(time.Time{})
	}
	return c.conn.Execute(netlink.Message{Header: netlink.Header{Type: typ, Flags: netlink.Request | flags}, Data: body})
}

// nlRoutes is the rtnetlink routeBackend: RTM_NEWROUTE, RTM_DELROUTE and a dump of
// RTM_GETROUTE on one socket, one call at a time.
type nlRoutes struct {
	*rtnlConn
	// ifindex resolves dev; the default looks the name up in the namespace the
	// calling thread is in, which is the socket's unless a test says otherwise.
	ifindex func(name string) (int, error)
}

// dialKRoutes opens an rtnetlink socket in the namespace of the calling thread.
func dialKRoutes() (routeBackend, error) {
	c, err := dialRTNL()
	if err != nil {
		return nil, err
	}
	return &nlRoutes{rtnlConn: c, ifindex: func(name string) (int, error) {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return 0, err
		}
		return ifi.Index, nil
	}}, nil
}

var routeTypeNums = map[string]uint8{"": unix.RTN_UNICAST, "blackhole": unix.RTN_BLACKHOLE,
	"unreachable": unix.RTN_UNREACHABLE, "prohibit": unix.RTN_PROHIBIT}

var routeScopeNums = map[string]uint8{"": unix.RT_SCOPE_UNIVERSE, "site": unix.RT_SCOPE_SITE,
	"link": unix.RT_SCOPE_LINK, "host": unix.RT_SCOPE_HOST, "nowhere": unix.RT_SCOPE_NOWHERE}

// message encodes r as a struct rtmsg and its attributes. del leaves type and scope
// open (0 and nowhere match any) so that the kernel matches the route by key,
// protocol and next hop.
func (n *nlRoutes) message(r kaconf.Route, del bool) ([]byte, error) {
	k := keyOfRoute(r)
	b := make([]byte, unix.SizeofRtMsg)
	if r.Dst.Addr().Is4() {
		b[0] = unix.AF_INET
	} else {
		b[0] = unix.AF_INET6
	}
	b[1] = uint8(r.Dst.Bits())
	if k.table < 256 {
		b[4] = uint8(k.table)
	} else {
		b[4] = unix.RT_TABLE_COMPAT
	}
	b[5] = kroutesProtocol
	if del {
		b[6] = unix.RT_SCOPE_NOWHERE
	} else {
		b[6] = routeScopeNums[r.Scope]
		b[7] = routeTypeNums[r.Type]
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.RTA_TABLE, k.table)
	if r.Dst.Bits() > 0 {
		ae.Bytes(unix.RTA_DST, r.Dst.Addr().AsSlice())
	}
	if r.Metric != 0 {
		ae.Uint32(unix.RTA_PRIORITY, r.Metric)
	}
	if r.Via.IsValid() {
		ae.Bytes(unix.RTA_GATEWAY, r.Via.AsSlice())
	}
	if r.Src.IsValid() {
		ae.Bytes(unix.RTA_PREFSRC, r.Src.AsSlice())
	}
	if len(r.Nexthops) > 0 {
		// The kernel finds a multipath route to delete by its key and protocol;
		// the route's dev goes into each next hop that names none (with
		// RTA_MULTIPATH, RTA_OIF must match the first next hop's device).
		if !del {
			mp, err := n.multipath(r)
			if err != nil {
				return nil, err
			}
			ae.Bytes(unix.RTA_MULTIPATH, mp)
		}
	} else if r.Dev != "" {
		idx, err := n.ifindex(r.Dev)
		if err != nil {
			return nil, fmt.Errorf("dev %s: %w", r.Dev, err)
		}
		ae.Uint32(unix.RTA_OIF, uint32(idx))
	}
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(b, attrs...), nil
}

// multipath encodes r's next hops as RTA_MULTIPATH's payload: a struct rtnexthop
// (length, flags, hops = weight - 1, ifindex) and its RTA_GATEWAY per next hop.
func (n *nlRoutes) multipath(r kaconf.Route) ([]byte, error) {
	var b []byte
	for _, nh := range r.Nexthops {
		dev := nh.Dev
		if dev == "" {
			dev = r.Dev
		}
		idx := 0
		if dev != "" {
			var err error
			if idx, err = n.ifindex(dev); err != nil {
				return nil, fmt.Errorf("nexthop dev %s: %w", dev, err)
			}
		}
		var attrs []byte
		if nh.Via.IsValid() {
			ae := netlink.NewAttributeEncoder()
			ae.Bytes(unix.RTA_GATEWAY, nh.Via.AsSlice())
			var err error
			if attrs, err = ae.Encode(); err != nil {
				return nil, err
			}
		}
		hops := uint8(0)
		if nh.Weight > 0 {
			hops = uint8(nh.Weight - 1)
		}
		h := make([]byte, unix.SizeofRtNexthop)
		binary.NativeEndian.PutUint16(h[0:2], uint16(unix.SizeofRtNexthop+len(attrs)))
		h[3] = hops
		binary.NativeEndian.PutUint32(h[4:8], uint32(int32(idx)))
		b = append(b, h...)
		b = append(b, attrs...) // attributes are 4-byte aligned already
	}
	return b, nil
}

// Add creates r exclusively: a route of the director's with r's key that exists is
// left as it is; one of another protocol (an administrator's) is left too and
// reported as an error wrapping EEXIST, since r is then not what the kernel uses.
func (n *nlRoutes) Add(ctx context.Context, r kaconf.Route) error {
	body, err := n.message(r, false)
	if err != nil {
		return err
	}
	_, err = n.execute(ctx, unix.RTM_NEWROUTE, netlink.Acknowledge|netlink.Create|netlink.Excl, body)
	if errors.Is(err, syscall.EEXIST) {
		ours, lerr := n.List(ctx)
		if lerr != nil {
			return fmt.Errorf("%w (and listing the routes failed: %w)", err, lerr)
		}
		if slices.Contains(ours, keyOfRoute(r)) {
			return nil
		}
		return fmt.Errorf("a route of another protocol is in the way: %w", err)
	}
	return err
}

// Delete deletes the director's route r (the kernel matches the protocol).
func (n *nlRoutes) Delete(ctx context.Context, r kaconf.Route) error {
	body, err := n.message(r, true)
	if err != nil {
		return err
	}
	_, err = n.execute(ctx, unix.RTM_DELROUTE, netlink.Acknowledge, body)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// List dumps the IPv4 and IPv6 routes and keeps those of kroutesProtocol.
func (n *nlRoutes) List(ctx context.Context) ([]routeKey, error) {
	var out []routeKey
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		req := make([]byte, unix.SizeofRtMsg)
		req[0] = fam
		msgs, err := n.execute(ctx, unix.RTM_GETROUTE, netlink.Dump, req)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_NEWROUTE || len(m.Data) < unix.SizeofRtMsg || m.Data[5] != kroutesProtocol {
				continue
			}
			k, err := parseRouteKey(m.Data)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
	}
	return out, nil
}

func parseRouteKey(b []byte) (routeKey, error) {
	fam, bits := b[0], int(b[1])
	k := routeKey{table: uint32(b[4])}
	var dst netip.Addr
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofRtMsg:])
	if err != nil {
		return k, err
	}
	ad.ByteOrder = binary.NativeEndian
	for ad.Next() {
		switch ad.Type() {
		case unix.RTA_TABLE:
			k.table = ad.Uint32()
		case unix.RTA_PRIORITY:
			k.metric = ad.Uint32()
		case unix.RTA_DST:
			dst, _ = netip.AddrFromSlice(ad.Bytes())
		}
	}
	if err := ad.Err(); err != nil {
		return k, err
	}
	if !dst.IsValid() {
		if fam == unix.AF_INET {
			dst = netip.IPv4Unspecified()
		} else {
			dst = netip.IPv6Unspecified()
		}
	}
	k.dst = netip.PrefixFrom(dst, bits)
	return k, nil
}
