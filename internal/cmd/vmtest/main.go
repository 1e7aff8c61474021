// Command vmtest runs lvskit's kernel tests, or any program, inside a qemu guest that boots
// Debian's stock kernel. The host kernel of lvskit's build machines has no IPVS; Debian's
// kernel has IPVS with every scheduler, veth, bridge and the tunnel drivers as modules.
//
// One command does everything: it installs what is missing through apt (qemu-system-x86,
// busybox-static, kmod, the linux-image package), caches the kernel and its modules, builds
// the selected test binaries statically (CGO_ENABLED=0), packs them with busybox, the
// modules and any extra files into an initramfs, boots it with software emulation and no
// network device (-accel tcg -cpu max -nic none), loads the IPVS modules and their
// dependencies, runs the tests, prints their output and exits with their status.
//
// Usage:
//
//	go run ./internal/cmd/vmtest [flags] [packages]          # run tests (default ./...)
//	go run ./internal/cmd/vmtest [flags] -exec 'prog args'   # run a program instead
//
// Inside the guest the environment has LVSKIT_GUEST=1, so tests that skip on the host when
// a kernel feature is missing fail there instead (see internal/testenv). The guest's PATH
// holds busybox, iproute2's ip and whatever -copy added; each test binary runs in its
// package's directory with the package's testdata copied beside it.
//
// Examples:
//
//	go run ./internal/cmd/vmtest -run Integration ./ipvs/...
//	go run ./internal/cmd/vmtest -copy /usr/sbin/ipvsadm -exec 'ipvsadm -Ln'
//	go run ./internal/cmd/vmtest -file bin/lab:/bin/lab -exec '/bin/lab'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// stringsFlag collects a repeated string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var o options
	flag.StringVar(&o.run, "run", "Integration", "run only tests matching this regexp (passed as -test.run)")
	flag.StringVar(&o.bench, "bench", "", "run benchmarks matching this regexp instead of tests (passed as -test.bench, with -test.run=^$)")
	flag.StringVar(&o.benchtime, "benchtime", "", "passed as -test.benchtime")
	flag.IntVar(&o.count, "count", 1, "passed as -test.count")
	flag.BoolVar(&o.verbose, "v", false, "verbose test output (-test.v)")
	flag.DurationVar(&o.testTimeout, "test.timeout", 10*time.Minute, "per test binary timeout inside the guest")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "kill the guest after this long")
	flag.StringVar(&o.exec, "exec", "", "run this command line in the guest instead of tests (split on spaces)")
	flag.Var(&o.copies, "copy", "host program to copy into the guest's /bin with the shared libraries ldd lists (repeatable)")
	flag.Var(&o.files, "file", "extra file as HOST:GUEST (repeatable); GUEST defaults to HOST's base name in /bin")
	flag.Var(&o.modules, "module", "extra kernel module to load, by name (repeatable)")
	flag.IntVar(&o.memMB, "mem", 1024, "guest memory in MiB")
	flag.IntVar(&o.cpus, "smp", 2, "guest CPUs")
	flag.StringVar(&o.cache, "cache", "", "kernel cache directory (default $LVSKIT_VMTEST_CACHE, else the user cache dir)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (initramfs, binaries) and print its path")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: vmtest [flags] [packages]\n\nRuns Go tests or a program inside a qemu guest with Debian's kernel.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	o.packages = flag.Args()
	if len(o.packages) == 0 && o.exec == "" {
		o.packages = []string{"./..."}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
