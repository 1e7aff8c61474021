package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readCPIO decodes a gzipped newc archive into name -> (mode, data).
func readCPIO(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	off := 0
	align := func() { off = (off + 3) &^ 3 }
	field := func(i int) int {
		v, err := strconv.ParseUint(string(raw[off+6+8*i:off+6+8*i+8]), 16, 32)
		if err != nil {
			t.Fatalf("header field %d at %d: %v", i, off, err)
		}
		return int(v)
	}
	for {
		if string(raw[off:off+6]) != "070701" {
			t.Fatalf("bad magic at %d: %q", off, raw[off:off+6])
		}
		mode, size, nameLen := field(1), field(6), field(11)
		name := string(raw[off+110 : off+110+nameLen-1])
		off += 110 + nameLen
		align()
		data := string(raw[off : off+size])
		off += size
		align()
		if name == "TRAILER!!!" {
			break
		}
		got[name] = strconv.FormatInt(int64(mode), 8) + ":" + data
	}
	if off != len(raw) {
		t.Fatalf("%d bytes after the trailer", len(raw)-off)
	}
	return got
}

func TestImageWritesNewcArchive(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(dir, "prog")
	if err := os.WriteFile(host, []byte("binary!"), 0o755); err != nil {
		t.Fatal(err)
	}
	im := newImage()
	im.addFile("/init", []byte("#!/bin/sh\n"), 0o755)
	if err := im.addHostFile(host, "/bin/prog"); err != nil {
		t.Fatal(err)
	}
	im.entries["/bin/sh"] = entry{mode: fs.ModeSymlink | 0o777, symlink: "busybox"}
	out := filepath.Join(dir, "initrd.gz")
	if err := im.write(out); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"init":     "100755:#!/bin/sh\n",
		"bin":      "40755:",
		"bin/prog": "100755:binary!",
		"bin/sh":   "120777:busybox",
	}
	if diff := cmp.Diff(want, readCPIO(t, out)); diff != "" {
		t.Errorf("archive (-want +got):\n%s", diff)
	}
}

func TestLoadOrderPutsDependenciesFirst(t *testing.T) {
	root := t.TempDir()
	modDir := filepath.Join(root, "lib/modules/6.1.0-1-amd64")
	if err := os.MkdirAll(filepath.Join(root, "boot"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "boot/vmlinuz-6.1.0-1-amd64"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dep := strings.Join([]string{
		"kernel/net/netfilter/ipvs/ip_vs_rr.ko: kernel/net/netfilter/ipvs/ip_vs.ko kernel/net/netfilter/nf_conntrack.ko kernel/lib/libcrc32c.ko",
		"kernel/net/netfilter/ipvs/ip_vs.ko: kernel/net/netfilter/nf_conntrack.ko kernel/lib/libcrc32c.ko",
		"kernel/net/netfilter/nf_conntrack.ko: kernel/lib/libcrc32c.ko",
		"kernel/lib/libcrc32c.ko:",
		"kernel/crypto/crc32c_generic.ko:",
	}, "\n")
	if err := os.WriteFile(filepath.Join(modDir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := openKernel(root)
	if err != nil {
		t.Fatal(err)
	}
	order, err := k.loadOrder([]string{"ip_vs_rr", "ip_vs"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range order {
		names = append(names, m.name)
	}
	// crc32c_generic is libcrc32c's soft dependency, which modules.dep does not record.
	want := []string{"crc32c_generic", "libcrc32c", "nf_conntrack", "ip_vs", "ip_vs_rr"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("load order (-want +got):\n%s", diff)
	}
	if _, err := k.loadOrder([]string{"no_such_module"}); err == nil || !strings.Contains(err.Error(), "no_such_module") {
		t.Errorf("unknown module: err = %v, want one naming it", err)
	}
}

func TestCopyConsoleFindsStatus(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		status int
		saw    bool
	}{
		{"pass", "ok\r\nLVSKIT-VMTEST-EXIT 0\r\n[ 1.0] reboot: Power down\r\n", 0, true},
		{"fail", "FAIL\nLVSKIT-VMTEST-EXIT 2\n", 2, true},
		{"crash", "Kernel panic - not syncing\n", 0, false},
		{"marker inside text is not a status", "echo LVSKIT-VMTEST-EXIT 0 x\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			status, saw := copyConsole(&out, strings.NewReader(tt.in))
			if status != tt.status || saw != tt.saw {
				t.Errorf("copyConsole = %d, %v; want %d, %v", status, saw, tt.status, tt.saw)
			}
			if strings.Contains(out.String(), "\r") {
				t.Errorf("output keeps carriage returns: %q", out.String())
			}
		})
	}
}
