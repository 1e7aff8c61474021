//go:build !linux

package health

import (
	"context"
	"net/netip"
	"time"
)

// connectOnly leaves every connect-only probe to net.Dialer outside Linux.
func (d DialConfig) connectOnly(context.Context, netip.AddrPort, time.Time) (handled bool, err error) {
	return false, nil
}
