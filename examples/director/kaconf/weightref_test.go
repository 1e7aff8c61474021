package kaconf

import (
	"strings"
	"testing"
)

// A track_file or track_process named twice by one instance is tracked once, with a
// warning at the second line, as keepalived 2.2.7 (resolveWeightRefs serves both).
func TestTrackedTwiceWarns(t *testing.T) {
	src := `track_file f {
   file /run/f
}
vrrp_track_process p {
   process nginx
}
vrrp_instance VI_1 {
   interface eth0
   virtual_router_id 1
   virtual_ipaddress {
     192.0.2.1
   }
   track_file {
      f
      f weight 3
   }
   track_process {
      p
      p weight 2
   }
}
`
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	in := c.Instances[0]
	if len(in.TrackFiles) != 1 || in.TrackFiles[0].Pos.Line != 14 || len(in.TrackProcesses) != 1 || in.TrackProcesses[0].Pos.Line != 18 {
		t.Fatalf("refs: files %+v, processes %+v", in.TrackFiles, in.TrackProcesses)
	}
	var lines []string
	for _, w := range warns {
		lines = append(lines, w.String())
	}
	all := strings.Join(lines, "\n")
	for _, w := range []string{
		"k.conf:15: f: track_file f is tracked twice by vrrp_instance VI_1: keepalived 2.2.7 ignores the second (read the same way)",
		"k.conf:19: p: track_process p is tracked twice by vrrp_instance VI_1: keepalived 2.2.7 ignores the second (read the same way)",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("no warning %q in:\n%s", w, all)
		}
	}
}
