//go:build !linux

package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if _, err := parseFlags(args, stderr); err != nil {
		return err
	}
	return fmt.Errorf("lab: network namespaces and IPVS need Linux, not %s/%s", runtime.GOOS, runtime.GOARCH)
}
