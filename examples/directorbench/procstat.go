package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat: USER_HZ, which Linux
// fixes at 100 on every architecture Go runs on (sysconf(_SC_CLK_TCK)).
const userHZ = 100

// procStat is what the benchmark reads from /proc/PID/stat.
type procStat struct {
	PID, PPID int
	Comm      string
	// CPU is utime+stime: CPU time of all the process's threads, living and exited,
	// in user and kernel mode. It excludes children (cutime, cstime).
	CPU time.Duration
}

// parseProcStat decodes the contents of /proc/PID/stat (proc(5)). The command name is
// in parentheses and may itself hold spaces and parentheses, so the fields after it
// are found from the last ')'.
func parseProcStat(s string) (procStat, error) {
	var p procStat
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 1 || end < open {
		return p, errors.New("proc stat: no (comm)")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return p, fmt.Errorf("proc stat: pid: %w", err)
	}
	p.PID, p.Comm = pid, s[open+1:end]
	// Fields after comm, numbered as in proc(5): 3 state, 4 ppid, ..., 14 utime, 15 stime.
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return p, fmt.Errorf("proc stat: %d fields after comm, want at least 13", len(f))
	}
	field := func(n int) (int64, error) { return strconv.ParseInt(f[n-3], 10, 64) }
	ppid, err := field(4)
	if err != nil {
		return p, fmt.Errorf("proc stat: ppid: %w", err)
	}
	utime, err := field(14)
	if err != nil {
		return p, fmt.Errorf("proc stat: utime: %w", err)
	}
	stime, err := field(15)
	if err != nil {
		return p, fmt.Errorf("proc stat: stime: %w", err)
	}
	// 2^40 ticks is 348 years of CPU: anything beyond is not a real reading, and
	// would overflow the sum.
	if utime < 0 || stime < 0 || utime > 1<<40 || stime > 1<<40 {
		return p, fmt.Errorf("proc stat: CPU time %d+%d ticks out of range", utime, stime)
	}
	p.PPID = int(ppid)
	p.CPU = time.Duration(utime+stime) * time.Second / userHZ
	return p, nil
}

// cpuDelta sums, over the processes in before, the CPU time each used until after.
// A process missing from after has ended (or been replaced) during the window, and
// its CPU since before cannot be known: that is an error, as is a process in after
// that was not in before (a child started during the window).
func cpuDelta(before, after map[int]procStat) (time.Duration, error) {
	var sum time.Duration
	for pid, b := range before {
		a, ok := after[pid]
		if !ok {
			return 0, fmt.Errorf("process %d (%s) ended during the window", pid, b.Comm)
		}
		sum += a.CPU - b.CPU
	}
	for pid, a := range after {
		if _, ok := before[pid]; !ok {
			return 0, fmt.Errorf("process %d (%s) started during the window", pid, a.Comm)
		}
	}
	return sum, nil
}

// descendants returns roots and every process in all whose parent chain leads to one
// of them.
func descendants(all []procStat, roots []int) map[int]procStat {
	byPID := make(map[int]procStat, len(all))
	for _, p := range all {
		byPID[p.PID] = p
	}
	out := make(map[int]procStat)
	for _, r := range roots {
		if p, ok := byPID[r]; ok {
			out[r] = p
		}
	}
	// Add children until nothing changes; process trees here are shallow.
	for grew := true; grew; {
		grew = false
		for _, p := range all {
			if _, in := out[p.PID]; in {
				continue
			}
			if _, parentIn := out[p.PPID]; parentIn {
				out[p.PID] = p
				grew = true
			}
		}
	}
	return out
}
