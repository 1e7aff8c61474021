package health

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// openICMP opens a ping socket, or a raw socket when ping sockets are not allowed.
func openICMP(d DialConfig, dst netip.Addr) (pc net.PacketConn, raw bool, err error) {
	fam, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if dst.Is6() {
		fam, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	fd, perr := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if perr != nil {
		var rerr error
		fd, rerr = unix.Socket(fam, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
		if rerr != nil {
			if isPerm(perr) && isPerm(rerr) {
				return nil, false, permissionError(perr, rerr)
			}
			return nil, false, fmt.Errorf("open icmp socket: %w (ping socket: %v)", rerr, perr)
		}
		raw = true
	}
	f := os.NewFile(uintptr(fd), "icmp")
	defer f.Close()
	if err := d.setup(fd, fam); err != nil {
		return nil, false, err
	}
	pc, err = net.FilePacketConn(f)
	if err != nil {
		return nil, false, fmt.Errorf("icmp socket: %w", err)
	}
	return pc, raw, nil
}

// setup applies the DialConfig to a socket that is not yet connected.
func (d DialConfig) setup(fd, fam int) error {
	if err := d.setSockoptsIfAny(fd); err != nil {
		return err
	}
	if !d.Source.IsValid() {
		return nil
	}
	var sa unix.Sockaddr
	if fam == unix.AF_INET {
		sa = &unix.SockaddrInet4{Addr: d.Source.Unmap().As4()}
	} else {
		sa = &unix.SockaddrInet6{Addr: d.Source.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bind %v: %w", d.Source, err)
	}
	return nil
}

func (d DialConfig) setSockoptsIfAny(fd int) error {
	if d.Interface == "" && d.Mark == 0 {
		return nil
	}
	return d.setSockopts(fd)
}

func isPerm(err error) bool {
	return errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)
}

func permissionError(pingErr, rawErr error) error {
	rng := "unknown"
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range"); err == nil {
		rng = strings.Join(strings.Fields(string(b)), " ")
	}
	ns := "unknown"
	if l, err := os.Readlink("/proc/thread-self/ns/net"); err == nil {
		ns = l
	}
	return &tagged{ErrICMPPermission, fmt.Errorf("no ping socket (group %d is outside net.ipv4.ping_group_range %q of network namespace %s: %w) and no raw socket (needs CAP_NET_RAW: %v)",
		os.Getegid(), rng, ns, pingErr, rawErr)}
}

func ping(ctx context.Context, d DialConfig, dst netip.Addr, size int, deadline time.Time) (bool, error) {
	pc, raw, err := openICMP(d, dst)
	if err != nil {
		return raw, err
	}
	defer pc.Close()
	defer closeOnDone(ctx, pc)()
	_ = pc.SetDeadline(deadline)

	var typ, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if dst.Is6() {
		typ, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	payload := make([]byte, size)
	if _, err := rand.Read(payload); err != nil {
		return raw, err
	}
	id := int(binary.BigEndian.Uint16(payload))
	seq := int(binary.BigEndian.Uint16(payload[2:]))
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: payload}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return raw, err
	}
	var to net.Addr = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	if raw {
		to = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	if _, err := pc.WriteTo(b, to); err != nil {
		return raw, fmt.Errorf("send echo: %w", err)
	}
	buf := make([]byte, size+512)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return raw, fmt.Errorf("wait for echo reply: %w", err)
		}
		if raw && addrOf(from) != dst {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != replyType {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		// A ping socket's kernel rewrites the ID to the socket's own; it filters for us.
		if !ok || e.Seq != seq || (raw && e.ID != id) || !bytes.Equal(e.Data, payload) {
			continue
		}
		return raw, nil
	}
}

func addrOf(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	x, _ := netip.AddrFromSlice(ip)
	return x.Unmap()
}
