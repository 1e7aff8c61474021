package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/vrrp/vrrptest"
)

// TestStatusCommand runs a director on fakes (VRRP, VIPs, IPVS) with one instance and
// a virtual server whose second real server refuses connections, serves /status as
// -metrics does, and runs "director status" against it: the table shows the
// instance, its priority and VIP, and each real server's health and weight; -json
// gives a script the same state.
func TestStatusCommand(t *testing.T) {
	up, _ := listener(t)
	down := closedPort(t)
	h := newHost(t, vrrptest.NewNetwork(), "192.0.2.1")
	if err := h.d.start(context.Background(), readConf(t, convText("0.1")+lvsText(up, down, "1", "inhibit_on_failure"))); err != nil {
		t.Fatal(err)
	}
	defer h.d.stop()
	srv, err := startHTTP("127.0.0.1:0", h.d, h.d.log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	waitFor(t, "MASTER with the VIP, the dead real server down", func() bool {
		st := h.d.status()
		return len(st.Instances) == 1 && st.Instances[0].State == "MASTER" && len(st.Instances[0].VIPs) == 1 &&
			len(st.VirtualServers) == 1 && len(st.VirtualServers[0].RealServers) == 2 &&
			st.VirtualServers[0].RealServers[0].Alive && !st.VirtualServers[0].RealServers[1].Alive
	})
	addr := srv.ln.Addr().String()

	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"status", "-addr", addr}, &out, &errb); err != nil {
		t.Fatalf("status: %v\n%s", err, errb.String())
	}
	// The time line changes; the rest is fixed by the configuration and the fakes.
	lines := strings.Split(out.String(), "\n")
	if !regexp.MustCompile(`^director status at \d{4}-\d\d-\d\dT`).MatchString(lines[0]) {
		t.Errorf("first line %q", lines[0])
	}
	vip := h.d.status().Instances[0].VIPs[0]
	rows := [][]string{
		{"INSTANCE", "STATE", "PRIORITY", "INTERFACE", "VRID", "MASTER", "VIPS"},
		{"VI_1", "MASTER", "150", "eth0", "51", "192.0.2.1", vip},
		nil,
		{"VIRTUAL SERVER", "QUORUM", "REAL SERVER", "HEALTH", "WEIGHT", "CHECKS"},
		{"TCP 192.0.2.10:80", "up (1/1)", up, "up", "1", "1/1 up"},
		// The status reports the configured weight; inhibit_on_failure's 0 is IPVS's.
		{"", "", down, "down", "1", "0/1 up; 192.0.2.10:80/" + down},
	}
	got := lines[2:]
	if len(got) < len(rows) {
		t.Fatalf("status printed:\n%s", out.String())
	}
	// Columns are aligned: every cell of a column starts at the same offset.
	var starts []int
	for i, want := range rows {
		line := got[i]
		if want == nil {
			if line != "" {
				t.Errorf("line %d = %q; want a blank line between the tables", i, line)
			}
			starts = nil
			continue
		}
		if i > 0 && rows[i-1] == nil || i == 0 {
			starts = nil
			off := 0
			for _, h := range want {
				j := strings.Index(line[off:], h)
				if j < 0 {
					t.Fatalf("header %q lacks %q", line, h)
				}
				starts = append(starts, off+j)
				off += j + len(h)
			}
			continue
		}
		for c, cell := range want {
			end := len(line)
			if c+1 < len(starts) {
				end = min(starts[c+1], len(line))
			}
			if starts[c] > len(line) {
				t.Errorf("row %q is shorter than its header", line)
				break
			}
			gotCell := strings.TrimSpace(line[starts[c]:end])
			if c == len(want)-1 && strings.HasPrefix(cell, "0/1 up; ") {
				// The failing check's name and error follow.
				if !strings.HasPrefix(gotCell, cell) {
					t.Errorf("row %d column %d = %q; want it to start with %q", i, c, gotCell, cell)
				}
				continue
			}
			if gotCell != cell {
				t.Errorf("row %d column %d = %q; want %q (line %q)", i, c, gotCell, cell, line)
			}
		}
	}

	// -json is the director's own status, as /status serves it.
	out.Reset()
	if err := run(context.Background(), []string{"status", "-addr", addr, "-json"}, &out, &errb); err != nil {
		t.Fatalf("status -json: %v\n%s", err, errb.String())
	}
	var st Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("status -json is not JSON: %v\n%s", err, out.String())
	}
	type rsView struct {
		Addr   string
		Alive  bool
		Weight int
	}
	type view struct {
		Instance, State, VIP string
		Priority             int
		Service              string
		RealServers          []rsView
	}
	v := view{Instance: st.Instances[0].Name, State: st.Instances[0].State, Priority: st.Instances[0].Priority,
		VIP: strings.Join(st.Instances[0].VIPs, ","), Service: st.VirtualServers[0].Service}
	for _, rs := range st.VirtualServers[0].RealServers {
		v.RealServers = append(v.RealServers, rsView{rs.Addr, rs.Alive, rs.Weight})
	}
	want := view{"VI_1", "MASTER", vip, 150, "TCP 192.0.2.10:80", []rsView{{up, true, 1}, {down, false, 1}}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("status -json (-want +got):\n%s", diff)
	}

	// -file reads what SIGUSR1 writes, with the same result.
	sf := filepath.Join(t.TempDir(), "status.json")
	if err := writeStatusFile(sf, st); err != nil {
		t.Fatal(err)
	}
	var fromFile bytes.Buffer
	if err := run(context.Background(), []string{"status", "-file", sf, "-json"}, &fromFile, &errb); err != nil {
		t.Fatalf("status -file: %v", err)
	}
	if diff := cmp.Diff(out.String(), fromFile.String()); diff != "" {
		t.Errorf("status -file differs from the endpoint (-endpoint +file):\n%s", diff)
	}
}

// TestStatusCommandErrors: no director listening, a file that is not a status, and
// bad flags each fail with a message that says what to do.
func TestStatusCommandErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(bad, []byte("not json"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nobody listening", []string{"-addr", closedPort(t), "-timeout", "2s"}, "is a director running with -metrics"},
		{"missing file", []string{"-file", filepath.Join(t.TempDir(), "none.json")}, "send the director SIGUSR1"},
		{"not a status", []string{"-file", bad}, "not a director's status"},
		{"extra argument", []string{"now"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), append([]string{"status"}, tt.args...), &out, &errb)
			if err == nil {
				t.Fatalf("no error; printed %q", out.String())
			}
			if msg := err.Error() + errb.String(); !strings.Contains(msg, tt.want) {
				t.Errorf("error %q (stderr %q) lacks %q", err, errb.String(), tt.want)
			}
		})
	}
}
