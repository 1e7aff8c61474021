//go:build !linux

package main

import (
	"fmt"
	"runtime"
)

func floor(config, []string, int) error {
	return fmt.Errorf("-floor is not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}
