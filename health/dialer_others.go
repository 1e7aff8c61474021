//go:build !linux

package health

import (
	"fmt"
	"runtime"
)

func (d DialConfig) setSockopts(fd int) error {
	return fmt.Errorf("health: binding to an interface or setting a fwmark on %s/%s: %w", runtime.GOOS, runtime.GOARCH, ErrUnsupported)
}
