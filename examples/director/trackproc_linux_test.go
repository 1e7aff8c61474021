package main

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestIntegrationProcEvents subscribes to the kernel's process events (root only)
// and sees a child the test starts and ends.
func TestIntegrationProcEvents(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("process events need root")
	}
	ctx, cancel := context.WithCancel(context.Background())
	kicks := make(chan struct{}, 1024)
	errc := make(chan error, 1)
	go func() {
		errc <- procEvents(ctx, func() {
			select {
			case kicks <- struct{}{}:
			default:
			}
		})
	}()
	defer func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("procEvents: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("procEvents did not end with its context")
		}
	}()
	// The subscription is made in the goroutine: start children until one is seen.
	deadline := time.After(10 * time.Second)
	for {
		select {
		case err := <-errc:
			errc <- err
			t.Skipf("process events unavailable: %v", err)
		default:
		}
		c := exec.Command("sleep", "0.01")
		if err := c.Run(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-kicks:
			return
		case <-deadline:
			t.Fatal("no process event within 10s")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
