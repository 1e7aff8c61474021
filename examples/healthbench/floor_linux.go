//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// runFloor opens and resets cfg.n connections per interval with bare blocking system
// calls on one locked thread, for cfg.duration: the kernel's share of a probe, which
// both checkers pay, plus nothing else.
func runFloor(cfg config) (sample, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sas := make([]unix.Sockaddr, cfg.n)
	for i := range cfg.n {
		ip, port := addr(i)
		sas[i] = &unix.SockaddrInet4{Addr: netip.MustParseAddr(ip).As4(), Port: port}
	}
	threadCPU := func() time.Duration {
		var ru unix.Rusage
		_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	linger := &unix.Linger{Onoff: 1}
	c0, t0 := threadCPU(), time.Now()
	var probes int64
	for tick := t0; time.Since(t0) < cfg.duration; tick = tick.Add(cfg.interval) {
		time.Sleep(time.Until(tick))
		for _, sa := range sas {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return sample{}, err
			}
			_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, linger)
			err = unix.Connect(fd, sa)
			unix.Close(fd)
			if err != nil {
				return sample{}, fmt.Errorf("connect: %w", err)
			}
			probes++
		}
	}
	return sample{cpu: threadCPU() - c0, probes: probes, wall: time.Since(t0), load: loadavg()}, nil
}
