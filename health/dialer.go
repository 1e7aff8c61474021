package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// DialConfig says how a probe's socket is bound. The zero value lets the kernel choose
// everything. Every probe embeds one, so that a director can check a direct-routing real
// server through the VIP: set Mark to the fwmark of an IPVS service (or a policy route)
// and the probe's packets take that path.
type DialConfig struct {
	// Source is the local address to bind; the zero Addr lets the kernel choose.
	Source netip.Addr
	// Interface binds the socket to a device (SO_BINDTODEVICE, Linux only; needs
	// CAP_NET_RAW for unprivileged processes on older kernels); empty means no binding.
	Interface string
	// Mark sets the socket's firewall mark (SO_MARK, Linux only, needs CAP_NET_ADMIN);
	// zero sets none.
	Mark uint32
}

func (d DialConfig) dialer(network string, deadline time.Time) *net.Dialer {
	// Probes are short-lived: no TCP keepalive (it costs three setsockopt calls per dial).
	nd := &net.Dialer{Deadline: deadline, Control: d.control, KeepAlive: -1}
	if d.Source.IsValid() {
		ip := net.IP(d.Source.AsSlice())
		switch network {
		case "tcp", "tcp4", "tcp6":
			nd.LocalAddr = &net.TCPAddr{IP: ip, Zone: d.Source.Zone()}
		case "udp", "udp4", "udp6":
			nd.LocalAddr = &net.UDPAddr{IP: ip, Zone: d.Source.Zone()}
		}
	}
	return nd
}

// dial connects with the config's bindings, bounded by deadline and ctx.
func (d DialConfig) dial(ctx context.Context, network, address string, deadline time.Time) (net.Conn, error) {
	c, err := d.dialer(network, deadline).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		// Close with RST: the director keeps no TIME_WAIT entry per check.
		_ = tc.SetLinger(0)
	}
	_ = c.SetDeadline(deadline)
	return c, nil
}

func (d DialConfig) control(network, address string, rc syscall.RawConn) error {
	if d.Interface == "" && d.Mark == 0 {
		return nil
	}
	var serr error
	err := rc.Control(func(fd uintptr) { serr = d.setSockopts(int(fd)) })
	if err != nil {
		return err
	}
	return serr
}

// closeOnDone closes c when ctx is cancelled, so that a blocked read or write returns
// at once. A passed deadline is left to c's own deadline (set to the same instant), so
// the error says "i/o timeout" rather than "use of closed network connection". The
// returned stop function must be called before returning.
func closeOnDone(ctx context.Context, c interface{ Close() error }) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			_ = c.Close()
		}
	})
}
