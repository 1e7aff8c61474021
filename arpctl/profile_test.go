package arpctl

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApplyRestore(t *testing.T) {
	tests := []struct {
		name   string
		p      Profile
		ifaces []string
		start  map[Setting]int
		// set lists what must hold after Apply.
		set         map[Setting]int
		wantChanges []Change
		wantSkipped int
	}{
		{
			name:   "DR",
			p:      DRRealServer(),
			ifaces: []string{"lo", "eth0"},
			start:  map[Setting]int{{"lo", ARPAnnounce}: 2},
			set:    map[Setting]int{{All, ARPIgnore}: 1, {All, ARPAnnounce}: 2, {"lo", ARPIgnore}: 1, {"lo", ARPAnnounce}: 2},
			wantChanges: []Change{
				{Setting{All, ARPIgnore}, 0, 1},
				{Setting{All, ARPAnnounce}, 0, 2},
				{Setting{"lo", ARPIgnore}, 0, 1},
			},
		},
		{
			name:   "TUN with tunl0",
			p:      TUNRealServer(),
			ifaces: []string{"lo", "tunl0"},
			start:  map[Setting]int{{All, RPFilter}: 2, {"tunl0", RPFilter}: 1},
			set:    map[Setting]int{{All, RPFilter}: 0, {"tunl0", RPFilter}: 0, {All, ARPIgnore}: 1},
			wantChanges: []Change{
				{Setting{All, ARPIgnore}, 0, 1},
				{Setting{All, ARPAnnounce}, 0, 2},
				{Setting{"lo", ARPIgnore}, 0, 1},
				{Setting{"lo", ARPAnnounce}, 0, 2},
				{Setting{All, RPFilter}, 2, 0},
				{Setting{"tunl0", RPFilter}, 1, 0},
			},
		},
		{
			name:   "TUN without tunl0",
			p:      TUNRealServer(),
			ifaces: []string{"lo"},
			start:  map[Setting]int{{All, RPFilter}: 1},
			set:    map[Setting]int{{All, RPFilter}: 0},
			wantChanges: []Change{
				{Setting{All, ARPIgnore}, 0, 1},
				{Setting{All, ARPAnnounce}, 0, 2},
				{Setting{"lo", ARPIgnore}, 0, 1},
				{Setting{"lo", ARPAnnounce}, 0, 2},
				{Setting{All, RPFilter}, 1, 0},
			},
			wantSkipped: 1,
		},
		{
			name:   "director",
			p:      Director("eth0"),
			ifaces: []string{"lo", "eth0"},
			start:  map[Setting]int{{All, SendRedirects}: 1, {Default, SendRedirects}: 1, {"eth0", SendRedirects}: 1, {"eth0", Forwarding}: 1},
			set:    map[Setting]int{{Key: IPForward}: 1, {All, SendRedirects}: 0, {"eth0", SendRedirects}: 0},
			wantChanges: []Change{
				{Setting{Key: IPForward}, 0, 1},
				{Setting{All, SendRedirects}, 1, 0},
				{Setting{Default, SendRedirects}, 1, 0},
				{Setting{"eth0", SendRedirects}, 1, 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFake(t, tt.ifaces, tt.start)
			before := dumpTree(t, c)
			snap, err := c.Apply(tt.p)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			after := dumpTree(t, c)
			for s, v := range tt.set {
				if after[s] != v {
					t.Errorf("after Apply %s = %d, want %d", s, after[s], v)
				}
			}
			if diff := cmp.Diff(tt.wantChanges, snap.Changes()); diff != "" {
				t.Errorf("Changes (-want +got):\n%s", diff)
			}
			if len(snap.Skipped) != tt.wantSkipped {
				t.Errorf("Skipped = %v, want %d entries", snap.Skipped, tt.wantSkipped)
			}
			if err := snap.Restore(); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if diff := cmp.Diff(before, dumpTree(t, c)); diff != "" {
				t.Fatalf("Restore did not bring back the tree (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyRollsBackOnFailure(t *testing.T) {
	c := newFake(t, []string{"lo"}, map[Setting]int{{All, ARPAnnounce}: 1})
	readOnlySysctl(t, c.root, Setting{"lo", ARPAnnounce})
	before := dumpTreeExcept(t, c, Setting{"lo", ARPAnnounce})
	_, err := c.Apply(DRRealServer())
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("Apply with an unwritable lo.arp_announce = %v, want os.ErrPermission", err)
	}
	if diff := cmp.Diff(before, dumpTreeExcept(t, c, Setting{"lo", ARPAnnounce})); diff != "" {
		t.Fatalf("a failed Apply left changes behind (-want +got):\n%s", diff)
	}
}

func dumpTreeExcept(t *testing.T, c *Client, skip Setting) map[Setting]int {
	t.Helper()
	m := map[Setting]int{}
	for _, sc := range []Scope{All, Default, "lo"} {
		for _, k := range Keys() {
			s := Setting{sc, k}
			if k.Global() {
				s = Setting{Key: k}
			}
			if s == skip || (k.ipvs() && !hasIPVS(c)) {
				continue
			}
			v, err := c.Get(s)
			if err != nil {
				t.Fatal(err)
			}
			m[s] = v
		}
	}
	return m
}

func TestApplyRejectsBadProfile(t *testing.T) {
	c := newFake(t, []string{"lo"}, nil)
	before := dumpTree(t, c)
	p := Profile{Name: "bad", Entries: []Entry{
		{Setting: Setting{All, ARPIgnore}, Value: 1},
		{Setting: Setting{All, ARPAnnounce}, Value: 7},
	}}
	if _, err := c.Apply(p); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Apply = %v, want ErrOutOfRange", err)
	}
	if diff := cmp.Diff(before, dumpTree(t, c)); diff != "" {
		t.Fatalf("a rejected profile changed the tree (-want +got):\n%s", diff)
	}
	_, err := c.Apply(Profile{Entries: []Entry{{Setting: Setting{"eth3", ARPIgnore}, Value: 1}}})
	if !errors.Is(err, ErrUnknownInterface) {
		t.Fatalf("Apply on a missing interface = %v, want ErrUnknownInterface", err)
	}
}

func TestSysctlD(t *testing.T) {
	tests := []struct {
		name string
		p    Profile
		want string
	}{
		{"DR", DRRealServer(), `# LVS-DR real server (written by lvskit arpctl)
net.ipv4.conf.all.arp_ignore = 1
net.ipv4.conf.all.arp_announce = 2
net.ipv4.conf.lo.arp_ignore = 1
net.ipv4.conf.lo.arp_announce = 2
`},
		{"TUN", TUNRealServer(), `# LVS-TUN real server (written by lvskit arpctl)
net.ipv4.conf.all.arp_ignore = 1
net.ipv4.conf.all.arp_announce = 2
net.ipv4.conf.lo.arp_ignore = 1
net.ipv4.conf.lo.arp_announce = 2
net.ipv4.conf.all.rp_filter = 0
-net.ipv4.conf.tunl0.rp_filter = 0
`},
		{"director on a VLAN", Director("eth0.100"), `# LVS director on eth0.100 (written by lvskit arpctl)
net.ipv4.ip_forward = 1
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.default.send_redirects = 0
net/ipv4/conf/eth0.100/send_redirects = 0
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.p.SysctlD()); diff != "" {
				t.Fatalf("SysctlD (-want +got):\n%s", diff)
			}
		})
	}
}
