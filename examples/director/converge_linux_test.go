package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIntegrationVIPDeletedFromOutside: on the MASTER, `ip addr del` of its VIP is
// undone within one advert interval, logged at WARN, and the BACKUP never takes the
// VIP (the MASTER kept advertising all along, as keepalived's does).
func TestIntegrationVIPDeletedFromOutside(t *testing.T) {
	directorBinary(t)
	nsA, nsB := pair(t)
	dir := t.TempDir()
	const vip, advert = "192.0.2.100", time.Second
	fA := writeConf(t, filepath.Join(dir, "a.conf"), instConf{prio: 150, version: 3, advert: "1", vips: []string{vip + "/24 dev eth0"}})
	fB := writeConf(t, filepath.Join(dir, "b.conf"), instConf{prio: 100, version: 3, advert: "1", vips: []string{vip + "/24 dev eth0"}})
	b := startDirector(t, "director B", nsB, fB)
	a := startDirector(t, "director A", nsA, fA)
	slack := 20 * time.Second
	eventually(t, "A holds the VIP", slack, func() bool { return hasAddr(t, nsA, vip+"/24", "") })
	eventually(t, "B is BACKUP", slack, func() bool {
		st := b.readStatus()
		return len(st.Instances) == 1 && st.Instances[0].State == "BACKUP"
	})
	for i := range 3 {
		nsA.MustExec(t, "ip", "addr", "del", vip+"/24", "dev", "eth0")
		start := time.Now()
		eventually(t, "A holds the VIP again", slack, func() bool { return hasAddr(t, nsA, vip+"/24", "") })
		took := time.Since(start)
		t.Logf("deletion %d: back after %v", i+1, took)
		if took > advert {
			t.Errorf("deletion %d: the VIP came back after %v, more than one advert interval (%v)", i+1, took, advert)
		}
		if hasAddr(t, nsB, vip+"/24", "") {
			t.Errorf("deletion %d: B took the VIP", i+1)
		}
	}
	log := readFile(t, a.log)
	if !strings.Contains(log, `level=WARN msg="VIP removed from outside while MASTER; adding it back" addr=`+vip+"/24 interface=eth0") {
		t.Errorf("A did not log the deletion at WARN with the address and interface")
	}
	a.signal(syscall.SIGTERM)
	a.wait(slack)
	b.signal(syscall.SIGTERM)
	b.wait(slack)
}

// TestIntegrationLinkFlap: the MASTER's link flapping 20 times in 2 s leaves exactly
// one host holding each VIP afterwards (the higher priority one, by preemption), and
// they stay put.
func TestIntegrationLinkFlap(t *testing.T) {
	directorBinary(t)
	nsA, nsB := pair(t)
	dir := t.TempDir()
	vips := []string{"192.0.2.100/24 dev eth0", "192.0.2.101/24 dev eth0"}
	fA := writeConf(t, filepath.Join(dir, "a.conf"), instConf{prio: 150, version: 3, advert: "0.1", vips: vips})
	fB := writeConf(t, filepath.Join(dir, "b.conf"), instConf{prio: 100, version: 3, advert: "0.1", vips: vips})
	b := startDirector(t, "director B", nsB, fB)
	a := startDirector(t, "director A", nsA, fA)
	slack := 20 * time.Second
	holders := func(addr string) []string {
		var out []string
		if hasAddr(t, nsA, addr, "") {
			out = append(out, "A")
		}
		if hasAddr(t, nsB, addr, "") {
			out = append(out, "B")
		}
		return out
	}
	onlyA := func() bool {
		for _, v := range []string{"192.0.2.100/24", "192.0.2.101/24"} {
			if h := holders(v); len(h) != 1 || h[0] != "A" {
				return false
			}
		}
		return true
	}
	eventually(t, "A holds both VIPs, B none", slack, onlyA)

	// 20 flaps in 2 s: down 50 ms, up 50 ms. The loop is bounded.
	for range 20 {
		nsA.MustExec(t, "ip", "link", "set", "eth0", "down")
		time.Sleep(50 * time.Millisecond)
		nsA.MustExec(t, "ip", "link", "set", "eth0", "up")
		time.Sleep(50 * time.Millisecond)
	}
	settle := time.Now()
	eventually(t, "after the flaps, A alone holds each VIP", slack, onlyA)
	t.Logf("settled %v after the last flap", time.Since(settle))
	// And it stays so: sample for 2 s (20 advert intervals).
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for _, v := range []string{"192.0.2.100/24", "192.0.2.101/24"} {
			if h := holders(v); len(h) != 1 || h[0] != "A" {
				t.Fatalf("%s held by %v after the flaps settled, want A alone", v, h)
			}
		}
	}
	a.signal(syscall.SIGTERM)
	a.wait(slack)
	b.signal(syscall.SIGTERM)
	b.wait(slack)
}

// TestIntegrationSharedSocketUnicast: a unicast instance and a multicast one on the
// same interface share one socket (opened for the unicast one first, joined to the
// VRRP group all the same), and both elect right: A MASTER of both VIPs, B of none.
func TestIntegrationSharedSocketUnicast(t *testing.T) {
	directorBinary(t)
	nsA, nsB := pair(t)
	dir := t.TempDir()
	uni := func(self, peer, prio string) string {
		return "vrrp_instance U {\n    interface eth0\n    virtual_router_id 52\n    version 3\n    advert_int 0.1\n" +
			"    priority " + prio + "\n    unicast_src_ip " + self + "\n    unicast_peer {\n        " + peer + "\n    }\n" +
			"    virtual_ipaddress {\n        192.0.2.102/24 dev eth0\n    }\n}\n"
	}
	vips := []string{"192.0.2.100/24 dev eth0"}
	fA := writeConf(t, filepath.Join(dir, "a.conf"), instConf{prio: 150, version: 3, advert: "0.1", vips: vips, head: uni("192.0.2.1", "192.0.2.2", "150")})
	fB := writeConf(t, filepath.Join(dir, "b.conf"), instConf{prio: 100, version: 3, advert: "0.1", vips: vips, head: uni("192.0.2.2", "192.0.2.1", "100")})
	b := startDirector(t, "director B", nsB, fB)
	a := startDirector(t, "director A", nsA, fA)
	slack := 20 * time.Second
	right := func() bool {
		for _, v := range []string{"192.0.2.100/24", "192.0.2.102/24"} {
			if !hasAddr(t, nsA, v, "") || hasAddr(t, nsB, v, "") {
				return false
			}
		}
		return true
	}
	eventually(t, "A holds both VIPs, B none", slack, right)
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if !right() {
			t.Fatal("the election did not hold: B took a VIP (did unicast adverts reach it?)")
		}
	}
	st := b.readStatus()
	for _, in := range st.Instances {
		if in.State != "BACKUP" {
			t.Errorf("B's %s is %s, want BACKUP", in.Name, in.State)
		}
	}
	a.signal(syscall.SIGTERM)
	a.wait(slack)
	b.signal(syscall.SIGTERM)
	b.wait(slack)
}
