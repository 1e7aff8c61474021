package ctxdeadline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// recorder is a Setter that keeps every deadline it was given.
type recorder struct {
	mu  sync.Mutex
	set []time.Time
}

func (r *recorder) SetDeadline(t time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set = append(r.set, t)
	return nil
}

func (r *recorder) last() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.set[len(r.set)-1]
}

func TestArm(t *testing.T) {
	var r recorder
	dl := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	disarm, err := Arm(ctx, &r)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.last(); !got.Equal(dl) {
		t.Errorf("deadline while armed = %v, want the context's %v", got, dl)
	}
	cancel()
	// The cancel moves the deadline to the past; disarm waits for it, so the zero
	// deadline it sets is the last one, whatever the goroutines' order.
	disarm()
	if got := r.last(); !got.IsZero() {
		t.Errorf("deadline after disarm = %v, want none", got)
	}
	past := false
	for _, d := range r.set {
		if !d.IsZero() && d.Before(time.Unix(2, 0)) {
			past = true
		}
	}
	if !past {
		t.Errorf("deadlines set %v: the cancel never moved the deadline to the past", r.set)
	}
}

func TestErr(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	timeout := fmt.Errorf("netlink receive: %w", os.ErrDeadlineExceeded)
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want []error
	}{
		{"nil stays nil", canceled, nil, nil},
		{"live context leaves the error", context.Background(), timeout, []error{os.ErrDeadlineExceeded}},
		{"cancelled", canceled, timeout, []error{os.ErrDeadlineExceeded, context.Canceled}},
		{"deadline passed", expired, timeout, []error{os.ErrDeadlineExceeded, context.DeadlineExceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Err(tt.ctx, tt.err)
			if tt.err == nil {
				if got != nil {
					t.Errorf("Err(nil) = %v", got)
				}
				return
			}
			for _, w := range tt.want {
				if !errors.Is(got, w) {
					t.Errorf("Err = %v, want one wrapping %v", got, w)
				}
			}
			if tt.ctx == context.Background() && errors.Is(got, context.DeadlineExceeded) {
				t.Errorf("Err = %v wraps context.DeadlineExceeded for a live context", got)
			}
		})
	}
}
