//go:build !linux

package health

import (
	"fmt"
	"os/exec"
	"runtime"
)

func setProcessGroup(cmd *exec.Cmd) error {
	return fmt.Errorf("health: exec checks on %s/%s: %w", runtime.GOOS, runtime.GOARCH, ErrUnsupported)
}

func setUser(*exec.Cmd, *ExecUser) error {
	return fmt.Errorf("health: exec checks as another user on %s/%s: %w", runtime.GOOS, runtime.GOARCH, ErrUnsupported)
}
