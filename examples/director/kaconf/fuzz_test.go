package kaconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// FuzzRead feeds arbitrary files to the reader. It must not panic, must return either
// a Config or an error (never both), and a Config it returns must survive a Format
// round trip unchanged.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("global_defs {\n router_id \"a b\\\" c\"\n}\n"))
	f.Add([]byte("vrrp_instance V {\ninterface e\nvirtual_router_id 1\nnotify \"/x 'a b' c\\\\d\"\n}\n"))
	// Hostile shapes: deep nesting, many braces, long lines, includes of
	// itself and brace expansion, control characters.
	f.Add([]byte(strings.Repeat("{\n", 100)))
	f.Add([]byte(strings.Repeat("a {\n", 40) + strings.Repeat("}\n", 40)))
	f.Add([]byte(strings.Repeat("}\n", 200)))
	f.Add([]byte(strings.Repeat("{", 3000)))
	f.Add([]byte("global_defs {\n router_id " + strings.Repeat("x", 1100) + "\n}\n"))
	f.Add([]byte("include k.conf\ninclude {k,x}.conf\ninclude " + strings.Repeat("{a,b}", 16) + "\n"))
	f.Add([]byte("global_defs {\n" + strings.Repeat("router_id r\n", 2000) + "}\n"))
	f.Add([]byte("vrrp_instance V {\x00\n\"\\x\n}\n"))
	f.Add([]byte(rulesConf))
	f.Add([]byte("static_rules {\n from 0.0.0.0/0 not fwmark 0/0xffffffff type goto 9 preference 3\n to 2001:db8::/32 uidrange 0-4294967294 nop\n}\n"))
	f.Add([]byte("net_namespace blue\nstatic_routes {\n 10.8.0.0/16 via 192.0.2.1 or 192.0.2.2 dev eth0\n default nexthop via 2001:db8::1 weight 2 nexthop dev eth1\n}\n"))
	f.Add([]byte("virtual_server 192.0.2.1 25 {\n protocol TCP\n real_server 192.0.2.2 25 {\n  SMTP_CHECK {\n   host {\n    connect_ip 192.0.2.3\n    retry 2\n   }\n   host {\n   }\n  }\n }\n}\n"))
	// The keywords the audit of issue 14 added.
	f.Add([]byte("global_defs {\n no_checker_emails\n rs_init_notifies\n lvs_flush_on_stop VS\n min_auto_priority_delay 5000\n vrrp_no_swap\n}\n" +
		"vrrp_instance V {\n interface e\n virtual_router_id 1\n lower_prio_no_advert off\n check_unicast_src\n}\n" +
		"virtual_server fwmark 3 {\n lb_algo sh\n sh-port\n flag-3\n ops\n ip_family inet6\n persistence_engine sip\n sorry_server 2001:db8::9 0\n sorry_server_lvs_method TUN\n" +
		" real_server 2001:db8::1 0 {\n  uthreshold 10\n  lthreshold 2\n  HTTP_GET {\n   connect_port 80\n   http_protocol 1.0c\n   fast_recovery\n   url {\n    path /\n   }\n  }\n }\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, _, err := Read(fstest.MapFS{"k.conf": {Data: src}}, "k.conf")
		if (c == nil) == (err == nil) {
			t.Fatalf("Config %v with error %v", c != nil, err)
		}
		if err != nil {
			return
		}
		out := Format(c)
		again, _, err := Read(fstest.MapFS{"k.conf": {Data: out}}, "k.conf")
		if err != nil {
			t.Fatalf("re-reading Format output: %v\ninput:\n%q\noutput:\n%s", err, src, out)
		}
		if diff := cmp.Diff(c, again, eqNetip, ignorePos); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s\ninput:\n%q\noutput:\n%s", diff, src, out)
		}
	})
}
