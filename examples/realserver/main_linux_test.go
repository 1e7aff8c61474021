package main

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
	"golang.org/x/sys/unix"
)

// state reads what realserver touches inside ns: the sysctls of every scope it may
// write, and the addresses on lo.
func state(t *testing.T, ns *testenv.NetNS) (map[string]string, string) {
	t.Helper()
	sys := map[string]string{}
	for _, sc := range []string{"all", "default", "lo"} {
		for _, k := range []string{"arp_ignore", "arp_announce", "rp_filter"} {
			p := "/proc/sys/net/ipv4/conf/" + sc + "/" + k
			sys[p] = strings.TrimSpace(ns.MustExec(t, "cat", p))
		}
	}
	return sys, ns.MustExec(t, "ip", "-br", "addr", "show", "dev", "lo")
}

// TestIntegrationRealServer builds the program, runs it inside a namespace, checks the
// changes, stops it with SIGTERM and checks that everything is as it was.
func TestIntegrationRealServer(t *testing.T) {
	testenv.RequireRoot(t)
	bin := build(t)
	ns := testenv.NewNetNS(t)
	// State the program must leave alone or put back: a non-default sysctl and an
	// address that was there before.
	ns.MustExec(t, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/lo/arp_announce; echo 2 > /proc/sys/net/ipv4/conf/all/rp_filter")
	ns.MustExec(t, "ip", "addr", "add", "192.0.2.200/32", "dev", "lo")
	sysBefore, addrBefore := state(t, ns)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name, bin,
		"-vip", "192.0.2.100", "-vip", "2001:db8::100", "-vip", "192.0.2.200", "-mode", "tun")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var printed []string
	for line := range lines {
		printed = append(printed, line)
		if line == "ready" {
			break
		}
	}
	if len(printed) == 0 || printed[len(printed)-1] != "ready" {
		cmd.Wait()
		t.Fatalf("realserver did not get ready; printed %q, stderr %q", printed, stderr.String())
	}
	wantPrinted := []string{
		"set net.ipv4.conf.all.arp_ignore = 1 (was 0)",
		"set net.ipv4.conf.all.arp_announce = 2 (was 0)",
		"set net.ipv4.conf.lo.arp_ignore = 1 (was 0)",
		"set net.ipv4.conf.lo.arp_announce = 2 (was 1)",
		"set net.ipv4.conf.all.rp_filter = 0 (was 2)",
		"skipped net.ipv4.conf.tunl0.rp_filter: no such interface (load the ipip module first)",
		"added 192.0.2.100/32 dev lo",
		"added 2001:db8::100/128 dev lo",
		"192.0.2.200/32 is already on lo; leaving it alone",
		"ready",
	}
	if diff := cmp.Diff(wantPrinted, printed); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	sysDuring, addrDuring := state(t, ns)
	for p, want := range map[string]string{
		"/proc/sys/net/ipv4/conf/all/arp_ignore":   "1",
		"/proc/sys/net/ipv4/conf/all/arp_announce": "2",
		"/proc/sys/net/ipv4/conf/lo/arp_ignore":    "1",
		"/proc/sys/net/ipv4/conf/lo/arp_announce":  "2",
		"/proc/sys/net/ipv4/conf/all/rp_filter":    "0",
	} {
		if sysDuring[p] != want {
			t.Errorf("while running %s = %s, want %s", p, sysDuring[p], want)
		}
	}
	for _, a := range []string{"192.0.2.100/32", "2001:db8::100/128", "192.0.2.200/32"} {
		if !strings.Contains(addrDuring, a) {
			t.Errorf("while running lo lacks %s: %s", a, addrDuring)
		}
	}

	if err := cmd.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var after []string
	for line := range lines {
		after = append(after, line)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("realserver exited with %v; stderr %q", err, stderr.String())
	}
	wantAfter := []string{
		"removed 2001:db8::100/128 dev lo",
		"removed 192.0.2.100/32 dev lo",
		"restored net.ipv4.conf.all.arp_ignore = 0",
		"restored net.ipv4.conf.all.arp_announce = 0",
		"restored net.ipv4.conf.lo.arp_ignore = 0",
		"restored net.ipv4.conf.lo.arp_announce = 1",
		"restored net.ipv4.conf.all.rp_filter = 2",
	}
	if diff := cmp.Diff(wantAfter, after); diff != "" {
		t.Errorf("output on SIGTERM (-want +got):\n%s", diff)
	}
	sysAfter, addrAfter := state(t, ns)
	if diff := cmp.Diff(sysBefore, sysAfter); diff != "" {
		t.Errorf("sysctls after SIGTERM (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(addrBefore, addrAfter); diff != "" {
		t.Errorf("addresses on lo after SIGTERM (-want +got):\n%s", diff)
	}
}

// start runs the built program inside ns and returns it with its output lines up to
// "ready", and a channel with the rest.
func start(t *testing.T, ns *testenv.NetNS, bin string, args ...string) (*exec.Cmd, []string, <-chan string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, bin}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var printed []string
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("realserver exited before ready; printed %q", printed)
			}
			printed = append(printed, line)
			if line == "ready" {
				return cmd, printed, lines
			}
		case <-timeout:
			t.Fatalf("realserver not ready after 60 s; printed %q", printed)
		}
	}
}

// TestIntegrationRealServerAfterKill kills a realserver with SIGKILL and checks that
// the next one removes the VIPs it left, and only those.
func TestIntegrationRealServerAfterKill(t *testing.T) {
	testenv.RequireRoot(t)
	bin := build(t)
	ns := testenv.NewNetNS(t)
	ns.MustExec(t, "ip", "addr", "add", "192.0.2.200/32", "dev", "lo")

	first, _, _ := start(t, ns, bin, "-vip", "192.0.2.100", "-vip", "2001:db8::100")
	if err := first.Process.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	if out := ns.MustExec(t, "ip", "addr", "show", "dev", "lo"); !strings.Contains(out, "192.0.2.100/32") {
		t.Fatalf("the killed realserver left no VIP behind, nothing to test:\n%s", out)
	}

	second, printed, rest := start(t, ns, bin, "-vip", "192.0.2.101")
	want := []string{
		"removed 192.0.2.100/32 dev lo left by an earlier run",
		"removed 2001:db8::100/128 dev lo left by an earlier run",
	}
	var got []string
	for _, l := range printed {
		if strings.HasSuffix(l, "left by an earlier run") {
			got = append(got, l)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stale VIPs removed at start (-want +got):\n%s", diff)
	}
	if err := second.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range rest {
	}
	if err := second.Wait(); err != nil {
		t.Fatal(err)
	}
	out := ns.MustExec(t, "ip", "-br", "addr", "show", "dev", "lo")
	for _, gone := range []string{"192.0.2.100", "192.0.2.101", "2001:db8::100"} {
		if strings.Contains(out, gone) {
			t.Errorf("%s is still on lo: %s", gone, out)
		}
	}
	if !strings.Contains(out, "192.0.2.200/32") {
		t.Errorf("the address that was never realserver's is gone: %s", out)
	}
}

// build compiles the program into a temporary directory. Without a Go toolchain (as in
// the kernel-test guest) the test is skipped: it checks the program, not the kernel.
func build(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("needs the go command to build realserver: %v", err)
	}
	testenv.RequireCommand(t, "ip")
	bin := filepath.Join(t.TempDir(), "realserver")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
