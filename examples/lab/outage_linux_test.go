package main

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

func TestOutageRecovery(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ok := func(endMS int, server string) probeResult {
		return probeResult{end: t0.Add(time.Duration(endMS) * time.Millisecond), r: reply{server: server}}
	}
	fail := func(endMS int) probeResult {
		return probeResult{end: t0.Add(time.Duration(endMS) * time.Millisecond), err: errors.New("timeout")}
	}
	for _, tc := range []struct {
		name       string
		res        []probeResult
		want       outcome
		say        string
		stepFailed bool
	}{
		{
			name: "no failure",
			res:  []probeResult{ok(-50, "rs1"), ok(100, "rs1"), ok(200, "rs2")},
			want: outcome{Total: 2, Back: true, Served: map[string]int{"rs1": 1, "rs2": 1}},
			say:  "no outage",
		},
		{
			name: "back after failures",
			res:  []probeResult{ok(-10, "rs1"), fail(1000), fail(1500), ok(1620, "rs2"), ok(1700, "rs1")},
			want: outcome{Failed: 2, Total: 4, Back: true, Gap: 1620 * time.Millisecond, Served: map[string]int{"rs1": 1, "rs2": 1}},
			say:  "service back 1620 ms after the crash",
		},
		{
			// The case that printed "service back 0 ms after the crash".
			name:       "never seen back",
			res:        []probeResult{ok(-10, "rs1"), ok(50, "rs1"), fail(1000), fail(2000)},
			want:       outcome{Failed: 2, Total: 3, Served: map[string]int{"rs1": 1}},
			say:        "service NOT seen back after the crash",
			stepFailed: true,
		},
		{
			name:       "a success between failures is not recovery",
			res:        []probeResult{fail(1000), ok(1100, "rs2"), fail(2100)},
			want:       outcome{Failed: 2, Total: 3, Served: map[string]int{"rs2": 1}},
			say:        "service NOT seen back after the crash",
			stepFailed: true,
		},
		{
			name: "back within a millisecond is not 'not back'",
			res:  []probeResult{fail(0), ok(0, "rs1")},
			want: outcome{Failed: 1, Total: 2, Back: true, Served: map[string]int{"rs1": 1}},
			say:  "service back 0 ms after the crash",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := outage(tc.res, t0)
			if got.Failed != tc.want.Failed || got.Total != tc.want.Total || got.Back != tc.want.Back || got.Gap != tc.want.Gap || !maps.Equal(got.Served, tc.want.Served) {
				t.Errorf("outage = %+v, want %+v", got, tc.want)
			}
			say, err := got.recovery("the crash")
			if !strings.HasPrefix(say, tc.say) {
				t.Errorf("recovery says %q, want it to start with %q", say, tc.say)
			}
			if (err != nil) != tc.stepFailed {
				t.Errorf("recovery error = %v, want the step failed: %v", err, tc.stepFailed)
			}
		})
	}
}
