package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestIntegrationTrackProcessAndFileMoveVIP runs two directors on one segment; A
// (150) tracks a process (weight -60) and a file (weight -10), B (100) tracks
// nothing. Killing the process moves the VIP to B and starting it again brings it
// back to A; writing 8 to the file moves it to B and writing 0 brings it back.
func TestIntegrationTrackProcessAndFileMoveVIP(t *testing.T) {
	directorBinary(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	nsA, nsB := pair(t)
	dir := t.TempDir()
	tf := filepath.Join(dir, "state")
	if err := os.WriteFile(tf, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	arg := fmt.Sprintf("%d.%d", 400+os.Getpid()%100, time.Now().UnixNano()%1000000)
	start := func() *exec.Cmd {
		t.Helper()
		c := exec.Command(sleep, arg)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
		return c
	}
	child := start()
	const vip = "192.0.2.100"
	head := fmt.Sprintf("vrrp_track_process child {\n    process %s %s\n    weight -60\n}\ntrack_file state {\n    file %s\n}\n", sleep, arg, tf)
	extra := "    track_process {\n        child\n    }\n    track_file {\n        state weight -10\n    }\n"
	for _, d := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fA := writeConf(t, filepath.Join(dir, "a", "keepalived.conf"), instConf{prio: 150, version: 3, advert: "0.1", vips: []string{vip + "/24"}, head: head, extra: extra})
	fB := writeConf(t, filepath.Join(dir, "b", "keepalived.conf"), instConf{prio: 100, version: 3, advert: "0.1", vips: []string{vip + "/24"}})
	startDirector(t, "B", nsB, fB)
	a := startDirector(t, "A", nsA, fA)
	slack := 20 * time.Second
	at := func(what string, onA bool) {
		t.Helper()
		eventually(t, what, slack, func() bool {
			return hasAddr(t, nsA, vip+"/24", "") == onA && hasAddr(t, nsB, vip+"/24", "") != onA
		})
	}
	at("A (150) holds the VIP", true)

	child.Process.Kill()
	child.Wait()
	at("the tracked process killed: A at 90, B holds the VIP", false)
	if st := a.readStatus(); st.Instances[0].Priority != 90 {
		t.Errorf("A's priority with the process gone: %d, want 90", st.Instances[0].Priority)
	}
	start()
	at("the process back: A preempts again", true)

	if err := os.WriteFile(tf, []byte("8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	at("the tracked file at 8 x -10: A at 70, B holds the VIP", false)
	if st := a.readStatus(); st.Instances[0].Priority != 70 {
		t.Errorf("A's priority with the file at 8: %d, want 70", st.Instances[0].Priority)
	}
	if err := os.WriteFile(tf, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	at("the file at 0: A holds the VIP again", true)
}
