package health

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestErrorMessages checks that probe errors read well (one package prefix) while both
// the sentinel and the cause stay reachable.
func TestErrorMessages(t *testing.T) {
	refused := closedPort(t, "tcp")
	_, err := (&TCPChecker{Address: refused}).Check(context.Background())
	if !errors.Is(err, syscall.ECONNREFUSED) || strings.Count(err.Error(), "health:") != 1 {
		t.Errorf("refused: %q", err)
	}
	mute := listenTCP(t, func(c net.Conn) { time.Sleep(time.Second) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = (&TCPChecker{Address: mute, Expect: &Expect{Prefix: []byte("x")}}).Check(ctx)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) || strings.Count(err.Error(), "health:") != 1 {
		t.Errorf("timeout: %q", err)
	}
	if want := "health: tcp " + mute + ": check timed out: read: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("timeout message %q, want prefix %q", err, want)
	}
}
