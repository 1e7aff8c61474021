package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/vrrp"
)

// observer records the VRRP adverts arriving at the observer host on every segment,
// from one packet socket bound to all its interfaces, each with the kernel's receive
// timestamp (SO_TIMESTAMPNS): times do not include the observer's own scheduling.
type observer struct {
	fd    int
	seg   map[int]int // ifindex -> segment
	done  chan struct{}
	stopc chan struct{}

	mu      sync.Mutex
	ads     []advert
	bad     int    // IP protocol 112 packets vrrp.Parse refused
	drops   uint32 // packets the socket dropped (SO_RXQ_OVFL), since it opened
	readErr error
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// startObserver opens the socket in the observer's namespace and starts reading.
func startObserver(ns string, segs int) (*observer, error) {
	o := &observer{seg: make(map[int]int), done: make(chan struct{}), stopc: make(chan struct{})}
	err := netns.Do("directorbench", nsPath(ns), func() error {
		for s := range segs {
			ifi, err := net.InterfaceByName(ifName(s))
			if err != nil {
				return err
			}
			o.seg[ifi.Index] = s
		}
		fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, int(htons(syscall.ETH_P_IP)))
		if err != nil {
			return os.NewSyscallError("socket", err)
		}
		o.fd = fd
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("observer: %w", err)
	}
	// A big buffer: at 1,000 instances the observer takes 10,000 adverts a second
	// from A alone, on a machine whose two cores the routers keep busy.
	opts := []struct {
		level, opt, v int
	}{
		{syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 16 << 20},
		{syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1},
		// Each packet then carries the count of packets the socket dropped so far.
		{syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1},
	}
	for _, s := range opts {
		if err := syscall.SetsockoptInt(o.fd, s.level, s.opt, s.v); err != nil {
			syscall.Close(o.fd)
			return nil, fmt.Errorf("observer: setsockopt %d: %w", s.opt, err)
		}
	}
	// Reads wake every 100 ms to see whether to stop.
	tv := syscall.NsecToTimeval(int64(100 * time.Millisecond))
	if err := syscall.SetsockoptTimeval(o.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(o.fd)
		return nil, fmt.Errorf("observer: SO_RCVTIMEO: %w", err)
	}
	go o.read()
	return o, nil
}

func (o *observer) read() {
	defer close(o.done)
	b := make([]byte, 2048)
	oob := make([]byte, 128)
	var a vrrp.Advert
	for {
		select {
		case <-o.stopc:
			return
		default:
		}
		n, oobn, _, from, err := syscall.Recvmsg(o.fd, b, oob, 0)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			continue
		}
		if err != nil {
			o.mu.Lock()
			o.readErr = err
			o.mu.Unlock()
			return
		}
		ll, ok := from.(*syscall.SockaddrLinklayer)
		if !ok {
			continue
		}
		seg, ok := o.seg[ll.Ifindex]
		if !ok || ll.Pkttype == syscall.PACKET_OUTGOING {
			continue
		}
		src, dst, payload, ok := vrrpPayload(b[:n])
		if !ok {
			continue
		}
		at := time.Now() // replaced by the kernel's timestamp below
		var drops uint32
		if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				switch {
				case m.Header.Level != syscall.SOL_SOCKET:
				case m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16:
					at = time.Unix(int64(binary.NativeEndian.Uint64(m.Data)), int64(binary.NativeEndian.Uint64(m.Data[8:])))
				case m.Header.Type == syscall.SO_RXQ_OVFL && len(m.Data) >= 4:
					drops = binary.NativeEndian.Uint32(m.Data)
				}
			}
		}
		perr := vrrp.Parse(payload, src, dst, &a)
		o.mu.Lock()
		o.drops = max(o.drops, drops)
		if perr != nil {
			o.bad++
		} else {
			o.ads = append(o.ads, advert{At: at, Segment: seg, VRID: int(a.VRID), From: src, Priority: int(a.Priority)})
		}
		o.mu.Unlock()
	}
}

// vrrpPayload returns the VRRP message in an IPv4 packet of protocol 112.
func vrrpPayload(p []byte) (src, dst netip.Addr, payload []byte, ok bool) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return src, dst, nil, false
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if ihl < 20 || p[9] != 112 || total < ihl || total > len(p) {
		return src, dst, nil, false
	}
	src = netip.AddrFrom4([4]byte(p[12:16]))
	dst = netip.AddrFrom4([4]byte(p[16:20]))
	return src, dst, p[ihl:total], true
}

// dropped is the number of packets the socket dropped since it opened, as of the
// last packet read.
func (o *observer) dropped() uint32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.drops
}

// take returns the adverts received since the last take (or the start) and forgets
// them, with the count of malformed ones.
func (o *observer) take() ([]advert, int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ads, bad, err := o.ads, o.bad, o.readErr
	o.ads, o.bad = nil, 0
	return ads, bad, err
}

// close stops the reader and closes the socket.
func (o *observer) close() {
	close(o.stopc)
	<-o.done
	syscall.Close(o.fd)
}
