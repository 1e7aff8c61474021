//go:build !linux

package ipvs

import (
	"fmt"
	"runtime"
)

// openDumper is never reached outside Linux, where Dial fails first.
func openDumper(string, uint16) (*dumper, error) {
	return nil, fmt.Errorf("ipvs: dump sockets are not supported on %s/%s", runtime.GOOS, runtime.GOARCH)
}
