package vip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPolicySchedule(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		p    Policy
		// stop is when the context ends (0: never).
		stop    time.Duration
		want    []time.Duration
		wantErr error
	}{
		{name: "zero policy sends once", p: Policy{}, want: []time.Duration{0}},
		{
			name: "keepalived: 5 now and 5 after 5 s",
			p:    KeepalivedPolicy(),
			want: []time.Duration{0, 0, 0, 0, 0, 5 * s, 5 * s, 5 * s, 5 * s, 5 * s},
		},
		{
			name: "spaced burst",
			p:    Policy{Count: 3, Interval: MetalLBInterval},
			want: []time.Duration{0, 1100 * time.Millisecond, 2200 * time.Millisecond},
		},
		{
			name: "repeat defaults to count",
			p:    Policy{Count: 2, Interval: s, RepeatDelay: 10 * s},
			want: []time.Duration{0, s, 11 * s, 12 * s},
		},
		{
			name:    "refresh until the context ends",
			p:       Policy{Count: 1, Refresh: 30 * s},
			stop:    100 * s,
			want:    []time.Duration{0, 30 * s, 60 * s, 90 * s},
			wantErr: context.Canceled,
		},
		{
			name:    "cancel during the repeat delay",
			p:       KeepalivedPolicy(),
			stop:    2 * s,
			want:    []time.Duration{0, 0, 0, 0, 0},
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.stop > 0 {
					time.AfterFunc(tt.stop, cancel)
				}
				start := time.Now()
				var got []time.Duration
				err := tt.p.run(ctx, func() error {
					got = append(got, time.Since(start))
					return nil
				})
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("run = %v, want %v", err, tt.wantErr)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("send times (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestPolicyStopsOnSendError(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	err := KeepalivedPolicy().run(context.Background(), func() error {
		n++
		if n == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 3 {
		t.Fatalf("run = %v after %d rounds, want boom after 3", err, n)
	}
}

// recorder is a frameWriter that keeps what was sent.
type recorder struct {
	mu     sync.Mutex
	frames [][]byte
	dsts   []string
}

func (r *recorder) WriteTo(b []byte, addr net.Addr) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames = append(r.frames, append([]byte(nil), b...))
	r.dsts = append(r.dsts, addr.String())
	return len(b), nil
}

func (r *recorder) Close() error { return nil }

func TestAnnouncerRound(t *testing.T) {
	rec := &recorder{}
	ll := netip.MustParseAddr("fe80::1")
	a := &Announcer{w: rec, mac: testMAC, src6: ll, iface: "eth0"}
	v4, v6 := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")
	if err := a.Send(v4, v6); err != nil {
		t.Fatal(err)
	}
	if len(rec.frames) != 3 {
		t.Fatalf("sent %d frames, want 3 (ARP request, ARP reply, NA)", len(rec.frames))
	}
	req, err := parseARPFrame(rec.frames[0])
	if err != nil {
		t.Fatal(err)
	}
	rep, err := parseARPFrame(rec.frames[1])
	if err != nil {
		t.Fatal(err)
	}
	if req.op != arpRequest || rep.op != arpReply || req.senderIP != v4 || req.targetIP != v4 || rep.targetIP != v4 {
		t.Errorf("ARP frames: request %+v reply %+v", req, rep)
	}
	na, err := parseNAFrame(rec.frames[2])
	if err != nil {
		t.Fatal(err)
	}
	if na.srcIP != ll || na.target != v6 || na.flags != naFlagOverride {
		t.Errorf("NA: %+v", na)
	}
	want := []string{"ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff", "33:33:00:00:00:01"}
	if diff := cmp.Diff(want, rec.dsts); diff != "" {
		t.Errorf("destinations (-want +got):\n%s", diff)
	}

	// Without a link-local address the NA comes from the VIP itself.
	rec2 := &recorder{}
	a2 := &Announcer{w: rec2, mac: testMAC, iface: "eth0"}
	if err := a2.Send(v6); err != nil {
		t.Fatal(err)
	}
	na2, err := parseNAFrame(rec2.frames[0])
	if err != nil {
		t.Fatal(err)
	}
	if na2.srcIP != v6 {
		t.Errorf("NA source without link-local = %s, want %s", na2.srcIP, v6)
	}
}

type discard struct{}

func (discard) WriteTo(b []byte, _ net.Addr) (int, error) { return len(b), nil }
func (discard) Close() error                              { return nil }
