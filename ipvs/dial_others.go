//go:build !linux

package ipvs

import (
	"fmt"
	"runtime"
)

// Dial is only implemented on Linux; elsewhere it returns an error.
func Dial(cfg *Config) (*Client, error) {
	return nil, fmt.Errorf("ipvs: Dial is not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}
