//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// floor measures the kernel's share of a connect-only probe: socket, SO_LINGER 0,
// connect and close system calls in a tight loop on one locked thread, against the
// listener process, for half of cfg.duration with blocking sockets and half with
// non-blocking ones. On loopback the whole handshake and
// the RST are processed in the connecting thread (softirq work for both ends is charged
// to the sender), so this is the least CPU any checker can spend per probe here.
func floor(cfg config, addrs []string, srvPid int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sas := make([]unix.Sockaddr, len(addrs))
	for i, a := range addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return err
		}
		sas[i] = &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
	}
	for _, nonblock := range []bool{false, true} {
		if err := floorLoop(cfg, addrs, sas, srvPid, nonblock); err != nil {
			return err
		}
	}
	return nil
}

// floorLoop runs the probe loop for half of cfg.duration. A blocking connect on
// loopback waits (briefly) for its own socket's backlog; a non-blocking one returns
// EINPROGRESS with the handshake already processed, so it is the smaller floor.
func floorLoop(cfg config, addrs []string, sas []unix.Sockaddr, srvPid int, nonblock bool) error {
	cfg.duration /= 2
	typ, kind := unix.SOCK_STREAM|unix.SOCK_CLOEXEC, "blocking"
	if nonblock {
		typ, kind = typ|unix.SOCK_NONBLOCK, "non-blocking"
	}
	linger := &unix.Linger{Onoff: 1}
	load0 := loadavg()
	var ru0, ru1 unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru0)
	su0, ss0 := procCPU(srvPid)
	t0 := time.Now()
	n := 0
	for time.Since(t0) < cfg.duration {
		fd, err := unix.Socket(unix.AF_INET, typ, 0)
		if err != nil {
			return err
		}
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, linger)
		err = unix.Connect(fd, sas[n%len(sas)])
		unix.Close(fd)
		if err != nil && !(nonblock && err == unix.EINPROGRESS) {
			return fmt.Errorf("connect %s: %w", addrs[n%len(addrs)], err)
		}
		n++
		if n%1000 == 0 {
			time.Sleep(time.Millisecond) // let the listener process accept
		}
	}
	_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru1)
	su1, ss1 := procCPU(srvPid)
	wall := time.Since(t0)
	user := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano())
	sys := time.Duration(ru1.Stime.Nano() - ru0.Stime.Nano())
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / float64(n) }
	fmt.Printf("floor (%s): %d socket+SO_LINGER+connect+close in %v (%.0f/s), load average %s at start, %s at end\n",
		kind, n, wall.Round(time.Millisecond), float64(n)/wall.Seconds(), load0, loadavg())
	fmt.Printf("floor (%s): connecting thread %.1f µs CPU per probe (user %.1f, sys %.1f); listener process %.1f µs per probe\n",
		kind, us(user+sys), us(user), us(sys), us(su1-su0+ss1-ss0))
	return nil
}
