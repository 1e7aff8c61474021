package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// directorBinary builds the director once per test binary run.
func directorBinary(t *testing.T) string {
	t.Helper()
	if testenv.InGuest() {
		t.Skip("no Go toolchain in the kernel-test guest")
	}
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "go", "ip")
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "director-test-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "director")
		out, err := exec.Command("go", "build", "-o", buildBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// proc is a director (or keepalived) running in a namespace.
type proc struct {
	t      *testing.T
	name   string
	ns     *testenv.NetNS
	cmd    *exec.Cmd
	log    string
	status string
	done   chan struct{}
}

func startDirector(t *testing.T, name string, ns *testenv.NetNS, conf string, extra ...string) *proc {
	t.Helper()
	return startDirectorVia(t, name, ns, nil, conf, extra...)
}

// startDirectorVia starts the director through wrapper (a command that execs its
// arguments, such as setpriv), or directly when wrapper is empty.
func startDirectorVia(t *testing.T, name string, ns *testenv.NetNS, wrapper []string, conf string, extra ...string) *proc {
	t.Helper()
	bin := directorBinary(t)
	dir := t.TempDir()
	if len(wrapper) > 0 {
		// The status file is written by an unprivileged director.
		os.Chmod(filepath.Dir(dir), 0o755)
		os.Chmod(dir, 0o777)
	}
	logf := filepath.Join(dir, "log")
	out, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: name, ns: ns, log: logf, status: filepath.Join(dir, "status.json"), done: make(chan struct{})}
	args := append([]string{"netns", "exec", ns.Name}, wrapper...)
	args = append(args, append([]string{bin, "-f", conf, "-status-file", p.status, "-log-level", "debug"}, extra...)...)
	p.cmd = exec.Command("ip", args...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); out.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			b, _ := os.ReadFile(logf)
			lines := strings.Split(string(b), "\n")
			t.Logf("%s log (last lines):\n%s", name, strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	return p
}

func (p *proc) signal(s syscall.Signal) {
	p.cmd.Process.Signal(s)
}

// wait waits for the process to exit.
func (p *proc) wait(within time.Duration) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		p.t.Fatalf("%s did not exit within %v", p.name, within)
	}
}

// readStatus asks for a status dump with SIGUSR1 and reads it.
func (p *proc) readStatus() Status {
	p.t.Helper()
	// SIGUSR1 kills a process that has not yet installed its handler: wait for the
	// director to be running.
	eventually(p.t, p.name+" starts", 20*time.Second, func() bool {
		return strings.Contains(readFile(p.t, p.log), "starting VRRP")
	})
	os.Remove(p.status)
	p.signal(syscall.SIGUSR1)
	var st Status
	eventually(p.t, p.name+" writes its status", 20*time.Second, func() bool {
		b, err := os.ReadFile(p.status)
		return err == nil && json.Unmarshal(b, &st) == nil
	})
	return st
}

// hasAddr reports whether ns holds addr (as "addr/len") on eth0, with the label when
// one is given.
func hasAddr(t *testing.T, ns *testenv.NetNS, addr, label string) bool {
	t.Helper()
	out, err := ns.Exec("ip", "-4", "addr", "show", "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " "+addr+" ") && (label == "" || strings.HasSuffix(strings.TrimSpace(l), label)) {
			return true
		}
	}
	return false
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// pair is two namespaces on one segment, with 192.0.2.1 and 192.0.2.2 on eth0.
func pair(t *testing.T) (a, b *testenv.NetNS) {
	seg := testenv.NewSegment(t)
	a, b = testenv.NewNetNS(t), testenv.NewNetNS(t)
	seg.Attach(t, a, "eth0")
	seg.Attach(t, b, "eth0")
	a.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
	b.MustExec(t, "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")
	return a, b
}

type instConf struct {
	prio      int
	nopreempt bool
	version   int
	advert    string
	vips      []string
	extra     string // more lines in the instance
	head      string // blocks before it
}

func writeConf(t *testing.T, path string, c instConf) string {
	t.Helper()
	var vips strings.Builder
	for _, v := range c.vips {
		fmt.Fprintf(&vips, "        %s\n", v)
	}
	np := ""
	if c.nopreempt {
		np = "    nopreempt\n"
	}
	conf := fmt.Sprintf(`global_defs {
    router_id %s
}
%s
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    version %d
    priority %d
    advert_int %s
%s%s    virtual_ipaddress {
%s    }
}
`, filepath.Base(filepath.Dir(path)), c.head, c.version, c.prio, c.advert, np, c.extra, vips.String())
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestIntegrationDirectors runs two directors on one segment through election,
// notify scripts, track_script weights, failover on SIGKILL, stale VIP cleanup,
// reload without flap, graceful resign and nopreempt.
func TestIntegrationDirectors(t *testing.T) {
	directorBinary(t)
	nsA, nsB := pair(t)
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "a"), 0o755)
	os.Mkdir(filepath.Join(dir, "b"), 0o755)
	notifyA := filepath.Join(dir, "a", "notify.log")
	notifyScript := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(notifyScript, []byte("#!/bin/sh\necho \"$@\" >> \"$NOTIFY_LOG\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	masterScript := filepath.Join(dir, "master.sh")
	if err := os.WriteFile(masterScript, []byte("#!/bin/sh\necho master >> \""+notifyA+".master\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	flag := filepath.Join(dir, "fail-check")
	// notify scripts get no environment of ours: wrap the log path in the command.
	notifyLine := fmt.Sprintf("    notify \"/usr/bin/env NOTIFY_LOG=%s %s\"\n    notify_master %s\n", notifyA, notifyScript, masterScript)
	head := fmt.Sprintf("vrrp_script chk {\n    script \"/usr/bin/test ! -e %s\"\n    interval 1\n    weight -60\n}\n", flag)
	const vip, vip2 = "192.0.2.100", "192.0.2.101"
	confA := instConf{prio: 150, version: 3, advert: "0.2", vips: []string{vip + "/24 dev eth0 label eth0:vip"},
		extra: notifyLine + "    track_script {\n        chk\n    }\n", head: head}
	confB := instConf{prio: 100, version: 3, advert: "0.2", vips: []string{vip + "/24 dev eth0 label eth0:vip"}}
	fA := writeConf(t, filepath.Join(dir, "a", "keepalived.conf"), confA)
	fB := writeConf(t, filepath.Join(dir, "b", "keepalived.conf"), confB)
	slack := 20 * time.Second

	b := startDirector(t, "director B", nsB, fB)
	a := startDirector(t, "director A", nsA, fA)

	t.Log("election: A (150) MASTER with the labelled VIP, B (100) BACKUP")
	eventually(t, "A holds the VIP with its label", slack, func() bool { return hasAddr(t, nsA, vip+"/24", "eth0:vip") })
	eventually(t, "B does not hold the VIP", slack, func() bool { return !hasAddr(t, nsB, vip+"/24", "") })

	t.Log("notify scripts ran with keepalived's arguments")
	eventually(t, "notify wrote INSTANCE VI_1 MASTER 150", slack, func() bool {
		b, _ := os.ReadFile(notifyA)
		return strings.Contains(string(b), "INSTANCE VI_1 MASTER 150")
	})
	eventually(t, "notify_master ran", slack, func() bool {
		_, err := os.Stat(notifyA + ".master")
		return err == nil
	})

	t.Log("track_script: failing check lowers A to 90, B preempts; passing again, A preempts back")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B takes the VIP after A's check fails", slack, func() bool { return hasAddr(t, nsB, vip+"/24", "") })
	eventually(t, "A gives up the VIP", slack, func() bool { return !hasAddr(t, nsA, vip+"/24", "") })
	if st := a.readStatus(); st.Instances[0].Priority != 90 || st.Instances[0].State != "BACKUP" {
		t.Errorf("A after its check failed: %+v", st.Instances[0])
	}
	os.Remove(flag)
	eventually(t, "A takes the VIP back", slack, func() bool { return hasAddr(t, nsA, vip+"/24", "") })
	eventually(t, "B gives the VIP back", slack, func() bool { return !hasAddr(t, nsB, vip+"/24", "") })

	t.Log("SIGKILL of A: B takes over; A restarted removes its stale VIP and preempts")
	a.signal(syscall.SIGKILL)
	a.wait(slack)
	eventually(t, "B takes the VIP after A was killed", slack, func() bool { return hasAddr(t, nsB, vip+"/24", "") })
	if !hasAddr(t, nsA, vip+"/24", "") {
		t.Fatal("SIGKILL should have left A's VIP behind (the stale-VIP case)")
	}
	confA.prio = 120
	writeConf(t, fA, confA)
	a = startDirector(t, "director A", nsA, fA)
	eventually(t, "A, restarted, is MASTER", slack, func() bool {
		st := a.readStatus()
		return len(st.Instances) == 1 && st.Instances[0].State == "MASTER"
	})
	eventually(t, "B gives the VIP back", slack, func() bool { return !hasAddr(t, nsB, vip+"/24", "") })
	if !strings.Contains(readFile(t, a.log), "removed a stale VIP") {
		t.Error("A did not report removing the stale VIP")
	}

	t.Log("reload: a new priority and a second VIP, without a flap")
	before := a.readStatus().Instances[0]
	bBefore := b.readStatus().Instances[0]
	confA.prio = 140
	confA.vips = append(confA.vips, vip2+"/24 dev eth0")
	writeConf(t, fA, confA)
	a.signal(syscall.SIGHUP)
	eventually(t, "A holds the second VIP", slack, func() bool { return hasAddr(t, nsA, vip2+"/24", "") })
	after := a.readStatus().Instances[0]
	if after.Transitions != before.Transitions || after.State != "MASTER" || after.Priority != 140 {
		t.Errorf("reload flapped or missed the priority: before %+v, after %+v", before, after)
	}
	if bAfter := b.readStatus().Instances[0]; bAfter.Transitions != bBefore.Transitions {
		t.Errorf("B changed state during A's reload: before %+v, after %+v", bBefore, bAfter)
	}
	t.Log("a reload with an error keeps the running configuration")
	os.WriteFile(fA, []byte("vrrp_instance VI_1 {\n    bogus_keyword 1\n}\n"), 0o644)
	a.signal(syscall.SIGHUP)
	eventually(t, "A logs the bad file's line", slack, func() bool {
		return strings.Contains(readFile(t, a.log), "keepalived.conf:2")
	})
	if st := a.readStatus().Instances[0]; st.State != "MASTER" || st.Transitions != before.Transitions {
		t.Errorf("A after a bad reload: %+v", st)
	}

	t.Log("graceful resign: SIGTERM makes A resign, B takes over and A's VIPs are gone")
	a.signal(syscall.SIGTERM)
	a.wait(slack)
	eventually(t, "B takes the VIP after A resigned", slack, func() bool { return hasAddr(t, nsB, vip+"/24", "") })
	if hasAddr(t, nsA, vip+"/24", "") || hasAddr(t, nsA, vip2+"/24", "") {
		t.Error("A left a VIP behind after a graceful stop")
	}
	eventually(t, "notify saw A stop", slack, func() bool {
		return strings.Contains(readFile(t, notifyA), "INSTANCE VI_1 STOP")
	})

	t.Log("nopreempt: A (150, nopreempt) comes back and leaves B MASTER")
	confA.prio, confA.nopreempt = 150, true
	writeConf(t, fA, confA)
	a = startDirector(t, "director A", nsA, fA)
	eventually(t, "A is BACKUP", slack, func() bool {
		st := a.readStatus()
		return len(st.Instances) == 1 && st.Instances[0].State == "BACKUP" && st.Instances[0].MasterAddr == "192.0.2.2"
	})
	time.Sleep(2 * time.Second) // several Master_Down_Intervals (0.6 s)
	if !hasAddr(t, nsB, vip+"/24", "") || hasAddr(t, nsA, vip+"/24", "") {
		t.Error("nopreempt A took over from B")
	}
	a.signal(syscall.SIGTERM)
	b.signal(syscall.SIGTERM)
	a.wait(slack)
	b.wait(slack)
}

func readFile(t *testing.T, name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

// TestIntegrationKeepalivedInterop runs a director and keepalived 2.2.7 on one segment,
// each from its own keepalived.conf: they elect and fail over with each other both ways.
func TestIntegrationKeepalivedInterop(t *testing.T) {
	directorBinary(t)
	testenv.RequireCommand(t, "keepalived")
	nsD, nsK := pair(t)
	dir := t.TempDir()
	const vip = "192.0.2.100"
	conf := func(name string, prio int) string {
		p := filepath.Join(dir, name+".conf")
		writeConf(t, p, instConf{prio: prio, version: 2, advert: "1", vips: []string{vip + "/24"},
			extra: "    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n"})
		return p
	}
	fD, fK := conf("director", 150), conf("keepalived", 100)
	slack := 20 * time.Second

	k := startKeepalived(t, nsK, fK)
	eventually(t, "keepalived alone becomes MASTER", slack, func() bool { return hasAddr(t, nsK, vip+"/24", "") })

	d := startDirector(t, "director", nsD, fD)
	eventually(t, "the director (150) preempts keepalived (100)", slack, func() bool { return hasAddr(t, nsD, vip+"/24", "") })
	eventually(t, "keepalived gives up the VIP", slack, func() bool { return !hasAddr(t, nsK, vip+"/24", "") })

	d.signal(syscall.SIGKILL)
	d.wait(slack)
	eventually(t, "keepalived takes over after the director was killed", slack, func() bool { return hasAddr(t, nsK, vip+"/24", "") })

	d = startDirector(t, "director", nsD, fD)
	eventually(t, "the restarted director preempts keepalived again", slack, func() bool {
		st := d.readStatus()
		return len(st.Instances) == 1 && st.Instances[0].State == "MASTER"
	})
	eventually(t, "keepalived gives up the VIP again", slack, func() bool { return !hasAddr(t, nsK, vip+"/24", "") })

	d.signal(syscall.SIGTERM)
	d.wait(slack)
	eventually(t, "keepalived takes over after the director resigned", slack, func() bool { return hasAddr(t, nsK, vip+"/24", "") })

	// And the other way: keepalived resigns, the director takes over.
	d = startDirector(t, "director", nsD, conf("director", 50))
	eventually(t, "the director (50) is BACKUP to keepalived", slack, func() bool {
		st := d.readStatus()
		return len(st.Instances) == 1 && st.Instances[0].State == "BACKUP" && st.Instances[0].MasterAddr == "192.0.2.2"
	})
	k.signal(syscall.SIGTERM)
	eventually(t, "the director takes over after keepalived resigned", slack, func() bool { return hasAddr(t, nsD, vip+"/24", "") })
}

// startKeepalived runs keepalived 2.2.7's VRRP process in ns on conf, in the
// foreground, and kills it at the end of the test (showing its log if the test
// failed). Its status is read from its log.
func startKeepalived(t *testing.T, ns *testenv.NetNS, conf string) *proc {
	t.Helper()
	kdir := t.TempDir()
	klog, err := os.Create(filepath.Join(kdir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	k := &proc{t: t, name: "keepalived", ns: ns, log: klog.Name(), done: make(chan struct{})}
	k.cmd = exec.Command("ip", "netns", "exec", ns.Name, "keepalived", "-f", conf,
		"-p", filepath.Join(kdir, "k.pid"), "-r", filepath.Join(kdir, "v.pid"), "-c", filepath.Join(kdir, "c.pid"),
		"-n", "-l", "-D", "--vrrp")
	k.cmd.Stdout, k.cmd.Stderr = klog, klog
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { k.cmd.Wait(); klog.Close(); close(k.done) }()
	t.Cleanup(func() {
		k.cmd.Process.Kill()
		<-k.done
		if t.Failed() {
			t.Logf("keepalived log:\n%s", readFile(t, klog.Name()))
		}
	})
	return k
}

// TestIntegrationLinkTracking runs the director in a namespace and takes links down
// with ip(8): a track_interface (one end of a veth pair) and the instance's own
// interface each put the instance in FAULT, removing the VIP, and bring it back to
// MASTER with the VIP when they come up again.
func TestIntegrationLinkTracking(t *testing.T) {
	directorBinary(t)
	seg := testenv.NewSegment(t)
	ns, peer := testenv.NewNetNS(t), testenv.NewNetNS(t)
	seg.Attach(t, ns, "eth0")
	ns.MustExec(t, "ip", "addr", "add", "192.0.2.1/24", "dev", "eth0")
	testenv.Veth(t, ns, "trk0", peer, "trk0")
	const vip = "192.0.2.100"
	f := writeConf(t, filepath.Join(t.TempDir(), "keepalived.conf"), instConf{prio: 150, version: 3, advert: "0.2",
		vips: []string{vip + "/24 dev eth0"}, extra: "    track_interface {\n        trk0\n    }\n"})
	d := startDirector(t, "director", ns, f)
	slack := 20 * time.Second
	state := func() string {
		st := d.readStatus()
		if len(st.Instances) != 1 {
			return ""
		}
		return st.Instances[0].State
	}
	eventually(t, "MASTER with the VIP", slack, func() bool { return hasAddr(t, ns, vip+"/24", "") })
	for _, iface := range []string{"trk0", "eth0"} {
		t.Log(iface + " down: FAULT, VIP removed")
		ns.MustExec(t, "ip", "link", "set", iface, "down")
		eventually(t, "FAULT after "+iface+" went down", slack, func() bool { return state() == "FAULT" })
		eventually(t, "VIP removed", slack, func() bool { return !hasAddr(t, ns, vip+"/24", "") })
		t.Log(iface + " up: MASTER, VIP back")
		ns.MustExec(t, "ip", "link", "set", iface, "up")
		eventually(t, "MASTER after "+iface+" came up", slack, func() bool { return state() == "MASTER" })
		eventually(t, "VIP back", slack, func() bool { return hasAddr(t, ns, vip+"/24", "") })
	}
	d.signal(syscall.SIGTERM)
	d.wait(slack)
}

// TestIntegrationCapabilitiesOnly runs the director as the unprivileged user nobody
// with only CAP_NET_ADMIN and CAP_NET_RAW (ambient, bounding set reduced to them), as
// the systemd unit in docs/migrating-from-keepalived.md does: it becomes MASTER, adds
// its labelled VIP and announces it, and removes it on SIGTERM.
func TestIntegrationCapabilitiesOnly(t *testing.T) {
	bin := directorBinary(t)
	testenv.RequireCommand(t, "setpriv")
	os.Chmod(filepath.Dir(bin), 0o755) // nobody must reach the binary
	nsA, _ := pair(t)
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	const vip = "192.0.2.100"
	f := writeConf(t, filepath.Join(dir, "keepalived.conf"), instConf{prio: 150, version: 3, advert: "0.2",
		vips: []string{vip + "/24 dev eth0 label eth0:vip"}})
	os.Chmod(f, 0o644)
	caps := "-all,+net_admin,+net_raw"
	d := startDirectorVia(t, "director as nobody", nsA, []string{"setpriv", "--reuid=65534", "--regid=65534",
		"--clear-groups", "--inh-caps=" + caps, "--ambient-caps=" + caps, "--bounding-set=" + caps}, f)
	slack := 20 * time.Second
	eventually(t, "MASTER with the labelled VIP", slack, func() bool { return hasAddr(t, nsA, vip+"/24", "eth0:vip") })
	st := d.readStatus()
	if len(st.Instances) != 1 || st.Instances[0].State != "MASTER" {
		t.Errorf("status: %+v", st.Instances)
	}
	if strings.Contains(readFile(t, d.log), "level=ERROR") {
		t.Errorf("errors in the log:\n%s", readFile(t, d.log))
	}
	d.signal(syscall.SIGTERM)
	d.wait(slack)
	if hasAddr(t, nsA, vip+"/24", "") {
		t.Error("the VIP stayed after SIGTERM")
	}
}
