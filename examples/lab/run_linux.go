package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

const modulePath = "github.com/lvskit/lvskit"

// run is the whole program: it builds the lab, tells its story and removes it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("the lab creates network namespaces: run it as root (sudo go run ./examples/lab)")
	}
	if err := ipvsAvailable(); err != nil {
		if o.inGuest {
			return err
		}
		fmt.Fprintf(stdout, "This kernel (%s) has no IPVS (%v).\nRunning the lab inside a qemu guest with Debian's kernel instead (go run ./internal/cmd/vmtest); the first run downloads the kernel package.\n", kernelRelease(), err)
		return runInGuest(ctx, o, stdout, stderr)
	}
	if o.inGuest {
		// The story and the kernel share the guest's serial console.
		report, err := quietConsole()
		if err != nil {
			return err
		}
		defer report(stdout)
	}
	bins, cleanup, err := findBinaries(ctx, o)
	if err != nil {
		return err
	}
	defer cleanup()

	n := &narrator{out: stdout, start: time.Now()}
	build := newLab
	if o.scenario == "ecmp" {
		build = newECMPLab
	}
	l, err := build(bins, labCluster(o))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			for _, p := range l.procs {
				fmt.Fprintf(stdout, "--- last lines of %s:\n%s\n", p.name, tail(p.log, 15))
			}
		}
		// A program that does not stop cleanly fails the lab too.
		cerr := l.close()
		left, lerr := l.namespaces()
		if cerr == nil && lerr == nil && len(left) == 0 {
			n.say("cleaned up: processes stopped, namespaces %s-* deleted", l.tag)
		}
		err = errors.Join(err, cerr, lerr)
		if len(left) > 0 {
			err = errors.Join(err, fmt.Errorf("namespaces left behind: %v", left))
		}
	}()
	tell := story
	switch o.scenario {
	case "active-active":
		tell = activeActiveStory
	case "ecmp":
		tell = ecmpStory
	}
	if err := tell(ctx, l, n); err != nil {
		n.say("FAILED: %v", err)
		return err
	}
	n.say("all checks passed")
	return nil
}

func labCluster(o options) cluster {
	c := defaultCluster()
	c.Version, c.AdvertInt, c.Check = o.version, o.advert, o.check
	if o.scenario == "active-active" {
		activeActive(&c)
	}
	if o.scenario == "ecmp" {
		return ecmpCluster(o)
	}
	return c
}

// ipvsAvailable resolves the IPVS generic-netlink family.
func ipvsAvailable() error {
	c, err := ipvs.Dial(nil)
	if err != nil {
		return err
	}
	return c.Close()
}

func kernelRelease() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return "?"
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

// findBinaries finds the director and realserver programs: the flag, the environment
// variable, PATH, or else builds them from this module.
func findBinaries(ctx context.Context, o options) (binaries, func(), error) {
	var tmp string
	cleanup := func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}
	find := func(name, flagVal, env string) (string, error) {
		if flagVal != "" {
			return flagVal, nil
		}
		if v := os.Getenv(env); v != "" {
			return v, nil
		}
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		if tmp == "" {
			var err error
			if tmp, err = os.MkdirTemp("", "lvskit-lab-bin-"); err != nil {
				return "", err
			}
		}
		return buildCommand(ctx, tmp, name)
	}
	var b binaries
	var err error
	if b.director, err = find("director", o.director, "LVSKIT_DIRECTOR_BIN"); err != nil {
		cleanup()
		return b, nil, err
	}
	if b.realserver, err = find("realserver", o.realserver, "LVSKIT_REALSERVER_BIN"); err != nil {
		cleanup()
		return b, nil, err
	}
	return b, cleanup, nil
}

// moduleRoot is the directory of lvskit's go.mod, from the working directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", modulePath).Output()
	if err != nil {
		return "", fmt.Errorf("finding the lvskit module (run the lab from its source tree): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// buildCommand builds examples/name (or internal/cmd/name) statically into dir.
func buildCommand(ctx context.Context, dir, name string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	pkg := "./examples/" + name
	if name == "vmtest" {
		pkg = "./internal/cmd/vmtest"
	}
	bin := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// runInGuest builds the lab, the director, realserver and vmtest, and runs the lab
// in vmtest's qemu guest.
func runInGuest(ctx context.Context, o options, stdout, stderr io.Writer) error {
	tmp, err := os.MkdirTemp("", "lvskit-lab-guest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins := map[string]string{}
	for _, name := range []string{"lab", "director", "realserver", "vmtest"} {
		if bins[name], err = buildCommand(ctx, tmp, name); err != nil {
			return err
		}
	}
	args := []string{"-mem", fmt.Sprint(o.mem)}
	for _, name := range []string{"lab", "director", "realserver"} {
		args = append(args, "-file", bins[name]+":/bin/"+name)
	}
	if o.scenario == "ecmp" {
		// BIRD and birdc with the libraries ldd lists.
		args = append(args, "-copy", "bird", "-copy", "birdc")
	}
	args = append(args, "-exec", "/bin/lab "+strings.Join(o.guestArgs(), " "))
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bins["vmtest"], args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// vmtest stops qemu on SIGINT.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the lab in the guest: %w", err)
	}
	return nil
}
