//go:build linux

package ipvs

import (
	"os"
	"syscall"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// newDumper returns a dumper on conn's descriptor, or nil when conn has none (a
// connection of ipvstest). The descriptor stays non-blocking and owned by conn: reads
// go through its syscall.RawConn, so conn's deadlines bound them and a read that finds
// the reply already queued (the usual case: the kernel builds the next part of a dump
// inside the previous receive) never parks in the runtime's poller.
func newDumper(conn *netlink.Conn, family uint16) *dumper {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil
	}
	return newDumperIO(family, &rawIO{rc: rc})
}

type rawIO struct {
	rc syscall.RawConn
}

func (r *rawIO) send(b []byte) error {
	var serr error
	err := r.rc.Write(func(fd uintptr) bool {
		for {
			_, serr = unix.Write(int(fd), b)
			if serr != unix.EINTR {
				return serr != unix.EAGAIN
			}
		}
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("write", serr)
	}
	return nil
}

func (r *rawIO) recv(b []byte) (int, error) {
	var (
		n    int
		rerr error
	)
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			// MSG_TRUNC makes the kernel return the datagram's full length.
			m, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
				unix.MSG_TRUNC, 0, 0)
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			case 0:
				n, rerr = int(m), nil
			default:
				rerr = e
			}
			return true
		}
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, os.NewSyscallError("recvfrom", rerr)
	}
	return n, nil
}
