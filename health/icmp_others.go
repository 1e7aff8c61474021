//go:build !linux

package health

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"time"
)

func ping(ctx context.Context, d DialConfig, dst netip.Addr, size int, deadline time.Time) (bool, error) {
	return false, fmt.Errorf("health: icmp checks on %s/%s: %w", runtime.GOOS, runtime.GOARCH, ErrUnsupported)
}
