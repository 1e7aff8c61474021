package main

import (
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	base := []string{"-interface", "eth0", "-vrid", "51", "-check", "pidof nginx"}
	for _, tc := range []struct {
		name string
		args []string
		want func(c *config)
		err  string
	}{
		{
			name: "seed master",
			args: append(base, "-vip", "192.0.2.186/24", "-priority", "100", "-weight", "-20",
				"-restart", `sh -c "systemctl restart nginx; sleep 2"`),
			want: func(c *config) {
				c.vips = []netip.Prefix{netip.MustParsePrefix("192.0.2.186/24")}
				c.priority = 100
				c.weight = 20
				c.restart = []string{"sh", "-c", "systemctl restart nginx; sleep 2"}
			},
		},
		{
			name: "bare address is a host prefix, peers and v6",
			args: append(base, "-vip", "2001:db8::10", "-vip", "2001:db8::11/64", "-peer", "fe80::2", "-version", "3", "-advert-int", "500ms"),
			want: func(c *config) {
				c.vips = []netip.Prefix{netip.MustParsePrefix("2001:db8::10/128"), netip.MustParsePrefix("2001:db8::11/64")}
				c.peers = []netip.Addr{netip.MustParseAddr("fe80::2")}
				c.advertInt = 500 * time.Millisecond
			},
		},
		{name: "no interface", args: []string{"-vip", "192.0.2.1", "-vrid", "1", "-check", "true"}, err: "-interface is required"},
		{name: "no vip", args: base, err: "at least one -vip"},
		{name: "no check", args: []string{"-interface", "eth0", "-vrid", "1", "-vip", "192.0.2.1"}, err: "-check is required"},
		{name: "vrid range", args: append(base[2:], "-interface", "e", "-vrid", "256", "-vip", "192.0.2.1"), err: "-vrid"},
		{name: "priority 255", args: append(base, "-vip", "192.0.2.1", "-priority", "255"), err: "-priority"},
		{name: "mixed families", args: append(base, "-vip", "192.0.2.1", "-vip", "2001:db8::1"), err: "different families"},
		{name: "peer family", args: append(base, "-vip", "192.0.2.1", "-peer", "2001:db8::1"), err: "-peer"},
		{name: "bad quote", args: append(base, "-vip", "192.0.2.1", "-restart", `sh -c 'x`), err: "unterminated single quote"},
		{name: "multicast vip", args: append(base, "-vip", "224.0.0.1"), err: "not a unicast"},
		{name: "weight range", args: append(base, "-vip", "192.0.2.1", "-weight", "300"), err: "-weight"},
		{name: "extra args", args: append(base, "-vip", "192.0.2.1", "x"), err: "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.args, io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &config{
				iface: "eth0", vrid: 51, priority: 100, version: 3, advertInt: time.Second,
				check: []string{"pidof", "nginx"}, interval: 2 * time.Second, timeout: 2 * time.Second,
				restartTO: 30 * time.Second, backoff: 30 * time.Second, fall: 2, rise: 2,
			}
			tc.want(want)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(config{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}
