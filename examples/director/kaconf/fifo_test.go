package kaconf

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const fifoInstance = `vrrp_instance VI_1 {
   interface eth0
   virtual_router_id 1
   virtual_ipaddress {
     192.0.2.1
   }
}
`

func TestReadNotifyFIFOs(t *testing.T) {
	src := `global_defs {
  notify_fifo /run/ka.fifo
  notify_fifo_script "/usr/bin/reader -v" nobody
  vrrp_notify_fifo /run/vrrp.fifo root wheel
  vrrp_notify_fifo_script /usr/bin/vrrp-reader
  lvs_notify_fifo "/run/lvs fifo"
}
` + fifoInstance
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	want := [3]NotifyFIFO{
		{Pos: Pos{"k.conf", 2}, Path: "/run/ka.fifo", Script: &Command{Args: []string{"/usr/bin/reader", "-v"}, User: "nobody"}},
		{Pos: Pos{"k.conf", 4}, Path: "/run/vrrp.fifo", User: "root", Group: "wheel", Script: &Command{Args: []string{"/usr/bin/vrrp-reader"}}},
		{Pos: Pos{"k.conf", 6}, Path: "/run/lvs fifo"},
	}
	got := [3]NotifyFIFO{c.Global.NotifyFIFO, c.Global.VRRPNotifyFIFO, c.Global.LVSNotifyFIFO}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// What Format writes reads back the same.
	c2, _, err := readString(string(Format(c)))
	if err != nil {
		t.Fatalf("%v\n%s", err, Format(c))
	}
	got2 := [3]NotifyFIFO{c2.Global.NotifyFIFO, c2.Global.VRRPNotifyFIFO, c2.Global.LVSNotifyFIFO}
	if diff := cmp.Diff(got, got2, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Pos" }, cmp.Ignore())); diff != "" {
		t.Errorf("after Format (-read +reread):\n%s\n%s", diff, Format(c))
	}
}

func TestReadNotifyFIFOTwice(t *testing.T) {
	src := "global_defs {\n notify_fifo /a\n notify_fifo /b\n lvs_notify_fifo_script /x\n lvs_notify_fifo_script /y\n}\n" + fifoInstance
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	if c.Global.NotifyFIFO.Path != "/a" || c.Global.LVSNotifyFIFO.Script.Args[0] != "/x" {
		t.Errorf("the first line must win: %+v %+v", c.Global.NotifyFIFO, c.Global.LVSNotifyFIFO)
	}
	if len(warns) != 2 || warns[0].Pos.Line != 3 || warns[1].Pos.Line != 5 {
		t.Errorf("want warnings at lines 3 and 5, got %v", warns)
	}
}

func TestReadNotifyFIFOErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"notify_fifo", "k.conf:2"},
		{"vrrp_notify_fifo /a u g extra", "k.conf:2"},
		{"lvs_notify_fifo_script", "k.conf:2"},
		{`notify_fifo_script ""`, "k.conf:2"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, _, err := readString("global_defs {\n" + tt.line + "\n}\n" + fifoInstance)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// TestReadFIFOWriteStatesOnReload: the flag is read, and Format writes it back.
func TestReadFIFOWriteStatesOnReload(t *testing.T) {
	c, _, err := readString("global_defs {\n vrrp_notify_fifo /run/k.fifo\n fifo_write_vrrp_states_on_reload\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Global.FIFOWriteVRRPStatesOnReload {
		t.Fatal("fifo_write_vrrp_states_on_reload not read")
	}
	c2, _, err := readString(string(Format(c)))
	if err != nil || !c2.Global.FIFOWriteVRRPStatesOnReload {
		t.Errorf("after Format: %v, %v", err, c2 != nil && c2.Global.FIFOWriteVRRPStatesOnReload)
	}
}
