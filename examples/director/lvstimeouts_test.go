package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/ipvs/ipvstest"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
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

// TestDaemonAppliesLVSTimeouts: a daemon started from a file with lvs_timeouts sets
// them in IPVS, and a reload with other values sets those.
func TestDaemonAppliesLVSTimeouts(t *testing.T) {
	const base = `
global_defs {
    lvs_timeouts tcp TCP tcpfin 60 udp 30
}
virtual_server 192.0.2.100 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.0.2.21 80 {
        weight 1
    }
}
`
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, strings.ReplaceAll(base, "TCP tcpfin", "7200 tcpfin"))); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	look, err := ipvs.NewClient(h.ipvs.Dial())
	if err != nil {
		t.Fatal(err)
	}
	defer look.Close()
	check := func(tcp time.Duration) {
		t.Helper()
		got, err := look.Timeouts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := ipvs.Timeouts{TCP: tcp, TCPFin: 60 * time.Second, UDP: 30 * time.Second}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("IPVS timeouts (-want +got):\n%s", diff)
		}
	}
	check(7200 * time.Second)
	if err := h.d.reload(context.Background(), readConf(t, strings.ReplaceAll(base, "TCP tcpfin", "3600 tcpfin"))); err != nil {
		t.Fatal(err)
	}
	check(3600 * time.Second)
}
