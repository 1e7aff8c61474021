//go:build !linux

package main

import (
	"fmt"
	"runtime"
)

func execInNetns(path, env string) error {
	return fmt.Errorf("director: network namespaces are not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}
