package kaconf

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// readAudit reads src as k.conf and returns the config, the warnings as strings
// and the error.
func readAudit(t *testing.T, src string) (*Config, []string, error) {
	t.Helper()
	cfg, warns, err := Read(fstest.MapFS{"k.conf": {Data: []byte(src)}}, "k.conf")
	var ws []string
	for _, w := range warns {
		ws = append(ws, w.String())
	}
	return cfg, ws, err
}

func TestAuditInstanceAdverts(t *testing.T) {
	const inst = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n priority 100\n virtual_ipaddress {\n 192.0.2.1\n }\n"
	tests := []struct {
		name, global, inst string
		lowerPrio          bool
		warns              []string
	}{
		{name: "default off"},
		{name: "global on", global: "vrrp_lower_prio_no_advert", lowerPrio: true},
		{name: "instance bare", inst: " lower_prio_no_advert\n", lowerPrio: true},
		{name: "instance on", inst: " lower_prio_no_advert on\n", lowerPrio: true},
		{name: "instance off overrides the global", global: "vrrp_lower_prio_no_advert", inst: " lower_prio_no_advert off\n"},
		{name: "strict mode keeps it on", global: "vrrp_strict", inst: " lower_prio_no_advert false\n", lowerPrio: true,
			warns: []string{"k.conf:11: lower_prio_no_advert: vrrp_strict: strict mode requires lower_prio_no_advert: keepalived 2.2.7 resets it to on (read the same way)"}},
		{name: "higher_prio_send_advert on warns", inst: " higher_prio_send_advert\n",
			warns: []string{"k.conf:11: higher_prio_send_advert: keepalived 2.2.7's master sends one advert at its own priority before yielding to a higher-priority one; " +
				"the director's master yields without it (the election's outcome is the same)"}},
		{name: "higher_prio_send_advert off is silent", inst: " higher_prio_send_advert off\n"},
		{name: "higher_prio_send_advert in strict mode is reset", global: "vrrp_strict", inst: " higher_prio_send_advert yes\n", lowerPrio: true,
			warns: []string{"k.conf:11: higher_prio_send_advert: vrrp_strict: strict mode requires higher_prio_send_advert clear: keepalived 2.2.7 resets it (read the same way)"}},
		{name: "check_unicast_src is what the director does", inst: " check_unicast_src\n unicast_peer {\n 192.0.2.9\n }\n"},
		{name: "check_unicast_src ignores its argument", inst: " check_unicast_src off\n unicast_peer {\n 192.0.2.9\n }\n",
			warns: []string{`k.conf:11: check_unicast_src: keepalived 2.2.7 ignores "off" after check_unicast_src and sets it (read the same way)`}},
		{name: "check_unicast_src without peers multicasts", inst: " check_unicast_src\n",
			warns: []string{"k.conf:11: check_unicast_src: check_unicast_src without unicast_peer: keepalived 2.2.7 multicasts and warns that a unicast keyword without peers is deprecated (read the same way)"}},
		{name: "kernel_rx_buf_size is ignored", inst: " kernel_rx_buf_size 1048576\n",
			warns: []string{"k.conf:11: kernel_rx_buf_size: ignored by the director: it tunes the receive buffer of keepalived's VRRP socket for this instance (the director sizes its own); " +
				"nothing a VRRP peer, the kernel's tables or a script sees changes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "global_defs {\n " + tt.global + "\n}\n" + inst + tt.inst + "}\n"
			cfg, all, err := readAudit(t, src)
			if err != nil {
				t.Fatal(err)
			}
			// Leave out the block's own warnings (strict mode's no-accept firewall
			// note): this test is about the lines below it.
			var warns []string
			for _, w := range all {
				if !strings.HasPrefix(w, "k.conf:4: vrrp_instance:") {
					warns = append(warns, w)
				}
			}
			if got := cfg.Instances[0].LowerPrioNoAdvert; got != tt.lowerPrio {
				t.Errorf("LowerPrioNoAdvert = %v, want %v", got, tt.lowerPrio)
			}
			if diff := cmp.Diff(tt.warns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			again, _, err := Read(fstest.MapFS{"k.conf": {Data: Format(cfg)}}, "k.conf")
			if err != nil {
				t.Fatal(err)
			}
			if got := again.Instances[0].LowerPrioNoAdvert; got != tt.lowerPrio {
				t.Errorf("after Format: LowerPrioNoAdvert = %v, want %v", got, tt.lowerPrio)
			}
		})
	}
}

func TestAuditProcessOnly(t *testing.T) {
	src := "child_wait_time 5\nglobal_defs {\n checker_rt_priority 10\n vrrp_no_swap\n process_names\n vrrp_netlink_monitor_rcv_bufs 1048576\n}\n"
	_, warns, err := readAudit(t, src)
	if err != nil {
		t.Fatal(err)
	}
	const tail = "; nothing a VRRP peer, the kernel's tables or a script sees changes"
	want := []string{
		"k.conf:1: child_wait_time: ignored by the director: it tunes how long keepalived waits for its child processes to exit (the director has none)" + tail,
		"k.conf:3: checker_rt_priority: ignored by the director: it tunes keepalived's checker process (the director's checkers run in its one process)" + tail,
		"k.conf:4: vrrp_no_swap: ignored by the director: it tunes keepalived's VRRP process (the director's VRRP runs in its one process; vrrp_rt_priority and vrrp_rlimit_rttime are applied to it)" + tail,
		"k.conf:5: process_names: ignored by the director: it tunes the names keepalived gives its processes (the director's process is named by its binary)" + tail,
		"k.conf:6: vrrp_netlink_monitor_rcv_bufs: ignored by the director: it tunes a netlink socket's receive buffer in keepalived (the director sizes its own sockets)" + tail,
	}
	if diff := cmp.Diff(want, warns); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestAuditThresholds(t *testing.T) {
	const vs = "virtual_server 192.0.2.10 80 {\n protocol TCP\n real_server 192.0.2.20 80 {\n%s }\n}\n"
	tests := []struct {
		name, lines  string
		upper, lower uint32
		err          string
	}{
		{name: "none"},
		{name: "both", lines: "  uthreshold 100\n  lthreshold 10\n", upper: 100, lower: 10},
		{name: "maximum", lines: "  uthreshold 4294967295\n", upper: 4294967295},
		{name: "over the maximum", lines: "  uthreshold 4294967296\n", err: `kaconf: k.conf:4: uthreshold: bad value: "4294967296" is not an integer in 0..4294967295`},
		{name: "negative", lines: "  lthreshold -1\n", err: `kaconf: k.conf:4: lthreshold: bad value: "-1" is not an integer in 0..4294967295`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := readAudit(t, fmt.Sprintf(vs, tt.lines))
			if tt.err != "" {
				if !errors.Is(err, ErrValue) || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []*Config{cfg, mustReread(t, cfg)} {
				rs := c.VirtualServers[0].RealServers[0]
				if rs.UpperThreshold != tt.upper || rs.LowerThreshold != tt.lower {
					t.Errorf("thresholds = %d/%d, want %d/%d", rs.UpperThreshold, rs.LowerThreshold, tt.upper, tt.lower)
				}
			}
		})
	}
}

func mustReread(t *testing.T, cfg *Config) *Config {
	t.Helper()
	again, _, err := Read(fstest.MapFS{"k.conf": {Data: Format(cfg)}}, "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	return again
}

func TestAuditVSFlags(t *testing.T) {
	type flags struct {
		Sched     int
		OnePacket bool
		PE        string
	}
	tests := []struct {
		name, lines string
		want        flags
		warns       []string
	}{
		{name: "none", lines: " protocol UDP\n"},
		{name: "flag-1..3", lines: " protocol TCP\n flag-1\n flag-2\n flag-3\n", want: flags{Sched: 7}},
		{name: "sh after lb_algo sh", lines: " protocol TCP\n lb_algo sh\n sh-port\n sh-fallback\n", want: flags{Sched: 3}},
		{name: "mh after lb_algo mh", lines: " protocol TCP\n lb_algo mh\n mh-fallback\n", want: flags{Sched: 1}},
		{name: "sh-port before lb_algo sh is ignored", lines: " protocol TCP\n sh-port\n lb_algo sh\n",
			warns: []string{"k.conf:3: sh-port: keepalived 2.2.7 applies sh-port only after lb_algo sh in the same virtual_server; ignored (read the same way)"}},
		{name: "mh-port with sh is ignored", lines: " protocol TCP\n lb_algo sh\n mh-port\n",
			warns: []string{"k.conf:4: mh-port: keepalived 2.2.7 applies mh-port only after lb_algo mh in the same virtual_server; ignored (read the same way)"}},
		{name: "ops with UDP", lines: " protocol UDP\n ops\n", want: flags{OnePacket: true}},
		{name: "ops with TCP is reset", lines: " protocol TCP\n ops\n",
			warns: []string{"k.conf:3: ops: one-packet scheduling requires UDP: keepalived 2.2.7 resets it (read the same way)"}},
		{name: "hashed changes nothing", lines: " protocol TCP\n lb_algo sh\n hashed\n"},
		{name: "persistence_engine", lines: " protocol UDP\n persistence_timeout 60\n persistence_engine sip\n", want: flags{PE: "sip"}},
		{name: "long persistence_engine is truncated", lines: " protocol UDP\n persistence_engine abcdefghijklmnopq\n", want: flags{PE: "abcdefghijklmno"},
			warns: []string{`k.conf:3: persistence_engine: persistence engine name longer than 15 bytes: keepalived 2.2.7 truncates it to "abcdefghijklmno" (read the same way)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "virtual_server 192.0.2.10 80 {\n" + tt.lines + " real_server 192.0.2.20 80 {\n }\n}\n"
			cfg, warns, err := readAudit(t, src)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.warns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			for _, c := range []*Config{cfg, mustReread(t, cfg)} {
				vs := c.VirtualServers[0]
				if diff := cmp.Diff(tt.want, flags{vs.SchedFlags, vs.OnePacket, vs.PersistenceEngine}); diff != "" {
					t.Errorf("flags (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestAuditHTTPProtocolRead(t *testing.T) {
	tests := []struct{ line, want, err string }{
		{"", "", ""},
		{"http_protocol 1.0", "1.0", ""},
		{"http_protocol 1.0C", "1.0C", ""},
		{"http_protocol 1.0c", "1.0C", ""},
		{"http_protocol 1.1", "1.1", ""},
		{"http_protocol 2", "", `kaconf: k.conf:5: http_protocol: bad value: "2" is not an HTTP version (1.0, 1.0C or 1.1)`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			src := "virtual_server 192.0.2.10 443 {\n protocol TCP\n real_server 192.0.2.20 443 {\n SSL_GET {\n " + tt.line + "\n url {\n path /\n }\n }\n }\n}\n"
			cfg, _, err := readAudit(t, src)
			if tt.err != "" {
				if !errors.Is(err, ErrValue) || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []*Config{cfg, mustReread(t, cfg)} {
				if got := c.VirtualServers[0].RealServers[0].Checks[0].HTTPProtocol; got != tt.want {
					t.Errorf("HTTPProtocol = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestAuditSorryServerMethod(t *testing.T) {
	tests := []struct {
		name, lines string
		want        Method
		warns       []string
	}{
		{name: "default the virtual server's", lines: " sorry_server 192.0.2.30 80\n"},
		{name: "after sorry_server", lines: " sorry_server 192.0.2.30 80\n sorry_server_lvs_method DR\n", want: MethodDR},
		{name: "before sorry_server is ignored", lines: " sorry_server_lvs_method TUN\n sorry_server 192.0.2.30 80\n",
			warns: []string{`k.conf:3: sorry_server_lvs_method: keepalived 2.2.7 ignores sorry_server_lvs_method before sorry_server ("sorry_server forwarding used without sorry_server"); ignored (read the same way)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "virtual_server 192.0.2.10 80 {\n protocol TCP\n" + tt.lines + " real_server 192.0.2.20 80 {\n }\n}\n"
			cfg, warns, err := readAudit(t, src)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.warns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			for _, c := range []*Config{cfg, mustReread(t, cfg)} {
				if got := c.VirtualServers[0].SorryServerMethod; got != tt.want {
					t.Errorf("SorryServerMethod = %q, want %q", got, tt.want)
				}
			}
		})
	}
	if _, _, err := readAudit(t, "virtual_server 192.0.2.10 80 {\n protocol TCP\n sorry_server 192.0.2.30 80\n sorry_server_lvs_method FOO\n}\n"); !errors.Is(err, ErrValue) {
		t.Errorf("sorry_server_lvs_method FOO: err = %v, want ErrValue", err)
	}
}

func TestAuditGlobalMailAndAutoPriority(t *testing.T) {
	tests := []struct {
		line      string
		noChecker bool
		delay     time.Duration
		err       error
	}{
		{line: "", delay: time.Second},
		{line: "no_checker_emails", noChecker: true, delay: time.Second},
		{line: "no_checker_emails off", delay: time.Second},
		{line: "min_auto_priority_delay 250000", delay: 250 * time.Millisecond},
		{line: "min_auto_priority_delay 10000000", delay: 10 * time.Second},
		{line: "min_auto_priority_delay 0", err: ErrValue},
		{line: "min_auto_priority_delay 10000001", err: ErrValue},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cfg, _, err := readAudit(t, "global_defs {\n "+tt.line+"\n}\n")
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []*Config{cfg, mustReread(t, cfg)} {
				if c.Global.NoCheckerEmails != tt.noChecker || c.Global.RTPriority.AutoDelay() != tt.delay {
					t.Errorf("NoCheckerEmails %v, AutoDelay %v; want %v, %v", c.Global.NoCheckerEmails, c.Global.RTPriority.AutoDelay(), tt.noChecker, tt.delay)
				}
			}
		})
	}
}

func TestAuditFastRecovery(t *testing.T) {
	for _, line := range []string{"fast_recovery", "fast_recovery on", "fast_recovery false"} {
		src := "virtual_server 192.0.2.10 80 {\n protocol TCP\n real_server 192.0.2.20 80 {\n HTTP_GET {\n " + line + "\n url {\n path /\n }\n }\n }\n}\n"
		if _, warns, err := readAudit(t, src); err != nil || len(warns) != 0 {
			t.Errorf("%s: warnings %q, err %v; want neither", line, warns, err)
		}
	}
	src := "virtual_server 192.0.2.10 80 {\n protocol TCP\n real_server 192.0.2.20 80 {\n HTTP_GET {\n fast_recovery maybe\n url {\n path /\n }\n }\n }\n}\n"
	if _, _, err := readAudit(t, src); !errors.Is(err, ErrValue) {
		t.Errorf("fast_recovery maybe: err = %v, want ErrValue", err)
	}
}

func TestAuditLogAllFailures(t *testing.T) {
	src := "virtual_server 192.0.2.10 80 {\n protocol TCP\n real_server 192.0.2.20 80 {\n TCP_CHECK {\n log_all_failures on\n }\n }\n}\n"
	_, warns, err := readAudit(t, src)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"k.conf:5: log_all_failures: ignored by the director: it tunes what keepalived's checker logs (the director logs every checker transition); " +
		"nothing a VRRP peer, the kernel's tables or a script sees changes"}
	if diff := cmp.Diff(want, warns); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestAuditLVSFlushOnStopRead(t *testing.T) {
	tests := []struct {
		line, want string
		warns      []string
		err        error
	}{
		{line: ""},
		{line: "lvs_flush_on_stop", want: "FULL"},
		{line: "lvs_flush_on_stop VS", want: "VS"},
		{line: "lvs_flush_onstop", want: "FULL",
			warns: []string{"k.conf:2: lvs_flush_onstop: lvs_flush_onstop is deprecated (keepalived 2.1.6 renamed it): use lvs_flush_on_stop"}},
		{line: "lvs_flush_on_stop ALL", err: ErrValue},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cfg, warns, err := readAudit(t, "global_defs {\n "+tt.line+"\n}\n")
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.warns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			for _, c := range []*Config{cfg, mustReread(t, cfg)} {
				if c.Global.LVSFlushOnStop != tt.want {
					t.Errorf("LVSFlushOnStop = %q, want %q", c.Global.LVSFlushOnStop, tt.want)
				}
			}
		})
	}
}

func TestAuditIPFamily(t *testing.T) {
	tests := []struct {
		name, head, lines, want string
		warns                   []string
	}{
		{name: "fwmark", head: "fwmark 1", lines: " ip_family inet6\n real_server 192.0.2.20 80 {\n  lvs_method TUN\n }\n", want: "inet6"},
		{name: "fwmark after a tunnelled real server", head: "fwmark 1", lines: " lb_kind TUN\n real_server 192.0.2.20 80 {\n }\n ip_family inet6\n", want: "inet6"},
		{name: "fwmark after a direct real server", head: "fwmark 1", lines: " real_server 192.0.2.20 80 {\n  lvs_method DR\n }\n ip_family inet6\n",
			warns: []string{"k.conf:5: ip_family: ip_family inet6 conflicts with the virtual server's family: keepalived 2.2.7 ignores it (read the same way)"}},
		{name: "address of the same family", head: "192.0.2.10 80", lines: " protocol TCP\n ip_family inet\n real_server 192.0.2.20 80 {\n }\n", want: "inet"},
		{name: "address of the other family", head: "192.0.2.10 80", lines: " protocol TCP\n ip_family inet6\n real_server 192.0.2.20 80 {\n }\n",
			warns: []string{"k.conf:3: ip_family: ip_family inet6 conflicts with the virtual server's family: keepalived 2.2.7 ignores it (read the same way)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, warns, err := readAudit(t, "virtual_server "+tt.head+" {\n"+tt.lines+"}\n")
			if err != nil {
				t.Fatal(err)
			}
			var mine []string
			for _, w := range warns {
				if strings.Contains(w, "ip_family") {
					mine = append(mine, w)
				}
			}
			if diff := cmp.Diff(tt.warns, mine); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			for _, c := range []*Config{cfg, mustReread(t, cfg)} {
				if got := c.VirtualServers[0].IPFamily; got != tt.want {
					t.Errorf("IPFamily = %q, want %q", got, tt.want)
				}
			}
		})
	}
	if _, _, err := readAudit(t, "virtual_server fwmark 1 {\n ip_family inet4\n}\n"); !errors.Is(err, ErrValue) {
		t.Errorf("ip_family inet4: err = %v, want ErrValue", err)
	}
}

func TestAuditRSInitNotifiesRead(t *testing.T) {
	for _, tt := range []struct {
		line string
		want bool
	}{{"", false}, {"rs_init_notifies", true}, {"rs_init_notifies off", false}} {
		cfg, _, err := readAudit(t, "global_defs {\n "+tt.line+"\n}\n")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*Config{cfg, mustReread(t, cfg)} {
			if c.Global.RSInitNotifies != tt.want {
				t.Errorf("%q: RSInitNotifies = %v, want %v", tt.line, c.Global.RSInitNotifies, tt.want)
			}
		}
	}
}
