//go:build !linux

package route

import (
	"fmt"
	"runtime"
)

// Dial reports that routes can only be announced on Linux. NewClient with a fake
// connection works everywhere.
func Dial(cfg *Config) (*Client, error) {
	if _, _, err := cfg.check(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("route: rtnetlink is not available on %s/%s", runtime.GOOS, runtime.GOARCH)
}
