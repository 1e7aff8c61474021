package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// hostTools maps the programs the harness runs on the host to their Debian packages.
var hostTools = []struct{ path, pkg string }{
	{"/usr/bin/qemu-system-x86_64", "qemu-system-x86"},
	{"/bin/busybox", "busybox-static"},
	{"/sbin/depmod", "kmod"},
	{"/usr/sbin/ip", "iproute2"},
}

// ensureTools installs the Debian packages of any missing host tool. It checks
// busybox for being static too: the dynamic busybox package cannot run in the guest.
func ensureTools(ctx context.Context) error {
	var missing []string
	for _, t := range hostTools {
		if _, err := os.Stat(t.path); err != nil {
			missing = append(missing, t.pkg)
			continue
		}
		if t.pkg == "busybox-static" && !isStatic(t.path) {
			missing = append(missing, t.pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return aptInstall(ctx, missing...)
}

func isStatic(path string) bool {
	out, err := exec.Command("ldd", path).CombinedOutput()
	return err != nil || bytes.Contains(out, []byte("not a dynamic executable"))
}

// aptUpdated remembers whether this run already refreshed the package lists.
var aptUpdated bool

func aptUpdate(ctx context.Context) error {
	if aptUpdated {
		return nil
	}
	if err := command(ctx, "", "apt-get", "update", "-q").Run(); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	aptUpdated = true
	return nil
}

func aptInstall(ctx context.Context, pkgs ...string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing packages %s: install them or run vmtest as root", strings.Join(pkgs, " "))
	}
	fmt.Fprintln(os.Stderr, "vmtest: installing", strings.Join(pkgs, " "))
	if err := aptUpdate(ctx); err != nil {
		return err
	}
	cmd := command(ctx, "", "apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get install %s: %w", strings.Join(pkgs, " "), err)
	}
	return nil
}

// command prepares a host command whose output goes to stderr, so that the guest's
// console stays the only thing on stdout.
func command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd
}
