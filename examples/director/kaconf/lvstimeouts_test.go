package kaconf

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestLVSTimeouts(t *testing.T) {
	tests := []struct {
		name, line string
		want       LVSTimeouts
		err        error
	}{
		{name: "all", line: "lvs_timeouts tcp 7200 tcpfin 60 udp 30",
			want: LVSTimeouts{TCP: 7200 * time.Second, TCPFin: 60 * time.Second, UDP: 30 * time.Second}},
		{name: "one", line: "lvs_timeouts udp 10", want: LVSTimeouts{UDP: 10 * time.Second}},
		{name: "later wins", line: "lvs_timeouts tcp 5 tcp 6", want: LVSTimeouts{TCP: 6 * time.Second}},
		{name: "maximum", line: "lvs_timeouts tcp 2678400", want: LVSTimeouts{TCP: 2678400 * time.Second}},
		{name: "over the maximum", line: "lvs_timeouts tcp 2678401", err: ErrValue},
		{name: "unknown option", line: "lvs_timeouts sctp 5", err: ErrUnknownKeyword},
		{name: "no value", line: "lvs_timeouts tcp 5 udp", err: ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"k.conf": {Data: []byte("global_defs {\n\t" + tt.line + "\n}\n")}}
			cfg, _, err := Read(fsys, "k.conf")
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Read: %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg.Global.LVSTimeouts); diff != "" {
				t.Errorf("LVSTimeouts (-want +got):\n%s", diff)
			}
			// Format writes it back the same.
			again, _, err := Read(fstest.MapFS{"k.conf": {Data: Format(cfg)}}, "k.conf")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, again.Global.LVSTimeouts); diff != "" {
				t.Errorf("after Format (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLVSSyncDaemonInterface(t *testing.T) {
	const inst = "vrrp_instance %s {\n\tinterface eth0\n\tvirtual_router_id %d\n\tlvs_sync_daemon_interface %s\n\tvirtual_ipaddress {\n\t\t192.0.2.%d\n\t}\n}\n"
	text := fmt.Sprintf(inst, "VI_1", 1, "eth1", 1) + fmt.Sprintf(inst, "VI_2", 2, "eth2", 2)
	cfg, warns, err := Read(fstest.MapFS{"k.conf": {Data: []byte(text)}}, "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := &SyncDaemon{Interface: "eth1", Instance: "VI_1", SyncID: -1}
	if diff := cmp.Diff(want, cfg.Global.LVSSyncDaemon, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("LVSSyncDaemon (-want +got):\n%s", diff)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"k.conf:4: ", "deprecated", "k.conf:12: ", "already been specified as eth1 - ignoring"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}
