package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// execInNetns re-executes the running program, with the same arguments and env
// added to its environment, in the network namespace at path. It returns only on
// failure.
func execInNetns(path, env string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w (create it with ip netns add)", path, err)
	}
	defer unix.Close(fd)
	// setns moves only this thread: keep this goroutine on it, and exec from it so
	// that the new program starts in the namespace. The thread is never handed
	// back: if exec fails, it is in the other namespace, and the caller exits.
	runtime.LockOSThread()
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", path, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("the director's own path: %w", err)
	}
	if err := syscall.Exec(exe, os.Args, append(os.Environ(), env)); err != nil {
		return fmt.Errorf("exec %s in the namespace: %w", exe, err)
	}
	return nil
}
