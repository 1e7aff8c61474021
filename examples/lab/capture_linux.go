package main

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// capture watches the client's eth0 for the frames of its connections to the VIP's
// port 80, to show which MAC addresses requests go to and replies come from.
type capture struct {
	conn *packet.Conn
	vip  netip.Addr
	done chan struct{}

	mu       sync.Mutex
	toMAC    map[string]int // destination MACs of frames sent to VIP:80
	fromMAC  map[string]int // source MACs of frames from VIP:80
	fromAddr map[netip.Addr]int
}

// startCapture opens a packet socket on eth0 in n.
func startCapture(n netns, vip netip.Addr) (*capture, error) {
	c := &capture{vip: vip, done: make(chan struct{}), toMAC: map[string]int{}, fromMAC: map[string]int{}, fromAddr: map[netip.Addr]int{}}
	err := n.do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		// ETH_P_ALL: the socket sees outgoing frames too.
		c.conn, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	go c.read()
	return c, nil
}

func (c *capture) read() {
	defer close(c.done)
	b := make([]byte, 2048)
	for {
		n, _, err := c.conn.ReadFrom(b)
		if err != nil {
			return
		}
		c.frame(b[:n])
	}
}

// frame records an Ethernet frame carrying IPv4 TCP to VIP:80 or from any port 80
// (a reply from a real server's own address would show up too).
func (c *capture) frame(f []byte) {
	if len(f) < 14+20 || binary.BigEndian.Uint16(f[12:14]) != unix.ETH_P_IP {
		return
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ip[9] != unix.IPPROTO_TCP || len(ip) < ihl+4 {
		return
	}
	src, _ := netip.AddrFromSlice(ip[12:16])
	dst, _ := netip.AddrFromSlice(ip[16:20])
	sport := binary.BigEndian.Uint16(ip[ihl : ihl+2])
	dport := binary.BigEndian.Uint16(ip[ihl+2 : ihl+4])
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case dst == c.vip && dport == 80:
		c.toMAC[net.HardwareAddr(f[0:6]).String()]++
	case sport == 80:
		c.fromMAC[net.HardwareAddr(f[6:12]).String()]++
		c.fromAddr[src]++
	}
}

// stop closes the socket and returns what it saw: destination MACs of requests,
// source MACs and source addresses of replies.
func (c *capture) stop() (to, from map[string]int, fromAddr map[netip.Addr]int) {
	// Frames already queued are read before the socket closes.
	time.Sleep(50 * time.Millisecond)
	c.conn.Close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.toMAC, c.fromMAC, c.fromAddr
}
