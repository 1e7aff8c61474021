package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/mdlayher/netlink"
)

// newParallelFake returns a Client over ipvstest that, like a dialled one, can open more
// sockets, and counts how many it opened.
func newParallelFake(t *testing.T, conns int) (*Client, *int) {
	t.Helper()
	srv := ipvstest.New(nil)
	dials := new(int)
	c, err := newClient(srv.Dial(), &Config{SnapshotConns: conns}, func() (*netlink.Conn, error) {
		*dials++
		return srv.Dial(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, dials
}

func TestSnapshotParallel(t *testing.T) {
	ctx := context.Background()
	// Services with 0 to 6 destinations each, so that a destination list landing on the
	// wrong service would show.
	var want []VirtualServer
	for i := range 3 * parallelMin {
		s := Service{Family: IPv4, Protocol: TCP, Address: netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i)}), Port: 80,
			Scheduler: RoundRobin}
		vs := VirtualServer{Service: s}
		for j := range i % 7 {
			vs.Destinations = append(vs.Destinations, Destination{Family: IPv4,
				Address: netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + j)}), Port: uint16(8000 + i), Forward: DirectRoute, Weight: int32(j)})
		}
		want = append(want, vs)
	}
	tests := []struct {
		name      string
		conns     int
		services  int
		wantDials int
	}{
		{"one socket", 1, len(want), 0},
		{"four sockets", 4, len(want), 3},
		{"small table stays on one socket", 4, parallelMin - 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, dials := newParallelFake(t, tt.conns)
			if err := c.Apply(ctx, Diff(want[:tt.services], nil)); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second Snapshot reuses the sockets
				snap, err := c.Snapshot(ctx)
				if err != nil {
					t.Fatal(err)
				}
				// The kernel's order (services by hash bucket, destinations newest
				// first) is not what this test is about: compare in want's order.
				if diff := cmp.Diff(want[:tt.services], inOrderOf(want, Table(snap))); diff != "" {
					t.Errorf("snapshot (-want +got):\n%s", diff)
				}
			}
			if *dials != tt.wantDials {
				t.Errorf("opened %d extra sockets, want %d", *dials, tt.wantDials)
			}
			if err := c.Close(); err != nil || len(c.extra) != 0 {
				t.Errorf("Close: %v, %d extra sockets left", err, len(c.extra))
			}
		})
	}
}

func TestSnapshotParallelRedialFails(t *testing.T) {
	srv := ipvstest.New(nil)
	c, err := newClient(srv.Dial(), &Config{SnapshotConns: 4}, func() (*netlink.Conn, error) {
		return nil, errors.New("no more sockets")
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var want []VirtualServer
	for i := range parallelMin + 1 {
		want = append(want, VirtualServer{Service: Service{Family: IPv4, FWMark: uint32(i + 1), Scheduler: WeightedLeastConnection},
			Destinations: []Destination{{Family: IPv4, Address: netip.MustParseAddr("198.51.100.1"), Weight: 1}}})
	}
	if err := c.Apply(ctx, Diff(want, nil)); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot without extra sockets: %v", err)
	}
	if diff := cmp.Diff(want, Table(snap)); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
}

func TestSnapshotParallelCanceled(t *testing.T) {
	c, _ := newParallelFake(t, 4)
	var table []VirtualServer
	for i := range 2 * parallelMin {
		table = append(table, VirtualServer{Service: Service{FWMark: uint32(i + 1)}})
	}
	if err := c.Apply(context.Background(), Diff(table, nil)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Snapshot(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Snapshot with a canceled context: %v, want context.Canceled", err)
	}
	if _, err := c.Snapshot(context.Background()); err != nil {
		t.Fatalf("Snapshot after a canceled one: %v", err)
	}
}

// inOrderOf returns got's services in the order of the same services in want, and
// their destinations sorted as CanonicalDestinations sorts them (as want's are);
// services that want lacks go last.
func inOrderOf(want, got []VirtualServer) []VirtualServer {
	pos := func(s Service) int {
		for i, w := range want {
			if w.Service == s {
				return i
			}
		}
		return len(want)
	}
	out := slices.Clone(got)
	slices.SortStableFunc(out, func(a, b VirtualServer) int { return pos(a.Service) - pos(b.Service) })
	for i := range out {
		out[i].Destinations = CanonicalDestinations(out[i].Destinations)
	}
	return out
}
