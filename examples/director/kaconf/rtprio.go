package kaconf

import (
	"fmt"
	"strconv"
	"time"
)

// RTPriority is the realtime scheduling of keepalived's VRRP process, which the
// director applies to its one process (keepalived 2.2.7 lib/process.c).
type RTPriority struct {
	// VRRP is vrrp_rt_priority: the SCHED_RR priority taken at start, 1..99; 0
	// when unset (normal scheduling). As keepalived, a value outside 1..99 is
	// clamped with a warning.
	VRRP int
	// RLimitRTTime is vrrp_rlimit_rttime (vrrp_rlimit_rtime is its deprecated
	// spelling): the RLIMIT_RTTIME hard limit in microseconds set with realtime
	// scheduling, the soft limit being half of it; 0 when unset, meaning
	// keepalived's default, 10000 (see RTTime).
	RLimitRTTime int
	// MaxAuto is max_auto_priority: when a timer fires more than a second late,
	// the process takes SCHED_RR priority 1, or one more than it has, up to
	// MaxAuto. 0 (the default) or -1 means never; the bare keyword means 99.
	MaxAuto int
	// MinAutoDelay is min_auto_priority_delay (given in microseconds, 1..10 s): how
	// late a timer must fire for MaxAuto to apply; 0 when unset (see AutoDelay).
	MinAutoDelay time.Duration
}

// RTTime is the RLIMIT_RTTIME hard limit in effect, in microseconds.
func (r RTPriority) RTTime() int {
	if r.RLimitRTTime == 0 {
		return 10000
	}
	return r.RLimitRTTime
}

// AutoDelay is how late a timer must fire for max_auto_priority to raise the
// priority: MinAutoDelay, or keepalived's default, 1 s.
func (r RTPriority) AutoDelay() time.Duration {
	if r.MinAutoDelay == 0 {
		return time.Second
	}
	return r.MinAutoDelay
}

// The SCHED_RR priority range on Linux (sched_get_priority_min/max).
const (
	rtPrioMin = 1
	rtPrioMax = 99
)

// rtPriorityEntry reads vrrp_rt_priority N, clamping N to 1..99 with a warning
// as keepalived's get_realtime_priority does.
func rtPriorityEntry() entry[globalRaw] {
	return entry[globalRaw]{min: 1, max: 1, fn: func(d *decoder, n *node, t *globalRaw) {
		v, err := strconv.Atoi(n.arg(0))
		if err != nil {
			d.errf(n, ErrValue, "%s %q: not an integer", n.key, n.arg(0))
			return
		}
		switch {
		case v < rtPrioMin:
			d.warn(n, fmt.Sprintf("%s %d is below the minimum %d; %d used (as keepalived)", n.key, v, rtPrioMin, rtPrioMin))
			v = rtPrioMin
		case v > rtPrioMax:
			d.warn(n, fmt.Sprintf("%s %d is above the maximum %d; %d used (as keepalived)", n.key, v, rtPrioMax, rtPrioMax))
			v = rtPrioMax
		}
		t.g.RTPriority.VRRP = v
	}}
}

// rlimitRTTimeEntry reads vrrp_rlimit_rttime N (1..4294967295 µs); 1 becomes 2, as
// in keepalived, so that the soft limit, half of it, is not 0.
func rlimitRTTimeEntry() entry[globalRaw] {
	return entry[globalRaw]{min: 1, max: 1, fn: func(d *decoder, n *node, t *globalRaw) {
		if n.key == "vrrp_rlimit_rtime" {
			d.warn(n, "vrrp_rlimit_rtime is deprecated; use vrrp_rlimit_rttime")
		}
		v, ok := d.integer(n, n.arg(0), 1, 1<<32-1)
		if !ok {
			return
		}
		t.g.RTPriority.RLimitRTTime = max(v, 2)
	}}
}

// maxAutoPriorityEntry reads max_auto_priority [N], N in -1..99; bare means 99.
func maxAutoPriorityEntry() entry[globalRaw] {
	return entry[globalRaw]{min: 0, max: 1, fn: func(d *decoder, n *node, t *globalRaw) {
		if len(n.args) == 0 {
			t.g.RTPriority.MaxAuto = rtPrioMax
			return
		}
		if v, ok := d.integer(n, n.arg(0), -1, rtPrioMax); ok {
			t.g.RTPriority.MaxAuto = v
		}
	}}
}

// writeRTPriority writes what differs from the defaults.
func (w *writer) writeRTPriority(r RTPriority) {
	if r.VRRP != 0 {
		w.num("vrrp_rt_priority", r.VRRP)
	}
	if r.RLimitRTTime != 0 {
		w.num("vrrp_rlimit_rttime", r.RLimitRTTime)
	}
	if r.MaxAuto != 0 {
		w.num("max_auto_priority", r.MaxAuto)
	}
	if r.MinAutoDelay != 0 {
		w.num("min_auto_priority_delay", int(r.MinAutoDelay/time.Microsecond))
	}
}
