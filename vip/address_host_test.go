package vip

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHostAddresses(t *testing.T) {
	got := HostAddresses("eth0", []netip.Addr{
		netip.MustParseAddr("192.0.2.100"),
		{},
		netip.MustParseAddr("::ffff:198.51.100.7"),
		netip.MustParseAddr("2001:db8::10"),
	})
	want := []Address{
		{Interface: "eth0", Prefix: netip.MustParsePrefix("192.0.2.100/32")},
		{Interface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.7/32")},
		{Interface: "eth0", Prefix: netip.MustParsePrefix("2001:db8::10/128")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HostAddresses (-want +got):\n%s", diff)
	}
	for _, a := range got {
		if err := a.Validate(); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
}
