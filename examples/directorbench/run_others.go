//go:build !linux

package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

func runBench(context.Context, options, io.Writer, io.Writer) error {
	return fmt.Errorf("directorbench: network namespaces need Linux, not %s/%s", runtime.GOOS, runtime.GOARCH)
}
