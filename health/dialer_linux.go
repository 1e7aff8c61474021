package health

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func (d DialConfig) setSockopts(fd int) error {
	if d.Interface != "" {
		if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, d.Interface); err != nil {
			return fmt.Errorf("health: bind to device %q: %w", d.Interface, err)
		}
	}
	if d.Mark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(d.Mark)); err != nil {
			return fmt.Errorf("health: set fwmark %#x: %w", d.Mark, err)
		}
	}
	return nil
}
