package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/vrrp"
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
		{"active-active", activeActive},
		{"active-active nopreempt v2", func(c *cluster) {
			activeActive(c)
			c.Nopreempt, c.Version, c.AdvertInt = true, 2, "1"
		}},
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
			type vrrpView struct {
				Name      string
				VRID      int
				VIP       string
				Priority  int
				Version   int
				Nopreempt bool
			}
			wantV := []vrrpView{{"VI_1", c.VRID, c.VIP.String() + "/32", 100, c.Version, c.Nopreempt}}
			if c.VIP2.IsValid() {
				// dir1 is BACKUP of VI_2, which never has nopreempt.
				wantV = append(wantV, vrrpView{"VI_2", c.VRID2, c.VIP2.String() + "/32", 99, c.Version, false})
			}
			var gotV []vrrpView
			for _, in := range cfg.Instances {
				v := vrrpView{Name: in.Name, VRID: in.VRID, Priority: in.Priority, Version: in.Version, Nopreempt: in.Nopreempt}
				for _, a := range in.VIPs {
					v.VIP += a.Prefix.String()
				}
				gotV = append(gotV, v)
			}
			if diff := cmp.Diff(wantV, gotV); diff != "" {
				t.Errorf("vrrp_instances (-want +got):\n%s", diff)
			}
			if got := cfg.Global.LVSSyncDaemon != nil; got != c.SyncDaemon {
				t.Errorf("lvs_sync_daemon set: %v; want %v", got, c.SyncDaemon)
			}
			var wantVS, gotVS []string
			for _, vip := range c.vips() {
				wantVS = append(wantVS, vip.String()+":80")
			}
			for _, vs := range cfg.VirtualServers {
				gotVS = append(gotVS, vs.Addr.String())
			}
			if diff := cmp.Diff(wantVS, gotVS); diff != "" {
				t.Fatalf("virtual servers (-want +got):\n%s", diff)
			}
			for _, vs := range cfg.VirtualServers {
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
			}
		})
	}
}

// TestSkewTime checks the lab's Skew_Time, which bounds the graceful-stop test,
// against hand-computed values and package vrrp's.
func TestSkewTime(t *testing.T) {
	tests := []struct {
		version int
		advert  string
		prio    int
		want    time.Duration
	}{
		{3, "1", 99, 613281250 * time.Nanosecond},   // 157/256 s
		{3, "0.5", 99, 306640625 * time.Nanosecond}, // 157/512 s
		{3, "0.5", 100, 304687500 * time.Nanosecond},
		{2, "1", 99, 613281250 * time.Nanosecond},
		{2, "3", 99, 613281250 * time.Nanosecond}, // v2 ignores the interval
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("v%d advert %s prio %d", tt.version, tt.advert, tt.prio), func(t *testing.T) {
			c := defaultCluster()
			c.Version, c.AdvertInt = tt.version, tt.advert
			got, err := c.skewTime(tt.prio)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("skewTime = %v; want %v", got, tt.want)
			}
			mdi, err := c.masterDownInterval(tt.prio)
			if err != nil {
				t.Fatal(err)
			}
			mai := map[string]time.Duration{"0.5": 500 * time.Millisecond, "1": time.Second, "3": 3 * time.Second}[tt.advert]
			if want := 3*mai + tt.want; mdi != want {
				t.Errorf("masterDownInterval = %v; want %v", mdi, want)
			}
			sec, _ := strconv.ParseFloat(tt.advert, 64)
			lib := vrrp.SkewTime(tt.version, uint8(tt.prio), time.Duration(sec*float64(time.Second)))
			if d := got - lib; d < 0 || d >= time.Microsecond {
				t.Errorf("package vrrp says %v (truncated to microseconds); the lab %v", lib, got)
			}
		})
	}
}
