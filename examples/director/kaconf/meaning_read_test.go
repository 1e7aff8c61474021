package kaconf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadFlagsAsKeepalivedRunsThem pins what keepalived 2.2.7's data dump showed
// for corpus files (examples/director TestIntegrationCorpusMeaning): global
// vrrp_strict, vrrp_skip_check_adv_addr and vrrp_check_unicast_src are set whatever
// follows them; an instance's skip_check_adv_addr is set by any valid argument,
// "false" included; a track_interface line naming the instance's own interface is
// dropped. Format writes what keepalived reads back the same way.
func TestReadFlagsAsKeepalivedRunsThem(t *testing.T) {
	src := `global_defs {
   vrrp_strict false
   vrrp_skip_check_adv_addr off
   vrrp_check_unicast_src no
}
vrrp_instance V {
   track_interface {
      eth0 weight 10
      eth1 weight 5
   }
   interface eth0
   virtual_router_id 1
   priority 255
   skip_check_adv_addr false
   virtual_ipaddress {
      192.0.2.10
   }
}
vrrp_instance W {
   interface eth1
   virtual_router_id 2
   priority 255
   virtual_ipaddress {
      192.0.2.11
   }
}
`
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	g, v := c.Global, c.Instances[0]
	got := []any{g.VRRPStrict, g.VRRPSkipCheckAdvAddr, g.VRRPCheckUnicastSrc, v.SkipCheckAdvAddr, v.TrackInterfaces}
	want := []any{true, true, true, true, []TrackInterface{{Pos: Pos{File: "k.conf", Line: 9}, Name: "eth1", Weight: 5}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantW := []string{
		`k.conf:2: vrrp_strict: keepalived 2.2.7 ignores "false" after vrrp_strict and sets it (read the same way)`,
		`k.conf:3: vrrp_skip_check_adv_addr: keepalived 2.2.7 ignores "off" after vrrp_skip_check_adv_addr and sets it (read the same way)`,
		`k.conf:4: vrrp_check_unicast_src: keepalived 2.2.7 ignores "no" after vrrp_check_unicast_src and sets it (read the same way)`,
		`k.conf:8: eth0: track_interface eth0 is the instance's own interface: keepalived 2.2.7 ignores the line (the interface is tracked anyway: FAULT while it is down) and so does the reader`,
		`k.conf:14: skip_check_adv_addr: keepalived 2.2.7 turns skip_check_adv_addr on whatever its argument, "false" included (read the same way)`,
	}
	if diff := cmp.Diff(wantW, warnStrings(warns)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	c2, _, err := readString(string(Format(c)))
	if err != nil {
		t.Fatalf("reading Format's output: %v", err)
	}
	if a, b := c.Instances[1].SkipCheckAdvAddr, c2.Instances[1].SkipCheckAdvAddr; a != b {
		t.Errorf("skip_check_adv_addr of W after Format: %v, want %v", b, a)
	}
}
