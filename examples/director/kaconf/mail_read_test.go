package kaconf

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReadMailSettings covers the email settings the director's alerts use:
// smtp_server as "host", "host port", "host:port" and "[v6]:port" (port 25 by
// default), and smtp_alert's defaults per instance, sync group, virtual server and
// real server from the global smtp_alert, smtp_alert_vrrp and smtp_alert_checker.
func TestReadMailSettings(t *testing.T) {
	type mail struct {
		Server  string
		Port    uint16
		Timeout time.Duration
		Alerts  [4]bool // instance, sync group, virtual server, real server
	}
	body := `vrrp_instance V {
 interface eth0
 virtual_router_id 9
}
vrrp_sync_group G {
 group {
  V
 }
}
virtual_server 192.0.2.10 80 {
 real_server 192.0.2.20 80 {
 }
}
`
	tests := []struct {
		name   string
		global string
		want   mail
	}{
		{"no server", "", mail{Timeout: 30 * time.Second, Alerts: [4]bool{false, false, false, true}}},
		{"host", "smtp_server 127.0.0.1\n", mail{"127.0.0.1", 25, 30 * time.Second, [4]bool{false, false, false, true}}},
		{"host port", "smtp_server mail.example 2525\nsmtp_connect_timeout 5\n", mail{"mail.example", 2525, 5 * time.Second, [4]bool{false, false, false, true}}},
		{"host:port", "smtp_server 127.0.0.1:2525\n", mail{"127.0.0.1", 2525, 30 * time.Second, [4]bool{false, false, false, true}}},
		{"[v6]:port", "smtp_server [2001:db8::25]:587\n", mail{"2001:db8::25", 587, 30 * time.Second, [4]bool{false, false, false, true}}},
		{"bare v6", "smtp_server 2001:db8::25\n", mail{"2001:db8::25", 25, 30 * time.Second, [4]bool{false, false, false, true}}},
		{"smtp_alert on", "smtp_alert\n", mail{Timeout: 30 * time.Second, Alerts: [4]bool{true, true, true, true}}},
		{"vrrp only", "smtp_alert_vrrp\nsmtp_alert_checker false\n", mail{Timeout: 30 * time.Second, Alerts: [4]bool{true, true, false, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := readString("global_defs {\n" + tt.global + "}\n" + body)
			if err != nil {
				t.Fatal(err)
			}
			got := mail{c.Global.SMTPServer, c.Global.SMTPPort, c.Global.SMTPConnectTimeout,
				[4]bool{c.Instances[0].SMTPAlert, c.SyncGroups[0].SMTPAlert, c.VirtualServers[0].SMTPAlert,
					c.VirtualServers[0].RealServers[0].SMTPAlert}}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
