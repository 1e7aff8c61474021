package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// TestDirectorConf checks that every configuration the lab and its tests generate is
// one the director reads, with the values the lab meant.
func TestDirectorConf(t *testing.T) {
	base := defaultCluster()
	tests := []struct {
		name string
		mod  func(*cluster)
	}{
		{"lab", func(*cluster) {}},
		{"v2 wrr persistence inhibit", func(c *cluster) {
			c.Version, c.AdvertInt, c.Scheduler, c.Persistence, c.Inhibit = 2, "1", "wrr", 50, true
			c.RealServers[1].Weight = 3
		}},
		{"http nopreempt no sync", func(c *cluster) { c.Check, c.Nopreempt, c.SyncDaemon = "HTTP_GET", true, false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.RealServers = append([]realServer(nil), base.RealServers...)
			tt.mod(&c)
			path := filepath.Join(t.TempDir(), "keepalived.conf")
			if err := os.WriteFile(path, []byte(directorConf(c, "dir1", 100)), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, warns, err := kaconf.ReadFile(path)
			if err != nil {
				t.Fatalf("director cannot read the generated file: %v\n%s", err, directorConf(c, "dir1", 100))
			}
			if len(warns) > 0 {
				t.Errorf("warnings: %v", warns)
			}
			if len(cfg.Instances) != 1 || len(cfg.VirtualServers) != 1 {
				t.Fatalf("got %d instances and %d virtual servers; want 1 and 1", len(cfg.Instances), len(cfg.VirtualServers))
			}
			in := cfg.Instances[0]
			type vrrpView struct {
				Priority  int
				Version   int
				Nopreempt bool
				Sync      bool
			}
			wantV := vrrpView{100, c.Version, c.Nopreempt, c.SyncDaemon}
			gotV := vrrpView{in.Priority, in.Version, in.Nopreempt, cfg.Global.LVSSyncDaemon != nil}
			if diff := cmp.Diff(wantV, gotV); diff != "" {
				t.Errorf("vrrp_instance (-want +got):\n%s", diff)
			}
			vs := cfg.VirtualServers[0]
			type rsView struct {
				Addr    string
				Weight  int
				Inhibit bool
			}
			var want, got []rsView
			for _, rs := range c.RealServers {
				want = append(want, rsView{rs.Addr.String(), rs.Weight, c.Inhibit})
			}
			for _, rs := range vs.RealServers {
				got = append(got, rsView{rs.Addr.Addr().String(), rs.Weight, rs.InhibitOnFailure})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("real servers (-want +got):\n%s", diff)
			}
			if vs.DelayLoop != time.Duration(c.DelayLoop)*time.Second {
				t.Errorf("delay_loop = %v; want %ds", vs.DelayLoop, c.DelayLoop)
			}
		})
	}
}
