package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestIntegrationKeepalivedNoVIP runs a VRRPv2 instance without virtual addresses,
// which keepalived 2.2.7 runs with a warning (its adverts carry no address), on a
// director and on keepalived: each takes the other's adverts, they elect one MASTER,
// and keepalived takes over when the director is killed.
func TestIntegrationKeepalivedNoVIP(t *testing.T) {
	directorBinary(t)
	testenv.RequireCommand(t, "keepalived")
	nsD, nsK := pair(t)
	dir := t.TempDir()
	conf := func(name string, prio int) string {
		return writeConf(t, filepath.Join(dir, name, "keepalived.conf"), instConf{prio: prio, version: 2, advert: "1"})
	}
	for _, d := range []string{"director", "keepalived"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fD, fK := conf("director", 150), conf("keepalived", 100)
	slack := 20 * time.Second

	k := startKeepalived(t, nsK, fK)
	kStates := func(s string) int { return strings.Count(readFile(t, k.log), "(VI_1) Entering "+s+" STATE") }
	eventually(t, "keepalived alone becomes MASTER", slack, func() bool { return kStates("MASTER") == 1 })

	d := startDirector(t, "director", nsD, fD)
	eventually(t, "the director (150) becomes MASTER", slack, func() bool {
		st := d.readStatus()
		return len(st.Instances) == 1 && st.Instances[0].State == "MASTER"
	})
	eventually(t, "keepalived (100) goes BACKUP on the director's address-less adverts", slack, func() bool { return kStates("BACKUP") >= 1 })
	// Both keep their roles over three Master_Down_Intervals: each accepts the other's
	// adverts (a dropped one would make keepalived MASTER again).
	time.Sleep(3 * 3600 * time.Millisecond)
	if n := kStates("MASTER"); n != 1 {
		t.Fatalf("keepalived entered MASTER %d times with the director MASTER, want once (before it started)", n)
	}
	if st := d.readStatus(); len(st.Instances) != 1 || st.Instances[0].State != "MASTER" {
		t.Fatalf("director status %+v, want one MASTER instance", st.Instances)
	}

	d.signal(syscall.SIGKILL)
	d.wait(slack)
	eventually(t, "keepalived takes over after the director was killed", slack, func() bool { return kStates("MASTER") == 2 })

	// And the other way: the director at 50 is BACKUP to keepalived's adverts.
	d = startDirector(t, "director", nsD, conf("director", 50))
	eventually(t, "the director (50) is BACKUP to keepalived", slack, func() bool {
		st := d.readStatus()
		return len(st.Instances) == 1 && st.Instances[0].State == "BACKUP" && st.Instances[0].MasterAddr == "192.0.2.2"
	})
}
