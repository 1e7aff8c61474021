package arpctl

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScaleOutDirector(t *testing.T) {
	start := map[Setting]int{{Key: VSConntrack}: 1, {Key: VSExpireNodestConn}: 1}
	root := fakeTree(t, []string{"lo", "eth0"}, nil)
	withIPVS(t, root, start)
	c, err := New(&Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	before := dumpTree(t, c)
	snap, err := c.Apply(ScaleOutDirector())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := []Change{
		{Setting{Key: VSSloppyTCP}, 0, 1},
		{Setting{Key: VSSloppySCTP}, 0, 1},
		{Setting{Key: VSConntrack}, 1, 0},
		{Setting{Key: VSExpireQuiescentTemplate}, 0, 1},
	}
	if diff := cmp.Diff(want, snap.Changes()); diff != "" {
		t.Errorf("Changes (-want +got):\n%s", diff)
	}
	for s, v := range map[Setting]int{{Key: VSSloppyTCP}: 1, {Key: VSSloppySCTP}: 1, {Key: VSConntrack}: 0, {Key: VSExpireNodestConn}: 1, {Key: VSExpireQuiescentTemplate}: 1} {
		if got, err := c.Get(s); err != nil || got != v {
			t.Errorf("after Apply %s = %d, %v; want %d", s, got, err, v)
		}
	}
	if err := snap.Restore(); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if diff := cmp.Diff(before, dumpTree(t, c)); diff != "" {
		t.Errorf("Restore did not bring back the tree (-want +got):\n%s", diff)
	}
}

// TestScaleOutDirectorWithoutIPVS checks what a director sees on a kernel where ip_vs
// is not loaded: an error that names the sysctl and says why, and nothing changed.
func TestScaleOutDirectorWithoutIPVS(t *testing.T) {
	c := newFake(t, []string{"lo"}, nil)
	before := dumpTree(t, c)
	_, err := c.Apply(ScaleOutDirector())
	if !errors.Is(err, ErrNoIPVS) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Apply without IPVS: %v, want ErrNoIPVS and os.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "net.ipv4.vs.sloppy_tcp") {
		t.Errorf("error %q does not name the missing sysctl", err)
	}
	if diff := cmp.Diff(before, dumpTree(t, c)); diff != "" {
		t.Errorf("a failed Apply changed the tree (-want +got):\n%s", diff)
	}
}

// TestScaleOutDirectorWithoutIPVSHost runs the same against this machine's own
// /proc/sys when its kernel has no IPVS (Apply reads every value before it writes one,
// so the failing read leaves the host untouched).
func TestScaleOutDirectorWithoutIPVSHost(t *testing.T) {
	if _, err := os.Stat("/proc/sys/net/ipv4/vs"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Skip("this kernel has IPVS sysctls (or /proc/sys is unreadable); the no-IPVS path needs a kernel without them")
	}
	c, err := New(nil)
	if err != nil {
		t.Skipf("no /proc/sys: %v", err)
	}
	_, err = c.Apply(ScaleOutDirector())
	if !errors.Is(err, ErrNoIPVS) || !strings.Contains(err.Error(), "net.ipv4.vs.sloppy_tcp") {
		t.Fatalf("Apply on a kernel without IPVS: %v, want ErrNoIPVS naming net.ipv4.vs.sloppy_tcp", err)
	}
	if _, err := c.Get(Setting{Key: VSConntrack}); !errors.Is(err, ErrNoIPVS) {
		t.Errorf("Get(conntrack): %v, want ErrNoIPVS", err)
	}
}

func TestECMPRouter(t *testing.T) {
	c := newFake(t, []string{"lo", "eth0", "eth1"}, map[Setting]int{{Key: FIB6MultipathHashPolicy}: 2})
	before := dumpTree(t, c)
	snap, err := c.Apply(ECMPRouter())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := []Change{
		{Setting{Key: IPForward}, 0, 1},
		{Setting{Key: FIBMultipathHashPolicy}, 0, 1},
		{Setting{Key: FIB6MultipathHashPolicy}, 2, 1},
	}
	if diff := cmp.Diff(want, snap.Changes()); diff != "" {
		t.Errorf("Changes (-want +got):\n%s", diff)
	}
	if v, err := c.Effective("eth0", FIBMultipathHashPolicy); err != nil || v != 1 {
		t.Errorf("Effective(eth0, hash policy) = %d, %v; want 1", v, err)
	}
	if err := snap.Restore(); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if diff := cmp.Diff(before, dumpTree(t, c)); diff != "" {
		t.Errorf("Restore did not bring back the tree (-want +got):\n%s", diff)
	}
}

func TestGlobalKeys(t *testing.T) {
	tests := []struct {
		s       Setting
		v       int
		wantErr bool
		name    string
		path    string
	}{
		{s: Setting{Key: VSSloppyTCP}, v: 1, name: "net.ipv4.vs.sloppy_tcp", path: "net/ipv4/vs/sloppy_tcp"},
		{s: Setting{Key: VSExpireQuiescentTemplate}, v: 0, name: "net.ipv4.vs.expire_quiescent_template", path: "net/ipv4/vs/expire_quiescent_template"},
		{s: Setting{Key: FIBMultipathHashPolicy}, v: 3, name: "net.ipv4.fib_multipath_hash_policy", path: "net/ipv4/fib_multipath_hash_policy"},
		{s: Setting{Key: FIB6MultipathHashPolicy}, v: 1, name: "net.ipv6.fib_multipath_hash_policy", path: "net/ipv6/fib_multipath_hash_policy"},
		{s: Setting{Key: FIB6MultipathHashPolicy}, v: 4, wantErr: true},
		{s: Setting{Key: VSSloppyTCP}, v: 2, wantErr: true},
		{s: Setting{Scope: All, Key: VSSloppyTCP}, v: 1, wantErr: true},
	}
	for _, tt := range tests {
		err := tt.s.Validate(tt.v)
		if (err != nil) != tt.wantErr {
			t.Errorf("%+v.Validate(%d) = %v, want error %v", tt.s, tt.v, err, tt.wantErr)
		}
		if tt.wantErr {
			continue
		}
		if tt.s.String() != tt.name || tt.s.path() != tt.path {
			t.Errorf("%+v: name %q path %q, want %q and %q", tt.s, tt.s.String(), tt.s.path(), tt.name, tt.path)
		}
	}
}

func TestScaleOutSysctlDRoundTrip(t *testing.T) {
	for _, p := range []Profile{ScaleOutDirector(), ECMPRouter()} {
		text := p.SysctlD()
		got, err := ParseSysctlD(text)
		if err != nil {
			t.Fatalf("ParseSysctlD(%q): %v", text, err)
		}
		if diff := cmp.Diff(p, got); diff != "" {
			t.Errorf("round trip of %q (-want +got):\n%s", p.Name, diff)
		}
	}
	// The slashed form that sysctl also accepts.
	got, err := ParseSysctlD("net/ipv4/vs/sloppy_tcp = 1\n")
	if err != nil {
		t.Fatal(err)
	}
	want := Profile{Entries: []Entry{{Setting: Setting{Key: VSSloppyTCP}, Value: 1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slashed name (-want +got):\n%s", diff)
	}
	want6 := "# ECMP router in front of LVS directors (written by lvskit arpctl)\n" +
		"net.ipv4.ip_forward = 1\nnet.ipv4.fib_multipath_hash_policy = 1\nnet.ipv6.fib_multipath_hash_policy = 1\n"
	if diff := cmp.Diff(want6, ECMPRouter().SysctlD()); diff != "" {
		t.Errorf("SysctlD (-want +got):\n%s", diff)
	}
}
