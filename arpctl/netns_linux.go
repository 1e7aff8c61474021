package arpctl

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// do runs fn in the Client's namespace. With a NetNS, fn runs on a fresh goroutine
// whose OS thread is locked and switched into the namespace, then switched back. If
// switching back fails the thread stays locked, and the runtime discards it when the
// goroutine ends, so no other goroutine ever runs in the wrong namespace.
func (c *Client) do(fn func() error) error {
	if c.netns == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- inNetNS(c.netns, fn)
	}()
	return <-errc
}

// inNetNS runs fn on the current, locked thread inside the namespace at path, and
// unlocks the thread when it is back in its own namespace.
func inNetNS(path string, fn func() error) error {
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("arpctl: open current netns: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(path)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("arpctl: open netns: %w", err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("arpctl: enter netns %s: %w", path, os.NewSyscallError("setns", err))
	}
	fnErr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Stay locked: see do.
		return fmt.Errorf("arpctl: leave netns %s: %w", path, os.NewSyscallError("setns", err))
	}
	runtime.UnlockOSThread()
	return fnErr
}
