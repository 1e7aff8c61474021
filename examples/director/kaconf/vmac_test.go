package kaconf

import (
	"slices"
	"strings"
	"testing"
)

func TestReadUseVMAC(t *testing.T) {
	tests := []struct {
		name string
		body string // lines inside vrrp_instance VI_1 after interface and VRID
		want *VMAC
		warn []string
	}{
		{name: "absent", body: "", want: nil},
		{name: "default name", body: " use_vmac\n", want: &VMAC{Pos: at("k.conf", 4)}},
		{name: "named", body: " use_vmac vrrp.51\n", want: &VMAC{Pos: at("k.conf", 4), Name: "vrrp.51"}},
		{name: "name keyword", body: " use_vmac name vmac51\n", want: &VMAC{Pos: at("k.conf", 4), Name: "vmac51"}},
		{name: "xmit base before", body: " vmac_xmit_base\n use_vmac\n", want: &VMAC{Pos: at("k.conf", 5), XmitBase: true}},
		{name: "xmit base after", body: " use_vmac v1\n vmac_xmit_base\n", want: &VMAC{Pos: at("k.conf", 4), Name: "v1", XmitBase: true}},
		{
			name: "xmit base alone", body: " vmac_xmit_base\n", want: nil,
			warn: []string{"k.conf:4: vmac_xmit_base is only valid with use_vmac"},
		},
		{
			name: "unicast implies xmit base", body: " use_vmac\n unicast_peer {\n  192.0.2.2\n }\n",
			want: &VMAC{Pos: at("k.conf", 4), XmitBase: true},
			warn: []string{"k.conf:4: unicast peers with use_vmac require vmac_xmit_base"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ws, err := readString("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n" + tt.body + "}\n")
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Instances[0].VMAC
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("VMAC = %+v, want %+v", got, tt.want)
			}
			var wss []string
			for _, w := range ws {
				if strings.Contains(w.Message, "vmac") {
					wss = append(wss, w.Pos.String()+": "+w.Message)
				}
			}
			if len(wss) != len(tt.warn) {
				t.Fatalf("warnings %q, want %q", wss, tt.warn)
			}
			for i := range wss {
				if !strings.HasPrefix(wss[i], tt.warn[i]) {
					t.Errorf("warning %q, want prefix %q", wss[i], tt.warn[i])
				}
			}
		})
	}
}

func TestReadUseVMACStrictDropsXmitBase(t *testing.T) {
	cfg, ws, err := readString("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n strict_mode on\n use_vmac\n vmac_xmit_base\n virtual_ipaddress {\n  192.0.2.10\n }\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if v := cfg.Instances[0].VMAC; v == nil || v.XmitBase {
		t.Errorf("VMAC = %+v, want use_vmac without xmit base", v)
	}
	if !slices.ContainsFunc(ws, func(w Warning) bool {
		return w.Pos.Line == 6 && strings.Contains(w.Message, "incompatible with strict mode")
	}) {
		t.Errorf("no strict-mode warning at line 6 in %v", warnStrings(ws))
	}
}

func TestReadUseVMACErrors(t *testing.T) {
	inst := func(name, lines string) string {
		return "vrrp_instance " + name + " {\n interface eth0\n virtual_router_id 51\n" + lines + "}\n"
	}
	tests := []struct {
		name, src, want string
	}{
		{"name too long", inst("VI_1", " use_vmac vrrp-is-too-long\n"),
			`kaconf: k.conf:4: use_vmac: bad value: "vrrp-is-too-long" is not a valid interface name: 16 bytes, more than 15`},
		{"slash", inst("VI_1", " use_vmac a/b\n"),
			`kaconf: k.conf:4: use_vmac: bad value: "a/b" is not a valid interface name: it contains /, : or white space`},
		{"MAC address", inst("VI_1", " use_vmac 02:00:00:00:00:01\n"),
			`kaconf: k.conf:4: use_vmac: bad value: a MAC address (02:00:00:00:00:01) is not supported: the macvlan takes the VRRP virtual MAC`},
		{"two names", inst("VI_1", " use_vmac a b\n"),
			`kaconf: k.conf:4: use_vmac: bad value: interface name given twice (a and b)`},
		{"name without value", inst("VI_1", " use_vmac name\n"),
			`kaconf: k.conf:4: use_vmac: bad value: name without an interface name`},
		{"netlink_notify_msg", inst("VI_1", " use_vmac netlink_notify_msg\n"),
			`kaconf: k.conf:4: use_vmac: bad value: netlink_notify_msg is not supported`},
		{"xmit base takes no value", inst("VI_1", " use_vmac\n vmac_xmit_base yes\n"), `kaconf: k.conf:5: vmac_xmit_base:`},
		{"same name twice", inst("VI_1", " use_vmac v51\n") + inst("VI_2", " use_vmac v51\n"),
			`kaconf: k.conf:9: use_vmac: bad value: vrrp_instance VI_1 already uses interface v51 (at k.conf:4)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readString(tt.src)
			if err == nil {
				t.Fatal("read without error")
			}
			if !slices.ContainsFunc(errStrings(err), func(s string) bool { return strings.HasPrefix(s, tt.want) }) {
				t.Errorf("errors %q, want one starting %q", errStrings(err), tt.want)
			}
		})
	}
}

func TestFormatUseVMAC(t *testing.T) {
	src := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n use_vmac \"vrrp.51\"\n vmac_xmit_base\n}\n"
	cfg, _, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	out := string(Format(cfg))
	if !strings.Contains(out, "use_vmac vrrp.51\n") || !strings.Contains(out, "vmac_xmit_base\n") {
		t.Errorf("Format lacks use_vmac vrrp.51 and vmac_xmit_base:\n%s", out)
	}
	again, _, err := readString(out)
	if err != nil {
		t.Fatalf("reading Format's output: %v\n%s", err, out)
	}
	if v := again.Instances[0].VMAC; v == nil || v.Name != "vrrp.51" || !v.XmitBase {
		t.Errorf("round trip VMAC = %+v", v)
	}
}
