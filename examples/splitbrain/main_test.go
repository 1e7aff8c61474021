package main

import (
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want func(c *config)
		err  string
	}{
		{name: "defaults", args: []string{"-interface", "eth0"}, want: func(c *config) {}},
		{
			name: "everything",
			args: []string{"-interface", "eth0", "-family", "4", "-vip", "192.0.2.100", "-vip", "198.51.100.1",
				"-window", "5s", "-confirm", "2", "-alarm", `logger -t "split brain"`, "-once", "-for", "1m"},
			want: func(c *config) {
				c.ipv6 = false
				c.vips = []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("198.51.100.1")}
				c.window, c.confirm = 5*time.Second, 2
				c.alarm = []string{"logger", "-t", "split brain"}
				c.once, c.duration = true, time.Minute
			},
		},
		{name: "ipv6 only", args: []string{"-interface", "eth0", "-family", "6"}, want: func(c *config) { c.ipv4 = false }},
		{name: "no interface", args: nil, err: "-interface is required"},
		{name: "bad family", args: []string{"-interface", "e", "-family", "5"}, err: "-family"},
		{name: "ipv6 vip", args: []string{"-interface", "e", "-vip", "2001:db8::1"}, err: "IPv4"},
		{name: "vip without ipv4", args: []string{"-interface", "e", "-family", "6", "-vip", "192.0.2.1"}, err: "-vip needs IPv4"},
		{name: "confirm", args: []string{"-interface", "e", "-confirm", "0"}, err: "-confirm"},
		{name: "alarm quote", args: []string{"-interface", "e", "-alarm", `"x`}, err: "-alarm"},
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
			want := &config{iface: "eth0", ipv4: true, ipv6: true, confirm: 3, vipConfirm: 3, arpInterval: 2 * time.Second, arpWait: 500 * time.Millisecond}
			tc.want(want)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(config{}), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestEventEnv(t *testing.T) {
	e := event{kind: "vip-conflict", vrid: 51, masters: []netip.Addr{rA}, vip: netip.MustParseAddr("192.0.2.100"),
		holders: []net.HardwareAddr{{2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 4}}}
	want := []string{
		"SPLITBRAIN_EVENT=vip-conflict", "SPLITBRAIN_VRID=51", "SPLITBRAIN_MASTERS=192.0.2.1",
		"SPLITBRAIN_VIP=192.0.2.100", "SPLITBRAIN_HOLDERS=02:00:00:00:00:03 02:00:00:00:00:04",
	}
	if diff := cmp.Diff(want, e.env()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if !e.problem() || (event{kind: "healed"}).problem() {
		t.Error("problem(): vip-conflict must be a problem and healed must not")
	}
	split := event{kind: "split-brain", vrid: 7, masters: []netip.Addr{rA, rB}}
	want = []string{"SPLITBRAIN_EVENT=split-brain", "SPLITBRAIN_VRID=7", "SPLITBRAIN_MASTERS=192.0.2.1 192.0.2.2"}
	if diff := cmp.Diff(want, split.env()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
