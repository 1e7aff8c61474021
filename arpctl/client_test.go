package arpctl

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSetGet(t *testing.T) {
	tests := []struct {
		name    string
		s       Setting
		v       int
		wantErr error
	}{
		{name: "arp_ignore on all", s: Setting{All, ARPIgnore}, v: 1},
		{name: "arp_ignore 8 on lo", s: Setting{"lo", ARPIgnore}, v: 8},
		{name: "arp_ignore 4 reserved", s: Setting{"lo", ARPIgnore}, v: 4, wantErr: ErrOutOfRange},
		{name: "arp_announce 2", s: Setting{Default, ARPAnnounce}, v: 2},
		{name: "arp_announce 3", s: Setting{All, ARPAnnounce}, v: 3, wantErr: ErrOutOfRange},
		{name: "rp_filter loose", s: Setting{"eth0", RPFilter}, v: 2},
		{name: "rp_filter negative", s: Setting{"eth0", RPFilter}, v: -1, wantErr: ErrOutOfRange},
		{name: "send_redirects 2", s: Setting{All, SendRedirects}, v: 2, wantErr: ErrOutOfRange},
		{name: "arp_filter", s: Setting{"eth0", ARPFilter}, v: 1},
		{name: "arp_notify", s: Setting{"eth0", ARPNotify}, v: 1},
		{name: "accept_redirects", s: Setting{"eth0", AcceptRedirects}, v: 1},
		{name: "forwarding", s: Setting{"eth0", Forwarding}, v: 1},
		{name: "ip_forward", s: Setting{Key: IPForward}, v: 1},
		{name: "unknown interface", s: Setting{"eth9", ARPIgnore}, v: 1, wantErr: ErrUnknownInterface},
		{name: "path escape", s: Setting{"../all", ARPIgnore}, v: 1, wantErr: ErrUnknownInterface},
		{name: "unknown key", s: Setting{All, "arp_accept"}, v: 1, wantErr: ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFake(t, []string{"lo", "eth0"}, nil)
			before := dumpTree(t, c)
			err := c.Set(tt.s, tt.v)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Set(%v, %d) = %v, want %v", tt.s, tt.v, err, tt.wantErr)
				}
				if diff := cmp.Diff(before, dumpTree(t, c)); diff != "" {
					t.Fatalf("a rejected Set changed the tree (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := c.Get(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.v {
				t.Fatalf("Get after Set = %d, want %d", got, tt.v)
			}
			want := before
			want[tt.s] = tt.v
			if diff := cmp.Diff(want, dumpTree(t, c)); diff != "" {
				t.Fatalf("Set touched other settings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSettingShape(t *testing.T) {
	for _, s := range []Setting{
		{Scope: All, Key: IPForward},
		{Key: ARPIgnore},
		{Scope: "a/b", Key: ARPIgnore},
		{Scope: "averyveryverylongname", Key: ARPIgnore},
	} {
		if err := s.Validate(0); err == nil {
			t.Errorf("Validate(%#v) = nil, want an error", s)
		}
	}
}

func TestUnknownInterfaceWrapsNotExist(t *testing.T) {
	c := newFake(t, nil, nil)
	_, err := c.Get(Setting{"eth9", ARPIgnore})
	if !errors.Is(err, ErrUnknownInterface) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Get(eth9) = %v, want ErrUnknownInterface wrapping os.ErrNotExist", err)
	}
}

// readOnlySysctl links a fake setting to a real sysctl that even root cannot write
// (mode 0444), to produce a genuine EACCES for root and unprivileged runs alike.
func readOnlySysctl(t *testing.T, root string, s Setting) {
	t.Helper()
	const ro = "/proc/sys/kernel/ngroups_max"
	if _, err := os.Stat(ro); err != nil {
		t.Skipf("needs %s: %v", ro, err)
	}
	p := filepath.Join(root, s.path())
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ro, p); err != nil {
		t.Fatal(err)
	}
}

func TestPermissionError(t *testing.T) {
	c := newFake(t, []string{"lo"}, nil)
	readOnlySysctl(t, c.root, Setting{"lo", ARPIgnore})
	err := c.Set(Setting{"lo", ARPIgnore}, 1)
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("Set on a read-only sysctl = %v, want os.ErrPermission", err)
	}
}

func TestEffective(t *testing.T) {
	tests := []struct {
		name string
		key  Key
		vals map[Setting]int
		want int
	}{
		{"arp_ignore max all", ARPIgnore, map[Setting]int{{All, ARPIgnore}: 2, {"eth0", ARPIgnore}: 1}, 2},
		{"arp_ignore max iface", ARPIgnore, map[Setting]int{{All, ARPIgnore}: 1, {"eth0", ARPIgnore}: 8}, 8},
		{"arp_announce max", ARPAnnounce, map[Setting]int{{"eth0", ARPAnnounce}: 2}, 2},
		{"arp_notify max", ARPNotify, map[Setting]int{{All, ARPNotify}: 1}, 1},
		{"rp_filter max", RPFilter, map[Setting]int{{All, RPFilter}: 2, {"eth0", RPFilter}: 1}, 2},
		{"rp_filter off needs both", RPFilter, map[Setting]int{{"eth0", RPFilter}: 1}, 1},
		{"arp_filter or", ARPFilter, map[Setting]int{{All, ARPFilter}: 1}, 1},
		{"send_redirects or: iface on", SendRedirects, map[Setting]int{{"eth0", SendRedirects}: 1}, 1},
		{"send_redirects or: both off", SendRedirects, nil, 0},
		{"accept_redirects or when not forwarding", AcceptRedirects, map[Setting]int{{All, AcceptRedirects}: 1}, 1},
		{"accept_redirects and when forwarding", AcceptRedirects, map[Setting]int{{All, AcceptRedirects}: 1, {"eth0", Forwarding}: 1}, 0},
		{"accept_redirects and both on", AcceptRedirects, map[Setting]int{{All, AcceptRedirects}: 1, {"eth0", AcceptRedirects}: 1, {"eth0", Forwarding}: 1}, 1},
		{"forwarding iface only", Forwarding, map[Setting]int{{All, Forwarding}: 1}, 0},
		{"ip_forward global", IPForward, map[Setting]int{{Key: IPForward}: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFake(t, []string{"eth0"}, tt.vals)
			got, err := c.Effective("eth0", tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Effective(eth0, %s) = %d, want %d", tt.key, got, tt.want)
			}
		})
	}
	c := newFake(t, nil, nil)
	if _, err := c.Effective("eth9", ARPIgnore); !errors.Is(err, ErrUnknownInterface) {
		t.Errorf("Effective(eth9) = %v, want ErrUnknownInterface", err)
	}
	if _, err := c.Effective("all", ARPIgnore); err == nil {
		t.Error("Effective(all) = nil error, want one: it needs an interface")
	}
}

func TestNewRejectsEmptyRoot(t *testing.T) {
	if _, err := New(&Config{Root: t.TempDir()}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New on an empty root = %v, want os.ErrNotExist", err)
	}
}
