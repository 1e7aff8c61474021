package health_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"time"

	"github.com/lvskit/lvskit/health"
)

// A keepalived-style HTTP_GET against one real server.
func ExampleHTTPChecker() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	}))
	defer srv.Close()

	c := &health.HTTPChecker{
		Address: srv.Listener.Addr().String(),
		Path:    "/healthz",
		Status:  health.StatusRanges{{Lo: 200, Hi: 299}},
		Regexp:  regexp.MustCompile(`^ok`),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := c.Check(ctx)
	fmt.Println(res.Detail, err)
	// Output: HTTP 200 <nil>
}

// A TCP check refused by a closed port reports the errno.
func ExampleTCPChecker() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()

	_, err := (&health.TCPChecker{Address: addr}).Check(context.Background())
	fmt.Println(err != nil)
	// Output: true
}

// Scheduling checks and reacting to transitions, as a director wiring IPVS would.
func ExampleScheduler() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	addr := srv.Listener.Addr().String()

	s := health.NewScheduler(&health.SchedulerConfig{MaxConcurrent: 64})
	// keepalived: TCP_CHECK { connect_timeout 3 retry 1 delay_before_retry 1 }, delay_loop 1,
	// alpha (start down).
	s.Add("rs1", health.Check{
		Checker:    &health.TCPChecker{Address: addr},
		Interval:   time.Second,
		Timeout:    3 * time.Second,
		Retry:      1,
		RetryDelay: time.Second,
		StartDown:  true,
	})
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)

	tr := <-s.Transitions()
	fmt.Println(tr.Name, tr.Event, tr.Reason) // here: add the destination to IPVS

	srv.Close() // the server dies: two failed attempts, one second apart
	tr = <-s.Transitions()
	fmt.Println(tr.Name, tr.Event) // here: remove it, or set its weight to 0
	cancel()
	// Output:
	// rs1 up 1 consecutive successes
	// rs1 down
}
