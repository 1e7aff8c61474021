//go:build !linux

package vrrp

import (
	"context"
	"fmt"
	"runtime"
)

// LinkWatcher follows an interface's state; it exists only on Linux.
type LinkWatcher struct{}

// WatchLink returns an error: link events are read from rtnetlink, on Linux only.
func WatchLink(name string) (*LinkWatcher, error) {
	return nil, fmt.Errorf("vrrp: link watching is not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}

// Up returns false.
func (w *LinkWatcher) Up() bool { return false }

// Run returns an error.
func (w *LinkWatcher) Run(ctx context.Context, fn func(up bool)) error {
	return fmt.Errorf("vrrp: link watching is not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}

// Close does nothing.
func (w *LinkWatcher) Close() error { return nil }
