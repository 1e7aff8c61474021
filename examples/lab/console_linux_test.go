package main

import "testing"

func TestKmsgError(t *testing.T) {
	for _, tc := range []struct {
		name, rec, want string
		ok              bool
	}{
		{"error", "3,1022,13037122,-;IPVS: ip_vs_send_async error -101\n", "[13.037122] IPVS: ip_vs_send_async error -101", true},
		{"emergency", "0,5,21519078,-;reboot: Power down\n", "[21.519078] reboot: Power down", true},
		{"facility bits ignored", "11,7,1000000,-;user error\n", "[1.000000] user error", true},
		{"continuation lines dropped", "2,9,5,-;oops\n SUBSYSTEM=net\n DEVICE=n2\n", "[0.000005] oops", true},
		{"warning is not shown", "4,1,10,-;a warning\n", "", false},
		{"info is not shown", "6,2,10,-;br0: port 1 entered forwarding state\n", "", false},
		{"not a record", "garbage", "", false},
		{"bad level", "x,1,2,-;text\n", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := kmsgError(tc.rec)
			if got != tc.want || ok != tc.ok {
				t.Errorf("kmsgError(%q) = %q, %v; want %q, %v", tc.rec, got, ok, tc.want, tc.ok)
			}
		})
	}
}
