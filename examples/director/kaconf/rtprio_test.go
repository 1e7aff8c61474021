package kaconf

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadRTPriority(t *testing.T) {
	inst := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
	tests := []struct {
		name  string
		lines string
		want  RTPriority
		warn  string // a warning containing this, or none
	}{
		{name: "unset", want: RTPriority{}},
		{name: "all", lines: "vrrp_rt_priority 50\nvrrp_rlimit_rttime 20000\nmax_auto_priority 40\n",
			want: RTPriority{VRRP: 50, RLimitRTTime: 20000, MaxAuto: 40}},
		{name: "bare max_auto_priority", lines: "max_auto_priority\n", want: RTPriority{MaxAuto: 99}},
		{name: "max_auto_priority -1", lines: "max_auto_priority -1\n", want: RTPriority{MaxAuto: -1}},
		{name: "clamped high", lines: "vrrp_rt_priority 150\n", want: RTPriority{VRRP: 99}, warn: "above the maximum 99"},
		{name: "clamped low", lines: "vrrp_rt_priority 0\n", want: RTPriority{VRRP: 1}, warn: "below the minimum 1"},
		{name: "rlimit 1 is 2", lines: "vrrp_rlimit_rttime 1\n", want: RTPriority{RLimitRTTime: 2}},
		{name: "deprecated spelling", lines: "vrrp_rlimit_rtime 5000\n", want: RTPriority{RLimitRTTime: 5000}, warn: "deprecated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := readString("global_defs {\n" + tt.lines + "}\n" + inst)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.Global.RTPriority); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var ws []string
			for _, w := range warns {
				ws = append(ws, w.String())
			}
			if got := strings.Join(ws, "\n"); (tt.warn == "") != (got == "") || !strings.Contains(got, tt.warn) {
				t.Errorf("warnings %q, want one containing %q", got, tt.warn)
			}
			if tt.warn != "" && !strings.Contains(ws[0], "k.conf:2") {
				t.Errorf("warning %q does not name k.conf:2", ws[0])
			}
			c2, _, err := readString(string(Format(c)))
			if err != nil {
				t.Fatalf("%v\n%s", err, Format(c))
			}
			if diff := cmp.Diff(tt.want, c2.Global.RTPriority); diff != "" {
				t.Errorf("after Format (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"vrrp_rt_priority x\n", "max_auto_priority 100\n", "max_auto_priority -2\n", "vrrp_rlimit_rttime 0\n", "vrrp_rt_priority\n"} {
		_, _, err := readString("global_defs {\n" + bad + "}\n" + inst)
		if err == nil || !strings.Contains(err.Error(), "k.conf:2") {
			t.Errorf("%q: error %v, want one naming k.conf:2", bad, err)
		}
	}
	if got := (RTPriority{}).RTTime(); got != 10000 {
		t.Errorf("default RTTime %d, want 10000", got)
	}
}
