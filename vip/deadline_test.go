package vip

import (
	"context"
	"errors"
	"iter"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
)

// hungSocket is a netlink socket whose kernel never answers: Receive blocks until
// the read deadline passes, as a real socket's does.
type hungSocket struct {
	mu       sync.Mutex
	deadline time.Time
	changed  chan struct{}
}

func newHungSocket() *hungSocket { return &hungSocket{changed: make(chan struct{})} }

func (s *hungSocket) Close() error                         { return nil }
func (s *hungSocket) Send(netlink.Message) error           { return nil }
func (s *hungSocket) SendMessages([]netlink.Message) error { return nil }

func (s *hungSocket) Receive() ([]netlink.Message, error) {
	for {
		s.mu.Lock()
		dl, ch := s.deadline, s.changed
		s.mu.Unlock()
		var timeout <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return nil, os.ErrDeadlineExceeded
			}
			timeout = time.After(d)
		}
		select {
		case <-timeout:
			return nil, os.ErrDeadlineExceeded
		case <-ch:
		}
	}
}

func (s *hungSocket) ReceiveIter() iter.Seq2[netlink.Message, error] {
	return func(yield func(netlink.Message, error) bool) {
		_, err := s.Receive()
		yield(netlink.Message{}, err)
	}
}

func (s *hungSocket) SetDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadline = t
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (s *hungSocket) SetReadDeadline(t time.Time) error { return s.SetDeadline(t) }
func (s *hungSocket) SetWriteDeadline(time.Time) error  { return nil }

// TestHungKernelCallsEnd: every Client call returns when its context's deadline
// passes or the context is cancelled, with an error that says so, instead of
// waiting forever for a kernel that does not answer; the next call is not held up.
func TestHungKernelCallsEnd(t *testing.T) {
	c := NewClient(netlink.NewConn(newHungSocket(), 1), nil)
	a := Address{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.10/32")}
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Add", func(ctx context.Context) error { return c.Add(ctx, a) }},
		{"Remove", func(ctx context.Context) error { return c.Remove(ctx, a) }},
		{"List", func(ctx context.Context) error { _, err := c.List(ctx, ""); return err }},
		{"Owned", func(ctx context.Context) error { _, err := c.Owned(ctx); return err }},
		{"Cleanup", func(ctx context.Context) error { _, err := c.Cleanup(ctx); return err }},
	}
	for _, tt := range calls {
		t.Run(tt.name+"/deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := tt.call(ctx)
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("err = %v, want one wrapping context.DeadlineExceeded and os.ErrDeadlineExceeded", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("returned after %v for a 50 ms deadline", d)
			}
		})
		t.Run(tt.name+"/cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			start := time.Now()
			err := tt.call(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want one wrapping context.Canceled", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("returned %v after the cancel at 50 ms", d)
			}
		})
	}
	if err := c.Add(context.Background(), Address{Interface: "eth0"}); err == nil {
		t.Error("an invalid address was accepted")
	}
}
