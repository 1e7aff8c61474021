//go:build linux

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/internal/testenv"
	"golang.org/x/sys/unix"
)

const rtChildEnv = "DIRECTOR_RTPRIO_CHILD"

// rtChild runs in the re-executed test binary: it applies vrrp_rt_priority 10 with
// vrrp_rlimit_rttime 50000, starts a new thread, waits up to 4 s for the keeper to
// give every thread the policy, and prints
// every thread's policy and the limit, or "EPERM".
func rtChild() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := map[int]bool{}
	if err := setThreadsRR(10, done); err != nil {
		fmt.Println("ERR", err)
		if err == unix.EPERM {
			fmt.Println("EPERM")
		}
		return
	}
	startRTPriority(ctx, slog.New(slog.DiscardHandler), kaconf.RTPriority{VRRP: 10, RLimitRTTime: 50000})
	// A thread created after the start: the keeper must give it the policy too.
	started := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread stays ours
		close(started)
		select {}
	}()
	<-started
	// The runtime may start a thread at any time; the keeper sets it within a tick.
	allRR := func() bool {
		ents, _ := os.ReadDir("/proc/self/task")
		for _, e := range ents {
			tid, _ := strconv.Atoi(e.Name())
			if a, err := unix.SchedGetAttr(tid, 0); err == nil && a.Policy != unix.SCHED_RR {
				return false
			}
		}
		return true
	}
	for i := 0; i < 8 && !allRR(); i++ {
		time.Sleep(rtKeepTick / 2)
	}
	ents, _ := os.ReadDir("/proc/self/task")
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		a, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			fmt.Println("thread", tid, "err", err)
			continue
		}
		fmt.Println("thread", tid, "policy", a.Policy, "priority", a.Priority, "resetonfork", a.Flags&unix.SCHED_FLAG_RESET_ON_FORK != 0)
	}
	var rl unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_RTTIME, &rl)
	fmt.Println("rttime", rl.Cur, rl.Max)
	// A child process starts with normal scheduling.
	out, err := exec.Command("/bin/sh", "-c", "cat /proc/self/sched | grep '^policy'").Output()
	fmt.Println("child", strings.Join(strings.Fields(string(out)), " "), err)
}

// TestRTPriorityApplied applies vrrp_rt_priority in a child process of the test
// binary (the test process keeps its scheduling) and checks every thread's policy
// with sched_getattr, the RLIMIT_RTTIME set, and that a forked child does not
// inherit the policy.
func TestRTPriorityApplied(t *testing.T) {
	if os.Getenv(rtChildEnv) == "1" {
		rtChild()
		return
	}
	testenv.RequireRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRTPriorityApplied$", "-test.count=1")
	cmd.Env = append(os.Environ(), rtChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := string(out)
	if strings.Contains(s, "EPERM") {
		testenv.SkipOrFail(t, "SCHED_RR not permitted here: %s", s)
	}
	threads := 0
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "thread ") {
			continue
		}
		threads++
		if !strings.HasSuffix(line, fmt.Sprintf("policy %d priority 10 resetonfork true", unix.SCHED_RR)) {
			t.Errorf("not SCHED_RR 10 with reset-on-fork: %s", line)
		}
	}
	if threads < 2 {
		t.Errorf("saw %d threads, want several:\n%s", threads, s)
	}
	if !strings.Contains(s, "rttime 25000 50000\n") {
		t.Errorf("RLIMIT_RTTIME not 25000/50000:\n%s", s)
	}
	if !strings.Contains(s, "child policy : 0 ") {
		t.Errorf("a forked child kept the realtime policy:\n%s", s)
	}
}
