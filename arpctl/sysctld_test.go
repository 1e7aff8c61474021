package arpctl

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSysctlDRoundTrip(t *testing.T) {
	for _, p := range []Profile{DRRealServer(), TUNRealServer(), Director("eth0"), Director("eth0.100")} {
		t.Run(p.Name, func(t *testing.T) {
			got, err := ParseSysctlD(p.SysctlD())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, got); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSysctlD(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []Entry
		wantErr error
	}{
		{
			name: "hand written",
			text: "; comment\n  net.ipv4.conf.all.arp_ignore=1\nnet/ipv4/conf/lo/arp_announce = 2\n-net.ipv4.conf.tunl0.rp_filter = 0\n\nnet.ipv4.ip_forward = 1\n",
			want: []Entry{
				{Setting: Setting{All, ARPIgnore}, Value: 1},
				{Setting: Setting{"lo", ARPAnnounce}, Value: 2},
				{Setting: Setting{"tunl0", RPFilter}, Value: 0, Optional: true},
				{Setting: Setting{Key: IPForward}, Value: 1},
			},
		},
		{name: "unknown setting", text: "net.ipv4.tcp_syncookies = 1\n", wantErr: ErrUnknownKey},
		{name: "arp_accept is not ours", text: "net.ipv4.conf.all.arp_accept = 1\n", wantErr: ErrUnknownKey},
		{name: "out of range", text: "net.ipv4.conf.all.arp_announce = 5\n", wantErr: ErrOutOfRange},
		{name: "dotted interface in dot form", text: "net.ipv4.conf.eth0.100.rp_filter = 0\n", wantErr: ErrUnknownKey},
		{name: "ip_forward as a conf key", text: "net.ipv4.conf.all.ip_forward = 1\n", wantErr: ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseSysctlD(tt.text)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseSysctlD = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p.Entries); diff != "" {
				t.Fatalf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseSysctlD(f *testing.F) {
	f.Add(DRRealServer().SysctlD())
	f.Add(TUNRealServer().SysctlD())
	f.Add(Director("eth0.100").SysctlD())
	f.Add("-net/ipv4/conf/lo/arp_notify=1\n; x\n")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParseSysctlD(text)
		if err != nil {
			return
		}
		again, err := ParseSysctlD(p.SysctlD())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", p.SysctlD(), err)
		}
		if diff := cmp.Diff(p.Entries, again.Entries); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
