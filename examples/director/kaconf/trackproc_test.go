package kaconf

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReadTrackProcess(t *testing.T) {
	src := `vrrp_track_process nginx {
   process nginx
   weight -20 reverse
   quorum 2
   quorum_max 4
   delay 0.5
   terminate_delay 2
}
vrrp_track_process worker {
   process /usr/bin/python3 /srv/worker.py --fast
   param_match partial
}
vrrp_track_process none {
   process sshd
   quorum_max 0
}
vrrp_instance VI_1 {
   interface eth0
   virtual_router_id 1
   virtual_ipaddress {
     192.0.2.1
   }
   track_process {
      nginx
      worker weight 10 noreverse
   }
}
vrrp_sync_group G {
   group {
     VI_1
   }
   track_process {
      none weight -5 reverse
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
	want := []TrackProcess{
		{Pos: Pos{"k.conf", 1}, Name: "nginx", Process: "nginx", Weight: -20, Reverse: true, Quorum: 2, QuorumMax: 4,
			ForkDelay: 500 * time.Millisecond, TerminateDelay: 2 * time.Second},
		{Pos: Pos{"k.conf", 9}, Name: "worker", Process: "/usr/bin/python3", Params: []string{"/srv/worker.py", "--fast"},
			ParamMatch: ParamMatchPartial, FullCommand: true, Quorum: 1, QuorumMax: QuorumUnlimited},
		{Pos: Pos{"k.conf", 13}, Name: "none", Process: "sshd", Quorum: 0, QuorumMax: 0},
	}
	if diff := cmp.Diff(want, c.TrackProcesses); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantRefs := []TrackProcessRef{{Pos: Pos{"k.conf", 24}, Name: "nginx", Weight: -20, Reverse: true}, {Pos: Pos{"k.conf", 25}, Name: "worker", Weight: 10}}
	if diff := cmp.Diff(wantRefs, c.Instances[0].TrackProcesses); diff != "" {
		t.Errorf("instance (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]TrackProcessRef{{Pos: Pos{"k.conf", 33}, Name: "none", Weight: -5, Reverse: true}}, c.SyncGroups[0].TrackProcesses); diff != "" {
		t.Errorf("group (-want +got):\n%s", diff)
	}

	c2, _, err := readString(string(Format(c)))
	if err != nil {
		t.Fatalf("%v\n%s", err, Format(c))
	}
	noPos := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Pos" }, cmp.Ignore())
	if diff := cmp.Diff(c.TrackProcesses, c2.TrackProcesses, noPos); diff != "" {
		t.Errorf("after Format (-read +reread):\n%s\n%s", diff, Format(c))
	}
	if diff := cmp.Diff(c.Instances[0].TrackProcesses, c2.Instances[0].TrackProcesses, noPos); diff != "" {
		t.Errorf("instance after Format (-read +reread):\n%s", diff)
	}
	if diff := cmp.Diff(c.SyncGroups[0].TrackProcesses, c2.SyncGroups[0].TrackProcesses, noPos); diff != "" {
		t.Errorf("group after Format (-read +reread):\n%s", diff)
	}
}

func TestReadTrackProcessErrors(t *testing.T) {
	inst := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n track_process {\n  p\n }\n}\n"
	for _, tt := range []struct {
		src, want string
		is        error
	}{
		{"vrrp_track_process p {\n weight 3\n}\n", "k.conf:1", ErrValue},
		{"vrrp_track_process p {\n process x\n weight 255\n}\n", "k.conf:3", ErrValue},
		{"vrrp_track_process p {\n process x\n weight 3 sideways\n}\n", "k.conf:3", ErrValue},
		{"vrrp_track_process p {\n process x\n param_match whole\n}\n", "k.conf:3", ErrValue},
		{"vrrp_track_process p {\n process x\n quorum 0\n}\n", "k.conf:3", ErrValue},
		{"vrrp_track_process p {\n process x\n quorum 3\n quorum_max 2\n}\n", "k.conf:4", ErrValue},
		{"vrrp_track_process p {\n process x\n fork_delay 3601\n}\n", "k.conf:3", ErrValue},
		{"vrrp_track_process p {\n process x\n colour red\n}\n", "k.conf:3", ErrUnknownKeyword},
		{"vrrp_track_process p {\n process x\n}\nvrrp_track_process p {\n process y\n}\n", "k.conf:4", ErrReference},
		{"vrrp_track_process q {\n process x\n}\n", "k.conf:8: p", ErrReference},
		{"vrrp_track_process p {\n process x\n}\nvrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n track_process {\n  p weight\n }\n}\n", "k.conf:8", ErrSyntax},
	} {
		t.Run(tt.src, func(t *testing.T) {
			_, _, err := readString(tt.src + inst)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %v at %s", err, tt.is, tt.want)
			}
		})
	}
}
