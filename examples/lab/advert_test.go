package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// vrrpFrame builds an Ethernet frame with an IPv4 VRRP advertisement.
func vrrpFrame(from netip.Addr, version, vrid, prio int) []byte {
	f := make([]byte, 14+20+8)
	copy(f[0:6], []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12})
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, byte(vrid)})
	f[12], f[13] = 0x08, 0x00
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 255, 112
	a := from.As4()
	copy(ip[12:16], a[:])
	copy(ip[16:20], []byte{224, 0, 0, 18})
	v := ip[20:]
	v[0], v[1], v[2] = byte(version<<4|1), byte(vrid), byte(prio)
	return f
}

func TestParseAdvert(t *testing.T) {
	from := netip.MustParseAddr("192.0.2.11")
	tests := []struct {
		name   string
		frame  []byte
		want   advert
		wantOK bool
	}{
		{"v3 resign", vrrpFrame(from, 3, 51, 0), advert{From: from, MAC: "02:00:00:00:00:33", Version: 3, VRID: 51}, true},
		{"v2 prio 99", vrrpFrame(from, 2, 52, 99), advert{From: from, MAC: "02:00:00:00:00:34", Version: 2, VRID: 52, Priority: 99}, true},
		{"not VRRP", func() []byte { f := vrrpFrame(from, 3, 51, 100); f[14+9] = 6; return f }(), advert{}, false},
		{"ARP", func() []byte { f := vrrpFrame(from, 3, 51, 100); f[12], f[13] = 0x08, 0x06; return f }(), advert{}, false},
		{"truncated", vrrpFrame(from, 3, 51, 100)[:14+20+2], advert{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseAdvert(tt.frame)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v; want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); ok && diff != "" {
				t.Errorf("advert (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGaps(t *testing.T) {
	dir1, dir2 := netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12")
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ads := []advert{
		{At: at(0), From: dir1, VRID: 51, Priority: 100},
		{At: at(10), From: dir2, VRID: 52, Priority: 100}, // another instance
		{At: at(500), From: dir1, VRID: 51, Priority: 100},
		{At: at(700), From: dir1, VRID: 51, Priority: 0},
		{At: at(701), From: dir1, VRID: 52, Priority: 0},
		{At: at(1310), From: dir2, VRID: 51, Priority: 99},
		{At: at(1810), From: dir2, VRID: 51, Priority: 99},
	}
	resign, first, ok := resignGap(ads, 51, dir1, dir2)
	if !ok || resign.At != at(700) || first.At != at(1310) {
		t.Errorf("resignGap = %v, %v, %v; want the adverts at 700 ms and 1310 ms", resign.At.Sub(t0), first.At.Sub(t0), ok)
	}
	if _, _, ok := resignGap(ads[:5], 51, dir1, dir2); ok {
		t.Error("resignGap without a successor's advert: ok")
	}
	last, first, ok := takeoverGap(ads[:3], 51, dir1, dir2)
	if ok {
		t.Errorf("takeoverGap without a successor: ok (%v, %v)", last, first)
	}
	last, first, ok = takeoverGap(append(ads[:3:3], ads[5]), 51, dir1, dir2)
	if !ok || last.At != at(500) || first.At != at(1310) {
		t.Errorf("takeoverGap = %v, %v, %v; want 500 ms and 1310 ms", last.At.Sub(t0), first.At.Sub(t0), ok)
	}
}
