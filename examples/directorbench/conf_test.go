package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestLayout(t *testing.T) {
	for _, n := range []int{1, 10, 255, 256, 1000, maxSegments * maxPerSegment} {
		insts, err := layout(n)
		if err != nil {
			t.Fatalf("layout(%d): %v", n, err)
		}
		if len(insts) != n {
			t.Fatalf("layout(%d) has %d instances", n, len(insts))
		}
		// A VRID and a VIP identify one virtual router per segment: no repeats there.
		vrids := map[routerKey]string{}
		vips := map[[2]any]string{}
		names := map[string]bool{}
		for _, in := range insts {
			if in.VRID < 1 || in.VRID > 255 {
				t.Fatalf("%s: VRID %d", in.Name, in.VRID)
			}
			if in.Segment >= segments(n) {
				t.Fatalf("%s: segment %d of %d", in.Name, in.Segment, segments(n))
			}
			if prev, dup := vrids[in.key()]; dup {
				t.Fatalf("%s and %s share VRID %d on segment %d", prev, in.Name, in.VRID, in.Segment)
			}
			vrids[in.key()] = in.Name
			k := [2]any{in.Segment, in.VIP}
			if prev, dup := vips[k]; dup {
				t.Fatalf("%s and %s share VIP %v on segment %d", prev, in.Name, in.VIP, in.Segment)
			}
			vips[k] = in.Name
			if !testNet(in.VIP) {
				t.Fatalf("%s: VIP %v is not in a TEST-NET range", in.Name, in.VIP)
			}
			if names[in.Name] {
				t.Fatalf("name %s twice", in.Name)
			}
			names[in.Name] = true
		}
	}
	for _, n := range []int{0, -1, maxSegments*maxPerSegment + 1} {
		if _, err := layout(n); err == nil {
			t.Errorf("layout(%d) succeeded", n)
		}
	}
}

func testNet(a netip.Addr) bool {
	for _, p := range []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"} {
		if netip.MustParsePrefix(p).Contains(a) {
			return true
		}
	}
	return false
}

func TestHostAddrs(t *testing.T) {
	seen := map[netip.Addr]bool{}
	for s := range maxSegments {
		subnet := netip.PrefixFrom(hostAddr(s, hostA), 29).Masked()
		for _, h := range []host{hostA, hostB, hostO} {
			a := hostAddr(s, h)
			if seen[a] || !testNet(a) || !subnet.Contains(a) || a == subnet.Addr() {
				t.Fatalf("segment %d host %s: address %v (subnet %v) repeated, outside TEST-NET, or the network address", s, h, a, subnet)
			}
			seen[a] = true
		}
	}
}

func TestKeepalivedConf(t *testing.T) {
	insts, err := layout(300)
	if err != nil {
		t.Fatal(err)
	}
	a, b := keepalivedConf(insts, hostA), keepalivedConf(insts, hostB)
	for _, tc := range []struct {
		name, conf, want string
	}{
		{"global", a, "global_defs {\n\trouter_id bench_a\n\tvrrp_version 3\n}\n"},
		{"A's first", a, "vrrp_instance VI_1 {\n\tstate BACKUP\n\tinterface eth0\n\tvirtual_router_id 1\n\tpriority 150\n\tadvert_int 0.1\n\tvirtual_ipaddress {\n\t\t198.51.100.1/32\n\t}\n}\n"},
		{"B's 256th on the second segment", b, "vrrp_instance VI_256 {\n\tstate BACKUP\n\tinterface eth1\n\tvirtual_router_id 1\n\tpriority 100\n\tadvert_int 0.1\n\tvirtual_ipaddress {\n\t\t203.0.113.2/32\n\t}\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.conf, tc.want) {
				t.Errorf("configuration lacks\n%s", tc.want)
			}
		})
	}
	if got := strings.Count(a, "vrrp_instance "); got != 300 {
		t.Errorf("A's file has %d instances, want 300", got)
	}
	// Only the priority and router_id differ between the hosts' files.
	if got := strings.NewReplacer("priority 100", "priority 150", "bench_b", "bench_a").Replace(b); got != a {
		t.Error("B's file differs from A's beyond priority and router_id")
	}
	for _, bad := range []string{"script", "virtual_server", "notify", "track_"} {
		if strings.Contains(a, bad) {
			t.Errorf("configuration contains %q; the benchmark is VRRP-only", bad)
		}
	}
}

func TestSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    string
		want string
	}{{"100ms", "0.1"}, {"1s", "1"}, {"1250ms", "1.25"}, {"3ms", "0.003"}} {
		d, _ := time.ParseDuration(tc.d)
		if got := seconds(d); got != tc.want {
			t.Errorf("seconds(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
