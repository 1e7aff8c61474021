//go:build !linux

package vip

import (
	"context"
	"fmt"
)

// EnsureMACVLAN returns ErrMACVLANUnsupported: macvlan interfaces exist only on
// Linux.
func (c *Client) EnsureMACVLAN(ctx context.Context, m MACVLAN) error {
	return fmt.Errorf("vip: macvlan %q: %w", m.Name, ErrMACVLANUnsupported)
}

// DeleteMACVLAN returns ErrMACVLANUnsupported: macvlan interfaces exist only on
// Linux.
func (c *Client) DeleteMACVLAN(ctx context.Context, m MACVLAN) error {
	return fmt.Errorf("vip: macvlan %q: %w", m.Name, ErrMACVLANUnsupported)
}

// MACVLANs returns ErrMACVLANUnsupported: macvlan interfaces exist only on Linux.
func (c *Client) MACVLANs(ctx context.Context) ([]MACVLAN, error) {
	return nil, fmt.Errorf("vip: macvlans: %w", ErrMACVLANUnsupported)
}
