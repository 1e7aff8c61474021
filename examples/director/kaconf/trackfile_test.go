package kaconf

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadInstanceTrackFile(t *testing.T) {
	src := `track_file up {
   file /run/up
   weight -5 reverse
}
track_file gate {
   file /run/gate
}
vrrp_instance VI_1 {
   interface eth0
   virtual_router_id 1
   virtual_ipaddress {
     192.0.2.1
   }
   track_file {
      up
      gate weight 0
      late weight 10 noreverse
   }
}
vrrp_instance VI_2 {
   interface eth0
   virtual_router_id 2
   virtual_ipaddress {
     192.0.2.2
   }
}
vrrp_sync_group G {
   group {
     VI_2
   }
   track_file {
      gate weight 3 reverse
   }
}
track_file late {
   file /run/late
}
`
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	want := []TrackFileRef{
		{Pos: Pos{"k.conf", 15}, Name: "up", Weight: -5, Reverse: true},
		{Pos: Pos{"k.conf", 16}, Name: "gate", Weight: 0},
		{Pos: Pos{"k.conf", 17}, Name: "late", Weight: 10},
	}
	if diff := cmp.Diff(want, c.Instances[0].TrackFiles); diff != "" {
		t.Errorf("instance (-want +got):\n%s", diff)
	}
	wantG := []TrackFileRef{{Pos: Pos{"k.conf", 32}, Name: "gate", Weight: 3, Reverse: true}}
	if diff := cmp.Diff(wantG, c.SyncGroups[0].TrackFiles); diff != "" {
		t.Errorf("group (-want +got):\n%s", diff)
	}

	c2, _, err := readString(string(Format(c)))
	if err != nil {
		t.Fatalf("%v\n%s", err, Format(c))
	}
	noPos := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Pos" }, cmp.Ignore())
	if diff := cmp.Diff(c.Instances[0].TrackFiles, c2.Instances[0].TrackFiles, noPos); diff != "" {
		t.Errorf("after Format (-read +reread):\n%s", diff)
	}
	if diff := cmp.Diff(c.SyncGroups[0].TrackFiles, c2.SyncGroups[0].TrackFiles, noPos); diff != "" {
		t.Errorf("group after Format (-read +reread):\n%s", diff)
	}
}

func TestReadInstanceTrackFileErrors(t *testing.T) {
	head := "track_file f {\n file /run/f\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n track_file {\n"
	for _, tt := range []struct {
		line, want string
		is         error
	}{
		{"nosuch", "k.conf:8: nosuch: " + ErrReference.Error(), ErrReference},
		{"f weight 255", "k.conf:8", ErrValue},
		{"f weight", "k.conf:8", ErrSyntax},
		{"f wait 3", "k.conf:8", ErrSyntax},
		{"f weight 3 sideways", "k.conf:8", ErrValue},
		{"f {\n }", "k.conf:8", ErrSyntax},
	} {
		t.Run(tt.line, func(t *testing.T) {
			_, _, err := readString(head + " " + tt.line + "\n }\n}\n")
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %v at %s", err, tt.is, tt.want)
			}
		})
	}
}

func TestReadTrackFileOwnerAndSyncGroup(t *testing.T) {
	src := `track_file f {
   file /run/f
}
track_file g {
   file /run/g
   weight 7
}
vrrp_instance OWNER {
   interface eth0
   virtual_router_id 1
   priority 255
   track_file {
      f
      g
   }
}
vrrp_instance MEMBER {
   interface eth0
   virtual_router_id 2
   track_file {
      f
      f weight 0
   }
}
vrrp_sync_group G {
   group {
     OWNER
     MEMBER
   }
   track_file {
      g
   }
}
`
	c, warns, err := readString(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Instances[0].TrackFiles; len(got) != 1 || got[0].Name != "f" || got[0].Weight != 0 {
		t.Errorf("owner's track_files = %+v, want f with weight 0 (g dropped)", got)
	}
	if got := c.Instances[1].TrackFiles; len(got) != 1 || got[0].Name != "f" || got[0].Weight != 0 {
		t.Errorf("member's track_files = %+v, want f with weight 0 (the repeat dropped)", got)
	}
	if got := c.SyncGroups[0].TrackFiles; len(got) != 1 || got[0].Weight != 0 {
		t.Errorf("group's track_files = %+v, want g with weight 0", got)
	}
	var lines []string
	for _, w := range warns {
		if strings.Contains(w.Message, "track_file") {
			lines = append(lines, w.Pos.String())
		}
	}
	want := []string{"k.conf:31", "k.conf:13", "k.conf:14", "k.conf:22", "k.conf:21"}
	if diff := cmp.Diff(want, lines, cmpSorted()); diff != "" {
		t.Errorf("warning lines (-want +got):\n%s\n%v", diff, warns)
	}
}

func cmpSorted() cmp.Option {
	return cmp.Transformer("sort", func(in []string) []string {
		out := append([]string(nil), in...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j] < out[i] {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	})
}
