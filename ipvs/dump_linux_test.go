//go:build linux

package ipvs

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The dump path's sockets work on any kernel: these tests dump the generic-netlink
// controller's families (which needs no privileges), not IPVS.

func TestDumpSocketControllerDump(t *testing.T) {
	d, err := openDumper("", unix.GENL_ID_CTRL)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	d.arm(context.Background(), time.Now().Add(time.Minute))
	for round := range 2 { // the socket and its buffers are reused
		n := 0
		err := d.dump(finishRequest(d.startRequest(unix.CTRL_CMD_GETFAMILY)), func(body []byte) error {
			n++
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if n == 0 {
			t.Fatalf("round %d: the controller dump listed no family", round)
		}
	}
}

func TestDumpSocketWaitEnds(t *testing.T) {
	d, err := openDumper("", unix.GENL_ID_CTRL)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	buf := make([]byte, 64)
	// Nothing was requested, so a receive waits until the context or the deadline ends it.
	t.Run("deadline", func(t *testing.T) {
		d.arm(context.Background(), time.Now().Add(50*time.Millisecond))
		if _, err := d.io.recv(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("recv = %v, want os.ErrDeadlineExceeded", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		d.arm(ctx, time.Time{})
		if _, err := d.io.recv(buf); !errors.Is(err, context.Canceled) {
			t.Fatalf("recv = %v, want context.Canceled", err)
		}
	})
}

func TestDumpSocketBadNamespace(t *testing.T) {
	if _, err := openDumper("/nonexistent/netns", unix.GENL_ID_CTRL); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("openDumper in a missing namespace = %v, want os.ErrNotExist", err)
	}
}
