package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

type options struct {
	packages    []string
	run         string
	bench       string
	benchtime   string
	count       int
	verbose     bool
	testTimeout time.Duration
	timeout     time.Duration
	exec        string
	copies      stringsFlag
	files       stringsFlag
	modules     stringsFlag
	memMB       int
	cpus        int
	cache       string
	keep        bool
}

// baseModules are loaded in every guest: IPVS with all of its schedulers and the sip
// persistence engine, and the link types lvskit's tests build topologies from.
var baseModules = []string{
	"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_fo", "ip_vs_ovf",
	"ip_vs_lblc", "ip_vs_lblcr", "ip_vs_dh", "ip_vs_sh", "ip_vs_mh", "ip_vs_sed", "ip_vs_nq",
	"ip_vs_pe_sip", "veth", "bridge", "ipip", "ip6_tunnel", "ip_gre", "fou", "fou6", "dummy",
}

// guestMarker starts the line that /init prints last, with the exit status after it.
const guestMarker = "LVSKIT-VMTEST-EXIT"

// run boots the guest and returns the status of what ran in it.
func run(ctx context.Context, o options) (int, error) {
	if err := ensureTools(ctx); err != nil {
		return 1, err
	}
	k, err := ensureKernel(ctx, o.cache)
	if err != nil {
		return 1, err
	}
	work, err := os.MkdirTemp("", "lvskit-vmtest-")
	if err != nil {
		return 1, err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "vmtest: work directory", work)
	} else {
		defer os.RemoveAll(work)
	}

	img := newImage()
	if err := img.addBusybox(); err != nil {
		return 1, err
	}
	// iproute2's ip: busybox's applet has no network namespaces.
	for _, p := range append([]string{"/usr/sbin/ip"}, o.copies...) {
		if err := img.addProgram(ctx, p); err != nil {
			return 1, err
		}
	}
	for _, f := range o.files {
		host, guest, ok := strings.Cut(f, ":")
		if !ok {
			guest = "/bin/" + filepath.Base(host)
		}
		if err := img.addHostFile(host, guest); err != nil {
			return 1, err
		}
	}
	load, err := k.loadOrder(append(baseModules, o.modules...))
	if err != nil {
		return 1, err
	}
	for _, m := range load {
		if err := img.addHostFile(filepath.Join(k.root, m.path), "/modules/"+filepath.Base(m.path)); err != nil {
			return 1, err
		}
	}

	var script strings.Builder
	script.WriteString(initPrologue)
	for _, m := range load {
		fmt.Fprintf(&script, "insmod /modules/%s || echo 'vmtest: insmod %s failed'\n", filepath.Base(m.path), m.name)
	}
	script.WriteString("echo 'vmtest: guest ready, kernel '$(uname -r)\n")

	if o.exec != "" {
		fmt.Fprintf(&script, "cd /tmp\n%s\nstatus=$?\n", o.exec)
	} else {
		tests, err := buildTests(ctx, work, o.packages)
		if err != nil {
			return 1, err
		}
		if len(tests) == 0 {
			return 1, errors.New("no test binaries: the packages have no tests")
		}
		args := testArgs(o)
		script.WriteString("status=0\n")
		for _, t := range tests {
			if err := img.addHostFile(t.binary, "/tests/"+filepath.Base(t.binary)); err != nil {
				return 1, err
			}
			if err := img.addTree(filepath.Join(t.dir, "testdata"), "/src/"+t.rel+"/testdata"); err != nil {
				return 1, err
			}
			img.addDir("/src/" + t.rel)
			fmt.Fprintf(&script, "echo '=== vmtest: %s'\ncd /src/%s && /tests/%s %s\nrc=$?\n", t.importPath, t.rel, filepath.Base(t.binary), args)
			fmt.Fprintf(&script, "if [ $rc -ne 0 ]; then status=$rc; echo 'FAIL\t%s (exit '$rc')'; else echo 'ok\t%s'; fi\n", t.importPath, t.importPath)
		}
	}
	fmt.Fprintf(&script, "echo %s $status\nsync\npoweroff -f\n", guestMarker)
	img.addFile("/init", []byte(script.String()), 0o755)

	initrd := filepath.Join(work, "initrd.gz")
	if err := img.write(initrd); err != nil {
		return 1, err
	}
	return boot(ctx, o, k.vmlinuz, initrd)
}

// testArgs renders the flags every test binary gets in the guest.
func testArgs(o options) string {
	args := []string{"-test.timeout=" + o.testTimeout.String(), "-test.count=" + strconv.Itoa(o.count)}
	if o.bench != "" {
		args = append(args, "-test.run=^$", "-test.bench="+shellQuote(o.bench), "-test.benchmem")
		if o.benchtime != "" {
			args = append(args, "-test.benchtime="+o.benchtime)
		}
	} else {
		args = append(args, "-test.run="+shellQuote(o.run))
	}
	if o.verbose {
		args = append(args, "-test.v")
	}
	return strings.Join(args, " ")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// initPrologue is the start of the guest's /init: busybox applets, the pseudo
// filesystems, loopback, and the environment tests look for.
const initPrologue = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin LVSKIT_GUEST=1 HOME=/tmp TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /run/netns /var/run /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
ln -sf /proc/self/fd /dev/fd
exec 0</dev/null
ip link set lo up
`

// boot runs qemu, copies the console to stdout, and returns the status /init printed.
func boot(ctx context.Context, o options, vmlinuz, initrd string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	args := []string{
		"-accel", "tcg", "-cpu", "max",
		"-m", strconv.Itoa(o.memMB), "-smp", strconv.Itoa(o.cpus),
		"-nographic", "-nic", "none", "-no-reboot", "-monitor", "none",
		"-kernel", vmlinuz, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 loglevel=1 quiet",
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.Stdin = nil
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 1, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 1, fmt.Errorf("start qemu: %w", err)
	}
	status, sawMarker := copyConsole(os.Stdout, out)
	waitErr := cmd.Wait()
	fmt.Fprintf(os.Stderr, "vmtest: guest ran %.1fs\n", time.Since(start).Seconds())
	if ctx.Err() != nil {
		return 1, fmt.Errorf("guest did not finish: %w", ctx.Err())
	}
	if !sawMarker {
		return 1, fmt.Errorf("guest stopped without reporting a status (qemu: %v)", waitErr)
	}
	return status, nil
}

var markerRE = regexp.MustCompile(`^` + guestMarker + ` (\d+)$`)

// copyConsole copies the serial console to w line by line, without carriage returns,
// and picks out the status line.
func copyConsole(w io.Writer, r io.Reader) (status int, saw bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := markerRE.FindStringSubmatch(line); m != nil {
			status, _ = strconv.Atoi(m[1])
			saw = true
		}
		fmt.Fprintln(w, line)
	}
	return status, saw
}
