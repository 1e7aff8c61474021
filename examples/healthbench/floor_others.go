//go:build !linux

package main

import (
	"fmt"
	"runtime"
)

func runFloor(config) (sample, error) {
	return sample{}, fmt.Errorf("not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}
