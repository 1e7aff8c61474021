//go:build linux

package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"golang.org/x/sys/unix"
)

// Realtime scheduling, as keepalived 2.2.7 gives its VRRP process
// (lib/process.c set_process_priorities): vrrp_rt_priority N makes it SCHED_RR at
// priority N at start, with SCHED_RESET_ON_FORK (scripts start with normal
// scheduling) and RLIMIT_RTTIME at vrrp_rlimit_rttime µs (soft limit half of it);
// max_auto_priority M makes it take SCHED_RR priority 1, then one more each time,
// up to M, whenever a timer fires more than a second late.
//
// keepalived's VRRP process has one thread; the director is a Go process with
// several, among which the runtime moves goroutines, so the policy is set on every
// thread (sched_setattr per thread ID in /proc/self/task): setting only the process
// ID would give it to the main thread alone. New threads would not inherit it
// (SCHED_RESET_ON_FORK applies to every clone), so a keeper rescans the threads
// every second and sets the new ones; the same tick measures its own lateness for
// max_auto_priority. Without permission (EPERM: neither root nor CAP_SYS_NICE, or
// an RLIMIT_RTPRIO too low) the director logs it once and runs with normal
// scheduling. The director sets the scheduling once, at start: a reload does not
// change it.

// rtKeepTick is the keeper's period, and the timer whose lateness max_auto_priority
// watches.
const rtKeepTick = time.Second

// setThreadsRR gives every thread of the process SCHED_RR at prio with
// SCHED_RESET_ON_FORK; done holds the threads already set, and is updated. It
// returns the first error, after trying every thread.
func setThreadsRR(prio int, done map[int]bool) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	var first error
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil || done[tid] {
			continue
		}
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR,
			Flags: unix.SCHED_FLAG_RESET_ON_FORK, Priority: uint32(prio)}
		if err := unix.SchedSetAttr(tid, &attr, 0); err != nil {
			if !errors.Is(err, unix.ESRCH) && first == nil { // ESRCH: the thread ended
				first = err
			}
			continue
		}
		done[tid] = true
	}
	return first
}

// setRTTime sets RLIMIT_RTTIME to us microseconds, the soft limit to half.
func setRTTime(us int) error {
	return unix.Setrlimit(unix.RLIMIT_RTTIME, &unix.Rlimit{Cur: uint64(us / 2), Max: uint64(us)})
}

// startRTPriority applies r and, when realtime scheduling is in use or may be
// taken (max_auto_priority), keeps it on new threads until ctx ends. It returns
// at once.
func startRTPriority(ctx context.Context, log *slog.Logger, r kaconf.RTPriority) {
	if r.VRRP == 0 && r.MaxAuto <= 0 {
		return
	}
	cur := 0
	done := map[int]bool{}
	take := func(prio int) bool {
		clear(done)
		if err := setThreadsRR(prio, done); err != nil {
			log.Warn("cannot take realtime scheduling; running with normal scheduling",
				"policy", "SCHED_RR", "priority", prio, "err", err)
			return false
		}
		if cur == 0 {
			if err := setRTTime(r.RTTime()); err != nil {
				log.Warn("cannot set RLIMIT_RTTIME", "us", r.RTTime(), "err", err)
			}
		}
		cur = prio
		log.Info("realtime scheduling", "policy", "SCHED_RR", "priority", prio, "rlimit_rttime_us", r.RTTime())
		return true
	}
	if r.VRRP > 0 && !take(r.VRRP) && r.MaxAuto <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(rtKeepTick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				late := now.Sub(last) - rtKeepTick
				last = now
				if r.MaxAuto > 0 && late > r.AutoDelay() && cur < r.MaxAuto {
					log.Info("a timer fired late; raising the realtime priority (max_auto_priority)", "late", late)
					if !take(max(cur+1, 1)) && cur == 0 {
						return // not permitted: stop trying
					}
					continue
				}
				if cur > 0 {
					_ = setThreadsRR(cur, done)
				}
			}
		}
	}()
}
