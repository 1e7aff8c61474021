package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

func TestProcMatches(t *testing.T) {
	p := func(comm string, argv ...string) procInfo { return procInfo{comm: comm, argv: argv} }
	for _, tt := range []struct {
		name string
		tp   kaconf.TrackProcess
		p    procInfo
		want bool
	}{
		{"comm", kaconf.TrackProcess{Process: "nginx"}, p("nginx", "/usr/sbin/nginx", "-g"), true},
		{"comm differs", kaconf.TrackProcess{Process: "nginx"}, p("nginx: worker", "nginx"), false},
		{"argv0 without params", kaconf.TrackProcess{Process: "/usr/sbin/nginx", FullCommand: true}, p("nginx", "/usr/sbin/nginx", "-g"), true},
		{"argv0 differs", kaconf.TrackProcess{Process: "nginx", FullCommand: true}, p("nginx", "/usr/sbin/nginx"), false},
		{"exact", kaconf.TrackProcess{Process: "py", Params: []string{"a", "b"}, ParamMatch: kaconf.ParamMatchExact, FullCommand: true}, p("py", "py", "a", "b"), true},
		{"exact, more args", kaconf.TrackProcess{Process: "py", Params: []string{"a"}, ParamMatch: kaconf.ParamMatchExact, FullCommand: true}, p("py", "py", "a", "b"), false},
		{"exact, no params, no args", kaconf.TrackProcess{Process: "py", ParamMatch: kaconf.ParamMatchExact, FullCommand: true}, p("py", "py"), true},
		{"exact, no params, args", kaconf.TrackProcess{Process: "py", ParamMatch: kaconf.ParamMatchExact, FullCommand: true}, p("py", "py", "x"), false},
		{"partial", kaconf.TrackProcess{Process: "py", Params: []string{"a"}, ParamMatch: kaconf.ParamMatchPartial, FullCommand: true}, p("py", "py", "a", "b"), true},
		{"partial, prefix of a word", kaconf.TrackProcess{Process: "py", Params: []string{"a"}, ParamMatch: kaconf.ParamMatchPartial, FullCommand: true}, p("py", "py", "ab"), false},
		{"initial, prefix of the last word", kaconf.TrackProcess{Process: "py", Params: []string{"a", "wor"}, ParamMatch: kaconf.ParamMatchInitial, FullCommand: true}, p("py", "py", "a", "worker.py", "x"), true},
		{"initial, earlier word must be whole", kaconf.TrackProcess{Process: "py", Params: []string{"a", "wor"}, ParamMatch: kaconf.ParamMatchInitial, FullCommand: true}, p("py", "py", "ab", "worker.py"), false},
		{"too few args", kaconf.TrackProcess{Process: "py", Params: []string{"a", "b"}, ParamMatch: kaconf.ParamMatchPartial, FullCommand: true}, p("py", "py", "a"), false},
	} {
		if got := procMatches(&tt.tp, tt.p); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// fakeProc writes a process into a fake /proc.
func fakeProc(t *testing.T, root string, pid int, comm, state string, argv ...string) {
	t.Helper()
	dir := filepath.Join(root, fmt.Sprint(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"comm":    comm + "\n",
		"stat":    fmt.Sprintf("%d (%s) %s 1 2 3", pid, comm, state),
		"cmdline": strings.Join(argv, "\x00") + "\x00",
	}
	for f, s := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProcStatesFakeProc(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 10, "nginx", "S", "nginx", "-g")
	fakeProc(t, root, 11, "nginx", "R", "nginx")
	fakeProc(t, root, 12, "nginx", "Z") // a zombie does not count
	fakeProc(t, root, 13, "a) Z (b", "S", "odd")
	fakeProc(t, root, 20, "python3", "S", "/usr/bin/python3", "/srv/worker.py")
	if err := os.MkdirAll(filepath.Join(root, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	tps := []kaconf.TrackProcess{
		{Name: "two", Process: "nginx", Quorum: 2, QuorumMax: kaconf.QuorumUnlimited},
		{Name: "three", Process: "nginx", Quorum: 3, QuorumMax: kaconf.QuorumUnlimited},
		{Name: "atmost1", Process: "nginx", Quorum: 1, QuorumMax: 1},
		{Name: "odd", Process: "a) Z (b", Quorum: 1, QuorumMax: kaconf.QuorumUnlimited},
		{Name: "worker", Process: "/usr/bin/python3", Params: []string{"/srv/worker.py"}, ParamMatch: kaconf.ParamMatchExact, FullCommand: true, Quorum: 1, QuorumMax: kaconf.QuorumUnlimited},
		{Name: "none", Process: "sshd", Quorum: 0, QuorumMax: 0},
	}
	want := map[string]bool{"two": true, "three": false, "atmost1": false, "odd": true, "worker": true, "none": true}
	if got := procStates(root, tps); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("states %v, want %v", got, want)
	}
	// Process 11 ends: "two" loses its quorum, "atmost1" gains it.
	if err := os.RemoveAll(filepath.Join(root, "11")); err != nil {
		t.Fatal(err)
	}
	got := procStates(root, tps)
	if got["two"] || !got["atmost1"] {
		t.Errorf("after an exit: %v", got)
	}
}

func TestProcDebounce(t *testing.T) {
	tp := &kaconf.TrackProcess{Name: "p", ForkDelay: 2 * time.Second, TerminateDelay: time.Second}
	var d procDebounce
	t0 := time.Unix(1000, 0)
	if !d.step(tp, true, t0) {
		t.Fatal("the first state is reported at once")
	}
	if !d.step(tp, false, t0) || !d.step(tp, false, t0.Add(999*time.Millisecond)) {
		t.Error("down reported before terminate_delay")
	}
	if d.step(tp, false, t0.Add(time.Second)) {
		t.Error("down not reported after terminate_delay")
	}
	if d.step(tp, true, t0.Add(2*time.Second)) {
		t.Error("up reported at once despite fork_delay")
	}
	if d.step(tp, false, t0.Add(3*time.Second)) || d.step(tp, true, t0.Add(4*time.Second)) {
		t.Error("a blip restarted nothing: up reported early")
	}
	if !d.step(tp, true, t0.Add(6*time.Second)) {
		t.Error("up not reported after fork_delay")
	}
}

// TestTrackProcessDaemon runs a daemon tracking a real child process, found in
// /proc by its unique arguments: VI_1 loses 30 while it is gone, VI_2 (weight 0)
// is in FAULT while it is gone.
func TestTrackProcessDaemon(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	arg := fmt.Sprintf("%d.%d", 300+os.Getpid()%100, time.Now().UnixNano()%1000000)
	start := func() *exec.Cmd {
		t.Helper()
		c := exec.Command(sleep, arg)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		return c
	}
	child := start()
	conf := fmt.Sprintf(`
vrrp_track_process child {
    process %s %s
    weight -30
}
vrrp_track_process child0 {
    process %s %s
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    version 3
    advert_int 0.1
    priority 100
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_process {
        child
    }
}
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 52
    version 3
    advert_int 0.1
    priority 100
    virtual_ipaddress {
        198.51.100.100/24
    }
    track_process {
        child0
    }
}
`, sleep, arg, sleep, arg)
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	waitFor(t, "both MASTER at 100", func() bool {
		a, b := h.instance("VI_1"), h.instance("VI_2")
		return a.State == "MASTER" && a.Priority == 100 && b.State == "MASTER"
	})

	child.Process.Kill()
	waitFor(t, "VI_1 at 70, VI_2 in FAULT", func() bool {
		return h.instance("VI_1").Priority == 70 && h.instance("VI_2").State == "FAULT"
	})
	child.Wait()

	start()
	waitFor(t, "VI_1 back at 100, VI_2 MASTER", func() bool {
		return h.instance("VI_1").Priority == 100 && h.instance("VI_2").State == "MASTER"
	})
}
