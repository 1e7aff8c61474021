package main

import (
	"fmt"
	"net/netip"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// floor measures the kernel's share of a connect-only probe: blocking socket,
// SO_LINGER 0, connect and close system calls in a tight loop on one locked thread,
// against the listener process, for cfg.duration. On loopback the whole handshake and
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
	linger := &unix.Linger{Onoff: 1}
	load0 := loadavg()
	var ru0, ru1 unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru0)
	su0, ss0 := procCPU(srvPid)
	t0 := time.Now()
	n := 0
	for time.Since(t0) < cfg.duration {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, linger)
		err = unix.Connect(fd, sas[n%len(sas)])
		unix.Close(fd)
		if err != nil {
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
	fmt.Printf("floor: %d blocking socket+SO_LINGER+connect+close in %v (%.0f/s), load average %s at start, %s at end\n",
		n, wall.Round(time.Millisecond), float64(n)/wall.Seconds(), load0, loadavg())
	fmt.Printf("floor: connecting thread %.1f µs CPU per probe (user %.1f, sys %.1f); listener process %.1f µs per probe\n",
		us(user+sys), us(user), us(sys), us(su1-su0+ss1-ss0))
	return nil
}
