package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
)

func TestApplyLVSTimeouts(t *testing.T) {
	kernel := ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}
	tests := []struct {
		name string
		set  kaconf.LVSTimeouts
		want ipvs.Timeouts
	}{
		{name: "unset changes nothing", want: kernel},
		{name: "all", set: kaconf.LVSTimeouts{TCP: 7200 * time.Second, TCPFin: 60 * time.Second, UDP: 30 * time.Second},
			want: ipvs.Timeouts{TCP: 7200 * time.Second, TCPFin: 60 * time.Second, UDP: 30 * time.Second}},
		{name: "udp only keeps the others", set: kaconf.LVSTimeouts{UDP: 10 * time.Second},
			want: ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 10 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ipvstest.New(nil)
			c, err := ipvs.NewClient(srv.Dial())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if err := applyLVSTimeouts(ctx, c, tt.set); err != nil {
				t.Fatal(err)
			}
			got, err := c.Timeouts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("timeouts (-want +got):\n%s", diff)
			}
		})
	}
}
