package ipvs

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCanonicalDestinations(t *testing.T) {
	d := func(addr string, port uint16) Destination {
		return Destination{Address: netip.MustParseAddr(addr), Port: port, Forward: DirectRoute, Weight: 1}
	}
	tests := []struct {
		name string
		in   []Destination
		want []Destination
	}{
		{name: "empty", in: nil, want: nil},
		{
			name: "address then port",
			in:   []Destination{d("192.0.2.20", 80), d("192.0.2.3", 8080), d("192.0.2.3", 80)},
			want: []Destination{d("192.0.2.3", 80), d("192.0.2.3", 8080), d("192.0.2.20", 80)},
		},
		{
			name: "IPv4 before IPv6",
			in:   []Destination{d("2001:db8::1", 80), d("203.0.113.9", 80), d("2001:db8::", 443)},
			want: []Destination{d("203.0.113.9", 80), d("2001:db8::", 443), d("2001:db8::1", 80)},
		},
		{
			name: "IPv4-mapped sorts as its IPv4 address",
			in:   []Destination{d("192.0.2.9", 80), d("::ffff:192.0.2.1", 80), d("2001:db8::1", 80)},
			want: []Destination{d("::ffff:192.0.2.1", 80), d("192.0.2.9", 80), d("2001:db8::1", 80)},
		},
		{
			// A tunnel destination's family is its own, not its service's.
			name: "explicit family",
			in:   []Destination{{Family: IPv6, Address: netip.MustParseAddr("2001:db8::1")}, {Family: IPv4, Address: netip.MustParseAddr("198.51.100.1")}},
			want: []Destination{{Family: IPv4, Address: netip.MustParseAddr("198.51.100.1")}, {Family: IPv6, Address: netip.MustParseAddr("2001:db8::1")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]Destination(nil), tt.in...)
			got := CanonicalDestinations(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CanonicalDestinations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(in, tt.in); diff != "" {
				t.Errorf("input modified (-before +after):\n%s", diff)
			}
		})
	}
}

// TestCanonicalDestinationsAnyOrder checks what directors rely on: whatever order each
// learned its real servers in, they all add them in the same order.
func TestCanonicalDestinationsAnyOrder(t *testing.T) {
	var ds []Destination
	for i := range 40 {
		a := netip.AddrFrom4([4]byte{198, 51, 100, byte(200 - i*5)})
		if i%3 == 0 {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
		}
		ds = append(ds, Destination{Address: a, Port: uint16(80 + i%2), Weight: int32(i%4 + 1)})
	}
	want := CanonicalDestinations(ds)
	for i := 1; i < len(want); i++ {
		if compareDestinations(want[i-1], want[i]) >= 0 {
			t.Fatalf("not strictly ordered at %d: %v then %v", i, want[i-1], want[i])
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		shuffled := append([]Destination(nil), ds...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if diff := cmp.Diff(want, CanonicalDestinations(shuffled)); diff != "" {
			t.Fatalf("order depends on input order (-want +got):\n%s", diff)
		}
	}
}
