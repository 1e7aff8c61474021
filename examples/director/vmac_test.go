package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckRefusesUseVMAC: kaconf reads use_vmac, but the director does not run it
// yet, so -t and the daemon's loadConfig refuse it at its line instead of running
// the instance on its interface's own MAC.
func TestCheckRefusesUseVMAC(t *testing.T) {
	f := filepath.Join(t.TempDir(), "keepalived.conf")
	src := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n use_vmac vrrp.51\n virtual_ipaddress {\n  192.0.2.10/24\n }\n}\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := checkFile(context.Background(), f, &stdout, &stderr); err == nil {
		t.Fatalf("-t accepted use_vmac: %s", stdout.String())
	}
	want := f + ":4: use_vmac is not supported by the director yet"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("-t output lacks %q:\n%s", want, stderr.String())
	}
	if _, err := loadConfig(context.Background(), f, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("loadConfig: %v, want an error containing %q", err, want)
	}
}
