package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadConf(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	const conf = "global_defs {\n\trouter_id bench_a\n\tvrrp_version 3\n}\n" +
		"vrrp_instance VI_1 {\n\tstate BACKUP\n\tinterface eth0\n\tvirtual_router_id 1\n\tpriority 150\n\tadvert_int 0.1\n\tvirtual_ipaddress {\n\t\t198.51.100.1/32\n\t}\n}\n" +
		"vrrp_instance VI_2 {\n\tstate BACKUP\n\tinterface eth1\n\tvirtual_router_id 7\n\tpriority 150\n\tadvert_int 0.1\n\tvirtual_ipaddress {\n\t\t203.0.113.9/32\n\t}\n}\n"
	if err := os.WriteFile(good, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readConf(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].iface != "eth1" || got[1].vrid != 7 || got[1].prio != 150 ||
		got[1].every != 100*time.Millisecond || got[1].vip.String() != "203.0.113.9" {
		t.Fatalf("readConf = %+v", got)
	}
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte(strings.Replace(conf, "virtual_router_id 7", "virtual_router_id x", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readConf(bad); err == nil || !strings.Contains(err.Error(), "bad.conf:") {
		t.Fatalf("a bad VRID: %v, want an error naming the file and line", err)
	}
}
