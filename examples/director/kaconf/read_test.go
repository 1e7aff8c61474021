package kaconf

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// eqNetip compares the net/netip values inside a Config.
var eqNetip = cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{})

func at(file string, line int) Pos { return Pos{File: file, Line: line} }

// defaultGlobal is global_defs with nothing set: keepalived's defaults.
func defaultGlobal() Global {
	return Global{
		SMTPConnectTimeout:          30 * time.Second,
		VRRPVersion:                 2,
		VRRPMcastGroup4:             netip.MustParseAddr("224.0.0.18"),
		VRRPMcastGroup6:             netip.MustParseAddr("ff02::12"),
		VRRPGARPMasterDelay:         5 * time.Second,
		VRRPGARPMasterRepeat:        5,
		VRRPGARPLowerPrioDelay:      5 * time.Second,
		VRRPGARPLowerPrioRepeat:     5,
		VRRPGARPMasterRefreshRepeat: 1,
	}
}

// withGARPDefaults fills an instance's GARP fields from the default global_defs.
func withGARPDefaults(in Instance) Instance {
	in.GARPMasterDelay = 5 * time.Second
	in.GARPMasterRepeat = 5
	in.GARPLowerPrioDelay = 5 * time.Second
	in.GARPLowerPrioRepeat = 5
	in.GARPMasterRefreshRepeat = 1
	return in
}

func TestReadSeedLVSDRMaster(t *testing.T) {
	const f = "testdata/000-lvs-dr-master.conf"
	g := defaultGlobal()
	g.Pos = at(f, 3)
	g.SMTPServer, g.SMTPPort = "127.0.0.1", 25
	g.RouterID = "LVS_01"
	tcp := func(line int, ip string) Check {
		return Check{
			Pos: at(f, line), Type: CheckTCP,
			ConnectIP: netip.MustParseAddr(ip), ConnectPort: 80,
			ConnectTimeout: 3 * time.Second,
			// nb_get_retry 3, read as its author meant (keepalived 2.2.7 would keep 1).
			Retry:            3,
			DelayBeforeRetry: 3 * time.Second,
			DelayLoop:        6 * time.Second,
			Warmup:           6 * time.Second,
		}
	}
	rs := func(line int, ip string) RealServer {
		return RealServer{
			Pos: at(f, line), Addr: netip.MustParseAddrPort(ip + ":80"), Weight: 1, Method: MethodDR,
			DelayLoop: 6 * time.Second, SMTPAlert: true, Checks: []Check{tcp(line+2, ip)},
		}
	}
	want := &Config{
		Global: g,
		Instances: []Instance{withGARPDefaults(Instance{
			Pos: at(f, 7), Name: "VI_1", State: StateMaster, Interface: "ens33", VRID: 10,
			Priority: 100, AdvertInt: time.Second, Version: 2, Accept: true,
			Auth: &Auth{Type: AuthPass, Pass: "123456"},
			VIPs: []VIP{{Pos: at(f, 18), Prefix: netip.MustParsePrefix("192.168.0.15/32"), Dev: "ens33"}},
		})},
		VirtualServers: []VirtualServer{{
			Pos: at(f, 21), Addr: netip.MustParseAddrPort("192.168.0.15:80"), Protocol: ProtocolTCP,
			DelayLoop: 6 * time.Second, Scheduler: "rr", Method: MethodDR,
			PersistenceTimeout: 50 * time.Second, Quorum: 1,
			RealServers: []RealServer{rs(27, "192.168.0.20"), rs(36, "192.168.0.30")},
		}},
	}
	got, warns, err := ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, eqNetip); diff != "" {
		t.Errorf("ReadFile(%s) (-want +got):\n%s", f, diff)
	}
	wantWarns := []string{
		f + ":32: nb_get_retry: keepalived 2.2.7 rejects nb_get_retry in TCP_CHECK as an unknown keyword and keeps retry at 1; read as retry 3, as its author meant",
		f + ":41: nb_get_retry: keepalived 2.2.7 rejects nb_get_retry in TCP_CHECK as an unknown keyword and keeps retry at 1; read as retry 3, as its author meant",
	}
	if diff := cmp.Diff(wantWarns, warnStrings(warns)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestReadSeedNginxBackup(t *testing.T) {
	const f = "testdata/001-nginx-backup.conf"
	want := &Config{
		Global: defaultGlobal(),
		Scripts: []Script{{
			Pos: at(f, 3), Name: "chk_nginx",
			Command:  Command{Args: []string{"/etc/keepalived/nginx_check.sh"}},
			Interval: 2 * time.Second, Timeout: 2 * time.Second, Weight: -20, Rise: 1, Fall: 1,
		}},
		Instances: []Instance{withGARPDefaults(Instance{
			Pos: at(f, 8), Name: "VI_1", State: StateBackup, Interface: "ens33", VRID: 121,
			McastSrcIP: netip.MustParseAddr("192.168.159.130"),
			Priority:   100, Nopreempt: true, AdvertInt: time.Second, Version: 2, Accept: true,
			Auth:         &Auth{Type: AuthPass, Pass: "1111"},
			TrackScripts: []TrackScript{{Pos: at(f, 21), Name: "chk_nginx", Weight: -20}},
			VIPs:         []VIP{{Pos: at(f, 24), Prefix: netip.MustParsePrefix("192.168.159.110/32"), Dev: "ens33"}},
		})},
	}
	got, warns, err := ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, eqNetip); diff != "" {
		t.Errorf("ReadFile(%s) (-want +got):\n%s", f, diff)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v, want none", warns)
	}
}

// TestReadSeedsKeepalivedDifferences checks the rest of the seeds where keepalived
// 2.2.7's reading differs from their authors'.
func TestReadSeedsKeepalivedDifferences(t *testing.T) {
	t.Run("002 track_script before vrrp_script, nb_get_retry", func(t *testing.T) {
		const f = "testdata/002-lvs-wrr-dr.conf"
		c, warns, err := ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in := c.Instance("VI_1")
		want := []TrackScript{{Pos: at(f, 23), Name: "chk_haproxy", Weight: 2}}
		if diff := cmp.Diff(want, in.TrackScripts); diff != "" {
			t.Errorf("track_script (-want +got):\n%s", diff)
		}
		wantVIP := []VIP{{Pos: at(f, 20), Prefix: netip.MustParsePrefix("192.168.1.100/24"), Dev: "eth0", Label: "eth0:0"}}
		if diff := cmp.Diff(wantVIP, in.VIPs, eqNetip); diff != "" {
			t.Errorf("VIPs (-want +got):\n%s", diff)
		}
		if s := c.Script("chk_haproxy"); s == nil || strings.Join(s.Command.Args, "|") != "/usr/bin/killall|-0|haproxy" {
			t.Errorf("chk_haproxy = %+v, want the quoted command split into 3 words", s)
		}
		http := c.VirtualServers[0].RealServers[1].Checks[0]
		wantHTTP := Check{
			Pos: at(f, 43), Type: CheckHTTP, ConnectIP: netip.MustParseAddr("192.168.1.12"), ConnectPort: 80,
			ConnectTimeout: 3 * time.Second, Retry: 3, DelayBeforeRetry: 3 * time.Second,
			DelayLoop: 6 * time.Second, Warmup: 6 * time.Second,
			URLs: []URL{{Pos: at(f, 44), Path: "/healthz", StatusCodes: []StatusRange{{200, 299}}}},
		}
		if diff := cmp.Diff(wantHTTP, http, eqNetip); diff != "" {
			t.Errorf("HTTP_GET (-want +got):\n%s", diff)
		}
		wantWarns := []string{
			f + ":23: chk_haproxy: vrrp_script chk_haproxy is defined later (" + f + ":53): keepalived 2.2.7 ignores this track_script; read as tracking it",
			f + ":36: nb_get_retry: keepalived 2.2.7 rejects nb_get_retry in TCP_CHECK as an unknown keyword and keeps retry at 1; read as retry 3, as its author meant",
			f + ":48: nb_get_retry: nb_get_retry is the old name of retry (keepalived 2.2.7 reads it the same way but calls it deprecated)",
		}
		if diff := cmp.Diff(wantWarns, warnStrings(warns)); diff != "" {
			t.Errorf("warnings (-want +got):\n%s", diff)
		}
	})
	for _, f := range []string{"testdata/003-nginx-master.conf", "testdata/003-nginx-backup.conf"} {
		t.Run(filepath.Base(f)+" vrrp_garp_interval 0", func(t *testing.T) {
			c, warns, err := ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if c.Global.VRRPGARPInterval != 0 || c.Global.VRRPGNAInterval != 0 || !c.Global.VRRPSkipCheckAdvAddr {
				t.Errorf("global = %+v, want garp/gna interval 0 and skip_check_adv_addr", c.Global)
			}
			if !c.Instances[0].SkipCheckAdvAddr {
				t.Error("instance did not inherit vrrp_skip_check_adv_addr")
			}
			msg := ": keepalived 2.2.7 rejects 0 (its range is 0.000001..4294.967295) and ignores the line; its default is no delay, so read as 0, no delay"
			want := []string{f + ":7: vrrp_garp_interval" + msg, f + ":8: vrrp_gna_interval" + msg}
			if diff := cmp.Diff(want, warnStrings(warns)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func warnStrings(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

// readString reads src as k.conf in an in-memory file system.
func readString(src string) (*Config, []Warning, error) {
	return Read(fstest.MapFS{"k.conf": {Data: []byte(src)}}, "k.conf")
}

const minimalInstance = `vrrp_instance VI_1 {
   interface eth0
   virtual_router_id 1
}
`

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // every error, in order
	}{
		{
			name: "unknown keyword at the top",
			src:  "global_defs {\n}\nvrrp_instanse VI_1 {\n}\n",
			want: []string{"kaconf: k.conf:3: vrrp_instanse: unknown or unsupported keyword: not a keyword of the top level"},
		},
		{
			name: "unknown keyword in an instance",
			src:  "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n use_ipvlan\n}\n",
			want: []string{"kaconf: k.conf:4: use_ipvlan: unknown or unsupported keyword: not a keyword of vrrp_instance"},
		},
		{
			name: "virtual_server group without its group",
			src:  "virtual_server group G {\n}\n",
			want: []string{"kaconf: k.conf:1: virtual_server: bad reference: virtual_server_group G is not defined"},
		},
		{
			name: "VRID out of range",
			src:  "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 256\n}\n",
			want: []string{"kaconf: k.conf:3: virtual_router_id: bad value: 256 is out of range 1..255"},
		},
		{
			name: "priority 0",
			src:  "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 0\n}\n",
			want: []string{"kaconf: k.conf:4: priority: bad value: 0 is out of range 1..255"},
		},
		{
			name: "bad number",
			src:  "vrrp_script s {\n script /bin/true\n interval two\n}\n",
			want: []string{`kaconf: k.conf:3: interval: bad value: "two" is not an integer`},
		},
		{
			name: "bad VIP",
			src:  "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.300/24\n }\n}\n",
			want: []string{`kaconf: k.conf:5: 192.0.2.300/24: bad value: "192.0.2.300/24" is not an address or ADDR/LEN`},
		},
		{
			name: "bad VIP option",
			src:  "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1 dev eth0 home\n }\n}\n",
			want: []string{`kaconf: k.conf:5: 192.0.2.1: syntax error: home needs a value`},
		},
		{
			name: "bad real server address",
			src:  "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.x 80 {\n }\n}\n",
			want: []string{`kaconf: k.conf:2: real_server: bad value: "192.0.2.x" is not an IP address`},
		},
		{
			name: "bad lb_kind",
			src:  "virtual_server 192.0.2.1 80 {\n lb_kind FULLNAT\n}\n",
			want: []string{`kaconf: k.conf:2: lb_kind: bad value: "FULLNAT" is not NAT, DR or TUN`},
		},
		{
			name: "advert_int finer than centiseconds",
			src:  "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n version 3\n advert_int 0.015\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
			want: []string{"kaconf: k.conf:5: advert_int: bad value: 0.015 s is finer than VRRP's 0.01 s resolution"},
		},
		{
			name: "unterminated block",
			src:  "global_defs {\n router_id a\n",
			want: []string{"kaconf: k.conf:1: global_defs: syntax error: block is not closed (missing })"},
		},
		{
			name: "unterminated nested block",
			src:  "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n authentication {\n  auth_type PASS\n}\n",
			want: []string{"kaconf: k.conf:1: vrrp_instance: syntax error: block is not closed (missing })"},
		},
		{
			name: "stray closing brace",
			src:  "global_defs {\n}\n}\n",
			want: []string{"kaconf: k.conf:3: }: syntax error: } without a block to close"},
		},
		{
			name: "unterminated quote",
			src:  "vrrp_script s {\n script \"/bin/true\n}\n",
			want: []string{"kaconf: k.conf:2: script: syntax error: unterminated quoted string"},
		},
		{
			name: "block where none belongs",
			src:  "global_defs {\n router_id {\n }\n}\n",
			want: []string{"kaconf: k.conf:2: router_id: syntax error: takes no { } block"},
		},
		{
			name: "missing argument",
			src:  "global_defs {\n router_id\n}\n",
			want: []string{"kaconf: k.conf:2: router_id: syntax error: takes 1 argument, got 0"},
		},
		{
			name: "track_script naming no vrrp_script",
			src:  "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n track_script {\n  chk_gone\n }\n}\n",
			want: []string{"kaconf: k.conf:5: chk_gone: bad reference: track_script chk_gone names no vrrp_script"},
		},
		{
			name: "sync group naming no instance",
			src:  minimalInstance + "vrrp_sync_group G {\n group {\n  VI_1\n  VI_9\n }\n}\n",
			want: []string{"kaconf: k.conf:8: VI_9: bad reference: sync group G names no vrrp_instance VI_9"},
		},
		{
			name: "duplicate VRID on one interface",
			src:  minimalInstance + "vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 1\n}\n",
			want: []string{"kaconf: k.conf:7: virtual_router_id: bad reference: VRID 1 is already used on interface eth0 by vrrp_instance VI_1 (k.conf:1)"},
		},
		{
			name: "missing include",
			src:  "include nothere.conf\n",
			want: []string{"kaconf: k.conf:1: include: include failed: open nothere.conf: file does not exist"},
		},
		{
			name: "all errors collected",
			src:  "global_defs {\n router_idd x\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 0\n priority 300\n}\n",
			want: []string{
				"kaconf: k.conf:2: router_idd: unknown or unsupported keyword: not a keyword of global_defs",
				"kaconf: k.conf:6: virtual_router_id: bad value: 0 is out of range 1..255",
				"kaconf: k.conf:7: priority: bad value: 300 is out of range 1..255",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := readString(tt.src)
			if err == nil {
				t.Fatalf("no error; config %+v", cfg)
			}
			if cfg != nil {
				t.Errorf("got a Config along with the error; want nil (nothing starts half-configured)")
			}
			if diff := cmp.Diff(tt.want, errStrings(err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			var e *Error
			if !errors.As(err, &e) || e.Pos.Line == 0 {
				t.Errorf("errors.As(*Error) = %v, %+v", errors.As(err, &e), e)
			}
		})
	}
}

func errStrings(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

func TestReadErrorSentinels(t *testing.T) {
	tests := []struct {
		name, src string
		want      error
	}{
		{"unknown", "foo {\n}\n", ErrUnknownKeyword},
		{"syntax", "global_defs {\n", ErrSyntax},
		{"value", "vrrp_instance V {\n interface e\n virtual_router_id 999\n}\n", ErrValue},
		{"reference", minimalInstance + "vrrp_sync_group G {\n group {\n  X\n }\n}\n", ErrReference},
		{"include", "include x.conf\n", ErrInclude},
		{"include not exist", "include x.conf\n", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readString(tt.src)
			if !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
		})
	}
}

func TestReadNopreemptWithStateMaster(t *testing.T) {
	// keepalived 2.2.7 warns "nopreempt will not work with initial state MASTER -
	// clearing" and runs the instance preempting. The reader does the same (so the
	// seeds' master node, which sets both, starts as keepalived starts it) and warns.
	src := "vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 1\n priority 100\n nopreempt\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	if c.Instances[0].Nopreempt {
		t.Error("Nopreempt = true with state MASTER, want false (cleared, as keepalived)")
	}
	want := []string{"k.conf:6: nopreempt: nopreempt needs state BACKUP: with state MASTER keepalived 2.2.7 clears it and preempts (read the same way)"}
	if diff := cmp.Diff(want, warnStrings(warns)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestReadInstanceDefaults(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		state     State
		priority  int
		version   int
		accept    bool
		wantWarns int
	}{
		{"nothing", "", StateBackup, 100, 2, true, 0},
		{"state MASTER without priority is the owner", "state MASTER\n", StateMaster, 255, 2, true, 1},
		{"priority 255 without state is MASTER", "priority 255\n", StateMaster, 255, 2, true, 0},
		{"IPv6 VIPs mean VRRPv3", "virtual_ipaddress {\n2001:db8::1\n}\n", StateBackup, 100, 3, true, 0},
		{"strict mode means no accept", "strict_mode\n", StateBackup, 100, 2, false, 1},
		{"the owner accepts in strict mode", "strict_mode\npriority 255\n", StateMaster, 255, 2, true, 0},
		{"accept with strict VRRPv2 is reset", "strict_mode\naccept\n", StateBackup, 100, 2, false, 2},
		{"accept with strict VRRPv3", "strict_mode\nversion 3\naccept\n", StateBackup, 100, 3, true, 0},
		{"strict state MASTER must be the owner", "strict_mode\nstate MASTER\npriority 100\n", StateBackup, 100, 2, false, 2},
		{"fractional v2 advert_int warns", "advert_int 0.5\n", StateBackup, 100, 2, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vips := "virtual_ipaddress {\n192.0.2.1\n}\n"
			if strings.Contains(tt.body, "virtual_ipaddress") {
				vips = ""
			}
			c, warns, err := readString("vrrp_instance V {\ninterface eth0\nvirtual_router_id 9\n" + vips + tt.body + "}\n")
			if err != nil {
				t.Fatal(err)
			}
			in := c.Instances[0]
			got := []any{in.State, in.Priority, in.Version, in.Accept, len(warns)}
			want := []any{tt.state, tt.priority, tt.version, tt.accept, tt.wantWarns}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("state, priority, version, accept, warnings (-want +got):\n%s\nwarnings: %v", diff, warns)
			}
		})
	}
}

func TestReadCommentsAndQuotes(t *testing.T) {
	src := `# a comment line
! another comment line
global_defs {   # comment after a brace
   router_id "LVS 01"   ! trailing comment
   notification_email { a@example.com }
}
vrrp_script chk {
   script "/bin/sh -c 'test -f /tmp/x # not a comment'"
   weight 2 # comment
}
vrrp_instance VI_1
{
   interface eth0
   virtual_router_id 7 ! comment
   track_script {
      chk weight -5
   }
   notify "/etc/notify.sh \"quoted\" arg" root
   notify_master /etc/master.sh   # bare script path
   virtual_ipaddress {
      192.0.2.1
   }
}
`
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	got := []any{
		c.Global.RouterID, c.Global.NotificationEmail, c.Scripts[0].Command.Args, c.Scripts[0].Weight,
		c.Instances[0].VRID, c.Instances[0].TrackScripts[0].Weight, *c.Instances[0].Notify, *c.Instances[0].NotifyMaster,
	}
	want := []any{
		"LVS 01", []string{"a@example.com"}, []string{"/bin/sh", "-c", "test -f /tmp/x # not a comment"}, 2,
		7, -5, Command{Args: []string{"/etc/notify.sh", "quoted", "arg"}, User: "root"}, Command{Args: []string{"/etc/master.sh"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadInclude(t *testing.T) {
	const main = "testdata/include/keepalived.conf"
	c, warns, err := ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range c.Instances {
		names = append(names, in.Name+"@"+in.Pos.String())
	}
	// conf.d/*.conf in glob (sorted) order, and nested.conf included by b.conf.
	want := []string{
		"VI_A@testdata/include/conf.d/a.conf:2",
		"VI_B@testdata/include/conf.d/b.conf:2",
		"VI_N@testdata/include/nested/nested.conf:1",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	if c.Global.RouterID != "INCLUDED" {
		t.Errorf("router_id = %q, want INCLUDED from the main file", c.Global.RouterID)
	}
	wantW := []string{"testdata/include/keepalived.conf:5: include: pattern testdata/include/empty.d/*.conf matches no files; nothing included"}
	if diff := cmp.Diff(wantW, warnStrings(warns)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}

	t.Run("missing file names the include line", func(t *testing.T) {
		fsys := fstest.MapFS{
			"etc/k.conf":        {Data: []byte("global_defs {\n}\ninclude conf.d/*.conf\n")},
			"etc/conf.d/x.conf": {Data: []byte("\n\ninclude /etc/missing.conf\n")},
		}
		_, _, err := Read(fsys, "etc/k.conf")
		want := []string{"kaconf: etc/conf.d/x.conf:3: include: include failed: open etc/missing.conf: file does not exist"}
		if diff := cmp.Diff(want, errStrings(err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("include loop", func(t *testing.T) {
		fsys := fstest.MapFS{"a.conf": {Data: []byte("include b.conf\n")}, "b.conf": {Data: []byte("include a.conf\n")}}
		_, _, err := Read(fsys, "a.conf")
		if !errors.Is(err, ErrInclude) || !strings.Contains(err.Error(), "b.conf:1: include") {
			t.Errorf("err = %v, want an include error at b.conf:1", err)
		}
	})
	t.Run("missing main file", func(t *testing.T) {
		_, _, err := ReadFile(filepath.Join(t.TempDir(), "none.conf"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v, want ErrNotExist", err)
		}
	})
}
