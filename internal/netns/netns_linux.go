// Package netns runs code inside a network namespace given by its file, the way every
// lvskit package that takes a Config.NetNS opens its sockets there: on an OS thread
// switched into the namespace with setns(2), switched back afterwards. Sockets opened
// inside stay in the namespace after the thread leaves it.
package netns

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on a locked OS thread of a goroutine of its own, switched into the network
// namespace whose file is path (/run/netns/NAME or /proc/PID/ns/net), and waits for
// it. The caller's thread never changes namespace. An empty path runs fn directly.
// Errors of the switch start with pkg (the calling package's name); fn's own error is
// returned as it is.
func Do(pkg, path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- DoLocked(pkg, path, fn)
	}()
	return <-errc
}

// DoLocked is Do on the calling goroutine, whose thread the caller has locked with
// runtime.LockOSThread. It unlocks the thread once the thread is back in its own
// namespace; when it cannot switch back, the thread stays locked, and the runtime
// discards it when the goroutine ends instead of reusing a thread in the wrong
// namespace.
func DoLocked(pkg, path string, fn func() error) error {
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("%s: open current netns: %w", pkg, err)
	}
	defer orig.Close()
	target, err := os.Open(path)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("%s: open netns: %w", pkg, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("%s: enter netns %s: %w", pkg, path, os.NewSyscallError("setns", err))
	}
	fnErr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("%s: leave netns %s: %w", pkg, path, os.NewSyscallError("setns", err))
	}
	runtime.UnlockOSThread()
	return fnErr
}
