//go:build linux

package testenv

import (
	"net"
	"testing"
	"time"
)

func TestIntegrationSegmentCarriesTraffic(t *testing.T) {
	seg := NewSegment(t)
	a, b := NewNetNS(t), NewNetNS(t)
	seg.Attach(t, a, "eth0")
	seg.Attach(t, b, "eth0")
	a.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
	b.MustExec(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")

	var ln net.Listener
	if err := b.Do(func() (err error) {
		ln, err = net.Listen("tcp4", "192.0.2.2:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()

	var got string
	if err := a.Do(func() error {
		c, err := net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 2)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(buf); err != nil {
			return err
		}
		got = string(buf)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != "hi" {
		t.Fatalf("read %q over the segment, want %q", got, "hi")
	}
}
