package kaconf

import (
	"errors"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
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
