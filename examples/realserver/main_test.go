package main

import (
	"io"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		profile string
		nvips   int
	}{
		{name: "one VIP", args: []string{"-vip", "192.0.2.100"}, profile: "LVS-DR real server", nvips: 1},
		{name: "tun with two", args: []string{"-vip", "192.0.2.100", "-vip", "2001:db8::100", "-mode", "tun"}, profile: "LVS-TUN real server", nvips: 2},
		{name: "no VIP", args: nil, wantErr: "at least one -vip"},
		{name: "bad mode", args: []string{"-vip", "192.0.2.1", "-mode", "nat"}, wantErr: `-mode "nat"`},
		{name: "not an address", args: []string{"-vip", "host.example"}, wantErr: "invalid value"},
		{name: "multicast", args: []string{"-vip", "224.0.0.1"}, wantErr: "not a unicast VIP"},
		{name: "stray argument", args: []string{"-vip", "192.0.2.1", "x"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parse = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.profile.Name != tt.profile || len(cfg.vips) != tt.nvips {
				t.Fatalf("parse = profile %q with %d VIPs, want %q with %d", cfg.profile.Name, len(cfg.vips), tt.profile, tt.nvips)
			}
		})
	}
}
