package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// TestStartAsMasterInSyncGroup: keepalived starts every member of a sync group as
// BACKUP when one wants MASTER and another is BACKUP or not the address owner
// (upstream keepalived.conf.vrrp.sync: "Wantstate = BACKUP" for state MASTER).
func TestStartAsMasterInSyncGroup(t *testing.T) {
	inst := func(name, state string, prio int) string {
		vrid := int(name[0]-'A') + 1
		return fmt.Sprintf("vrrp_instance %s {\n   state %s\n   interface eth0\n   virtual_router_id %d\n   priority %d\n"+
			"   virtual_ipaddress {\n      192.0.2.%d\n   }\n}\n", name, state, vrid, prio, vrid)
	}
	for _, tc := range []struct {
		name string
		src  string
		want map[string]bool
	}{
		{"alone MASTER", inst("A", "MASTER", 100), map[string]bool{"A": true}},
		{"group with a BACKUP", "vrrp_sync_group G {\n   group {\n      A\n      B\n   }\n}\n" +
			inst("A", "MASTER", 255) + inst("B", "BACKUP", 100), map[string]bool{"A": false, "B": false}},
		{"group of MASTERs not owners", "vrrp_sync_group G {\n   group {\n      A\n      B\n   }\n}\n" +
			inst("A", "MASTER", 100) + inst("B", "MASTER", 100), map[string]bool{"A": false, "B": false}},
		{"group of owners", "vrrp_sync_group G {\n   group {\n      A\n      B\n   }\n}\n" +
			inst("A", "MASTER", 255) + inst("B", "MASTER", 255), map[string]bool{"A": true, "B": true}},
		{"other group unaffected", "vrrp_sync_group G {\n   group {\n      A\n      B\n   }\n}\n" +
			inst("A", "MASTER", 100) + inst("B", "BACKUP", 100) + inst("C", "MASTER", 100),
			map[string]bool{"A": false, "B": false, "C": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := readMeaningConf(t, tc.src)
			got := map[string]bool{}
			for i := range cfg.Instances {
				in := &cfg.Instances[i]
				c, err := vrrpConfig(cfg, in, netipZeroPrimary(in))
				if err != nil {
					t.Fatal(err)
				}
				got[in.Name] = c.StartAsMaster
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("StartAsMaster (-want +got):\n%s", diff)
			}
		})
	}
}

func readMeaningConf(t *testing.T, src string) *kaconf.Config {
	t.Helper()
	name := filepath.Join(t.TempDir(), "k.conf")
	if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := kaconf.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
