package kaconf

import (
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignorePos drops source positions: a Format round trip moves every line.
var ignorePos = cmpopts.IgnoreTypes(Pos{})

// roundTrip formats c, reads the result back and reports any difference.
func roundTrip(t *testing.T, name string, c *Config) {
	t.Helper()
	out := Format(c)
	again, _, err := Read(fstest.MapFS{"f.conf": {Data: out}}, "f.conf")
	if err != nil {
		t.Fatalf("%s: re-reading Format output: %v\n%s", name, err, out)
	}
	if diff := cmp.Diff(c, again, eqNetip, ignorePos); diff != "" {
		t.Fatalf("%s: round trip (-read +reread):\n%s\n%s", name, diff, out)
	}
	if out2 := Format(again); string(out2) != string(out) {
		t.Fatalf("%s: Format is not stable:\n%s\n---\n%s", name, out, out2)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.conf")
	files = append(files, "testdata/include/keepalived.conf")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, _, err := ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, f, c)
		})
	}
}

func TestFormatCanonical(t *testing.T) {
	c, _, err := ReadFile("testdata/001-nginx-backup.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := `global_defs {
}
vrrp_script chk_nginx {
   script /etc/keepalived/nginx_check.sh
   interval 2
   timeout 2
   weight -20
   rise 1
   fall 1
}
vrrp_instance VI_1 {
   state BACKUP
   interface ens33
   virtual_router_id 121
   priority 100
   advert_int 1
   version 2
   nopreempt
   accept
   strict_mode false
   authentication {
      auth_type PASS
      auth_pass 1111
   }
   virtual_ipaddress {
      192.168.159.110/32 dev ens33
   }
   track_script {
      chk_nginx weight -20
   }
   mcast_src_ip 192.168.159.130
   smtp_alert false
   garp_master_delay 5
   garp_master_repeat 5
   garp_lower_prio_delay 5
   garp_lower_prio_repeat 5
   garp_master_refresh 0
   garp_master_refresh_repeat 1
   lower_prio_no_advert false
}
`
	if diff := cmp.Diff(want, string(Format(c))); diff != "" {
		t.Errorf("Format (-want +got):\n%s", diff)
	}
}

// TestFullFileValues spot-checks the keyword-rich testdata/full.conf where inheritance
// and defaults interact.
func TestFullFileValues(t *testing.T) {
	c, warns, err := ReadFile("testdata/full.conf")
	if err != nil {
		t.Fatal(err)
	}
	vs := c.VirtualServers[0]
	http := vs.RealServers[0].Checks[0]
	ssl := vs.RealServers[0].Checks[1]
	tcp := vs.RealServers[1].Checks[0]
	misc := vs.RealServers[1].Checks[1]
	got := map[string]any{
		"vi1 track weights":  []int{c.Instances[0].TrackScripts[0].Weight, c.Instances[0].TrackScripts[1].Weight},
		"vi1 track reverse":  []bool{c.Instances[0].TrackScripts[0].Reverse, c.Instances[0].TrackScripts[1].Reverse},
		"vi1 advert":         c.Instances[0].AdvertInt.String(),
		"vi1 preempt delay":  c.Instances[0].PreemptDelay.String(),
		"vi2 version":        c.Instances[1].Version,
		"notify_master":      *c.Instances[0].NotifyMaster,
		"http retry":         http.Retry,
		"http dbr":           http.DelayBeforeRetry.String(),
		"http loop":          http.DelayLoop.String(),
		"http warmup":        http.Warmup.String(),
		"http vhost":         http.Virtualhost,
		"url vhosts":         []string{http.URLs[0].Virtualhost, http.URLs[1].Virtualhost},
		"url codes":          http.URLs[0].StatusCodes,
		"ssl retry":          ssl.Retry,
		"ssl timeout":        ssl.ConnectTimeout.String(),
		"ssl dbr":            ssl.DelayBeforeRetry.String(),
		"ssl warmup":         ssl.Warmup.String(),
		"rs2 weight":         vs.RealServers[1].Weight,
		"rs2 inhibit":        vs.RealServers[1].InhibitOnFailure,
		"tcp timeout":        tcp.ConnectTimeout.String(),
		"tcp retry":          tcp.Retry,
		"misc":               []any{misc.Retry, misc.MiscTimeout.String(), misc.MiscDynamic, misc.Misc.User, misc.DelayBeforeRetry.String()},
		"granularity":        vs.PersistenceGranularity,
		"fwmark persistence": c.VirtualServers[1].PersistenceTimeout.String(),
		"fwmark rs":          c.VirtualServers[1].RealServers[0].Addr.String(),
		"v6 rs":              c.VirtualServers[2].RealServers[0].Addr.String(),
		"sync daemon":        *c.Global.LVSSyncDaemon,
	}
	want := map[string]any{
		"vi1 track weights":  []int{-20, 10},
		"vi1 track reverse":  []bool{true, false},
		"vi1 advert":         "500ms",
		"vi1 preempt delay":  "4.12s",
		"vi2 version":        3,
		"notify_master":      Command{Args: []string{"/etc/keepalived/notify.sh", "master", "VI 1"}, User: "root"},
		"http retry":         5,
		"http dbr":           "1.5s",
		"http loop":          "3s",
		"http warmup":        "0s",
		"http vhost":         "rs1.example.com",
		"url vhosts":         []string{"health.example.com", "rs1.example.com"},
		"url codes":          []StatusRange{{200, 200}, {300, 302}},
		"ssl retry":          2,
		"ssl timeout":        "4s",
		"ssl dbr":            "2s",
		"ssl warmup":         "5s",
		"rs2 weight":         1,
		"rs2 inhibit":        true,
		"tcp timeout":        "3s",
		"tcp retry":          2,
		"misc":               []any{1, "5s", true, "nobody", "2s"},
		"granularity":        24,
		"fwmark persistence": "6m0s",
		"fwmark rs":          "203.0.113.5:0",
		"v6 rs":              "[2001:db8::81]:80",
		"sync daemon":        SyncDaemon{Interface: "eth1", Instance: "VI_1", SyncID: 7, MaxLen: 1400, Port: 8848, TTL: 1, Group: c.Global.LVSSyncDaemon.Group},
	}
	if diff := cmp.Diff(want, got, eqNetip); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantWarns := []string{
		"testdata/full.conf:32: vrrp_higher_prio_send_advert: keepalived 2.2.7's master sends one advert at its own priority before yielding to a higher-priority one; " +
			"the director's master yields without it (the election's outcome is the same)",
		"testdata/full.conf:62: no_accept: vrrp_instance VI_1 does not accept (no_accept, or strict mode's default): keepalived 2.2.7 adds firewall rules that drop traffic to its virtual addresses while it is MASTER; the director adds none, so they answer (add your own rules where that matters)",
		"testdata/full.conf:179: nb_get_retry: nb_get_retry is the old name of retry (keepalived 2.2.7 reads it the same way but calls it deprecated)",
		"testdata/full.conf:190: sni_name: keepalived 2.2.7 does not know sni_name (it sends the virtualhost as SNI); read as the SNI name to send",
	}
	if diff := cmp.Diff(wantWarns, warnStrings(warns)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
