//go:build !linux

package arpctl

import (
	"fmt"
	"runtime"
)

// do runs fn; network namespaces exist only on Linux.
func (c *Client) do(fn func() error) error {
	if c.netns != "" {
		return fmt.Errorf("arpctl: network namespaces are not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	return fn()
}
