package main

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"golang.org/x/sys/unix"
)

// vmac51 is the IPv4 virtual MAC of VRID 51.
var vmac51 = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 51}

// addrOn reports whether ns holds addr (as "addr/len") on dev.
func addrOn(t *testing.T, ns *testenv.NetNS, dev, addr string) bool {
	t.Helper()
	out, err := ns.Exec("ip", "-4", "-o", "addr", "show", "dev", dev)
	if err != nil {
		return false // dev does not exist (yet, or any more)
	}
	return strings.Contains(out, " "+addr+" ")
}

// linkDetail is `ip -d link show dev` in ns, or "" when there is no such link.
func linkDetail(ns *testenv.NetNS, dev string) string {
	out, err := ns.Exec("ip", "-d", "link", "show", "dev", dev)
	if err != nil {
		return ""
	}
	return out
}

// sysctl reads an integer under /proc/sys in ns.
func sysctl(t *testing.T, ns *testenv.NetNS, path string) int {
	t.Helper()
	out := ns.MustExec(t, "cat", filepath.Join("/proc/sys", path))
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("%s: %q", path, out)
	}
	return n
}

// frameCapture reads every Ethernet frame arriving on an interface of a namespace
// through an AF_PACKET socket, until stopped or for at most a minute.
type frameCapture struct {
	fd     int
	mu     sync.Mutex
	frames [][]byte
	done   chan struct{}
}

func captureFrames(t *testing.T, ns *testenv.NetNS, ifname string) *frameCapture {
	t.Helper()
	c := &frameCapture{fd: -1, done: make(chan struct{})}
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_ALL))
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return err
		}
		// A short receive timeout, so that the reader notices stop.
		tv := unix.Timeval{Usec: 100_000}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(fd)
			return err
		}
		c.fd = fd
		return nil
	})
	if err != nil {
		t.Fatalf("capture on %s: %v", ifname, err)
	}
	stop := make(chan struct{})
	var once sync.Once
	go func() {
		defer close(c.done)
		defer unix.Close(c.fd)
		deadline := time.Now().Add(time.Minute)
		b := make([]byte, 2048)
		for time.Now().Before(deadline) {
			select {
			case <-stop:
				return
			default:
			}
			n, _, err := unix.Recvfrom(c.fd, b, 0)
			if err != nil || n < 14 {
				continue
			}
			c.mu.Lock()
			c.frames = append(c.frames, bytes.Clone(b[:n]))
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { once.Do(func() { close(stop) }); <-c.done })
	return c
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// reset forgets the frames captured so far.
func (c *frameCapture) reset() {
	c.mu.Lock()
	c.frames = nil
	c.mu.Unlock()
}

// find returns the first captured frame that match accepts.
func (c *frameCapture) find(match func(f []byte) bool) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.frames {
		if match(f) {
			return f
		}
	}
	return nil
}

// vrrpAdvert reports whether f is an IPv4 VRRP packet from src of VRID vrid.
func vrrpAdvert(f []byte, src string, vrid byte) bool {
	if len(f) < 14+20+8 || binary.BigEndian.Uint16(f[12:14]) != unix.ETH_P_IP {
		return false
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != 112 || len(ip) < ihl+8 || net.IP(ip[12:16]).String() != src {
		return false
	}
	return ip[ihl+1] == vrid
}

// garpFor reports whether f is a gratuitous ARP (sender and target address
// equal) announcing ip.
func garpFor(f []byte, ip string) bool {
	if len(f) < 14+28 || binary.BigEndian.Uint16(f[12:14]) != unix.ETH_P_ARP {
		return false
	}
	a := f[14:]
	return net.IP(a[14:18]).String() == ip && bytes.Equal(a[14:18], a[24:28])
}

// TestIntegrationVMACDirector runs the director with use_vmac in a namespace and
// watches it from another on the same segment: as MASTER the macvlan vrrp.51 exists
// with the virtual MAC in private mode, holds the VIP (eth0 does not), carries
// keepalived's sysctls, and the adverts and the gratuitous ARP leave with the
// virtual MAC; the peer's ARP for the VIP is answered with it. A macvlan deleted
// from outside comes back with the VIP, and adverts go on from it; one set down is
// brought up. After a graceful stop the macvlan is gone and eth0's sysctls are
// back.
func TestIntegrationVMACDirector(t *testing.T) {
	directorBinary(t)
	nsD, nsP := pair(t)
	const vip = "192.0.2.100"
	slack := 20 * time.Second
	conf := writeConf(t, filepath.Join(t.TempDir(), "keepalived.conf"), instConf{prio: 150, version: 2, advert: "1",
		vips: []string{vip + "/24"}, extra: "    use_vmac\n"})
	capt := captureFrames(t, nsP, "eth0")
	// Strict reverse path filtering on all, as some distributions set it: rp_filter=0
	// on the macvlan only takes effect with all.rp_filter=0.
	nsD.MustExec(t, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1")
	if got := sysctl(t, nsD, "net/ipv4/conf/eth0/rp_filter"); got != 0 {
		t.Fatalf("eth0 starts with rp_filter %d, want 0", got)
	}

	d := startDirector(t, "director", nsD, conf)
	eventually(t, "the director becomes MASTER", slack, func() bool {
		st := d.readStatus()
		return len(st.Instances) == 1 && st.Instances[0].State == "MASTER"
	})
	eventually(t, "the VIP is on vrrp.51", slack, func() bool { return addrOn(t, nsD, "vrrp.51", vip+"/24") })
	if addrOn(t, nsD, "eth0", vip+"/24") {
		t.Errorf("the VIP is on eth0 as well")
	}
	link := linkDetail(nsD, "vrrp.51")
	for _, want := range []string{"vrrp.51@eth0", "link/ether " + vmac51.String(), "macvlan mode private"} {
		if !strings.Contains(link, want) {
			t.Errorf("ip -d link show vrrp.51 lacks %q:\n%s", want, link)
		}
	}
	for path, want := range map[string]int{
		"net/ipv4/conf/vrrp.51/arp_ignore":          1,
		"net/ipv4/conf/vrrp.51/accept_local":        1,
		"net/ipv4/conf/vrrp.51/rp_filter":           0,
		"net/ipv4/conf/vrrp.51/promote_secondaries": 1,
		"net/ipv6/conf/vrrp.51/disable_ipv6":        1,
		"net/ipv4/conf/eth0/arp_ignore":             1,
		"net/ipv4/conf/eth0/arp_filter":             1,
		// all.rp_filter moved onto default and every other interface, then cleared.
		"net/ipv4/conf/all/rp_filter":     0,
		"net/ipv4/conf/default/rp_filter": 1,
		"net/ipv4/conf/eth0/rp_filter":    1,
		"net/ipv4/conf/lo/rp_filter":      1,
	} {
		if got := sysctl(t, nsD, path); got != want {
			t.Errorf("%s = %d, want %d", path, got, want)
		}
	}

	eventually(t, "the peer sees an advert from the virtual MAC", slack, func() bool {
		return capt.find(func(f []byte) bool { return vrrpAdvert(f, "192.0.2.1", 51) && bytes.Equal(f[6:12], vmac51) }) != nil
	})
	if f := capt.find(func(f []byte) bool { return vrrpAdvert(f, "192.0.2.1", 51) && !bytes.Equal(f[6:12], vmac51) }); f != nil {
		t.Errorf("an advert left with source MAC %s, not the virtual MAC", net.HardwareAddr(f[6:12]))
	}
	eventually(t, "the peer sees a gratuitous ARP for the VIP", slack, func() bool {
		return capt.find(func(f []byte) bool { return garpFor(f, vip) }) != nil
	})
	g := capt.find(func(f []byte) bool { return garpFor(f, vip) })
	if sha := net.HardwareAddr(g[14+8 : 14+14]); !bytes.Equal(sha, vmac51) || !bytes.Equal(g[6:12], vmac51) {
		t.Errorf("gratuitous ARP: sender MAC %s, Ethernet source %s; want both %s", sha, net.HardwareAddr(g[6:12]), vmac51)
	}

	// The kernel answers the peer's ARP for the VIP with the virtual MAC (eth0 has
	// arp_ignore=1 and does not answer for an address it does not hold).
	// A datagram to the VIP makes the peer's kernel ask.
	if err := nsP.Do(func() error {
		c, err := net.Dial("udp4", vip+":9")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("who has the VIP"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the peer resolves the VIP to the virtual MAC", slack, func() bool {
		return strings.Contains(nsP.MustExec(t, "ip", "neigh", "show", vip), "lladdr "+vmac51.String())
	})

	// Deleted from outside: the director creates it again, puts the VIP back on it,
	// and sends adverts from it on a new socket.
	nsD.MustExec(t, "ip", "link", "del", "vrrp.51")
	eventually(t, "vrrp.51 is back with the VIP", slack, func() bool { return addrOn(t, nsD, "vrrp.51", vip+"/24") })
	capt.reset()
	eventually(t, "adverts leave from the re-created macvlan", slack, func() bool {
		return capt.find(func(f []byte) bool { return vrrpAdvert(f, "192.0.2.1", 51) && bytes.Equal(f[6:12], vmac51) }) != nil
	})

	// Set down from outside: brought up again.
	nsD.MustExec(t, "ip", "link", "set", "vrrp.51", "down")
	eventually(t, "vrrp.51 is up again", slack, func() bool { return strings.Contains(linkDetail(nsD, "vrrp.51"), ",UP") })

	d.signal(syscall.SIGTERM)
	d.wait(slack)
	if l := linkDetail(nsD, "vrrp.51"); l != "" {
		t.Errorf("vrrp.51 outlived the director:\n%s", l)
	}
	for path, want := range map[string]int{
		"net/ipv4/conf/eth0/arp_ignore":   0,
		"net/ipv4/conf/eth0/arp_filter":   0,
		"net/ipv4/conf/all/rp_filter":     1,
		"net/ipv4/conf/default/rp_filter": 0,
		"net/ipv4/conf/eth0/rp_filter":    0,
		"net/ipv4/conf/lo/rp_filter":      0,
	} {
		if got := sysctl(t, nsD, path); got != want {
			t.Errorf("after stop %s = %d, want %d as before", path, got, want)
		}
	}
	if log := readFile(t, d.log); strings.Contains(log, "level=ERROR") {
		t.Errorf("the director logged errors:\n%s", log)
	}
}

// TestIntegrationVMACKeepalivedInterop runs the director and keepalived 2.2.7, both
// with use_vmac, on one segment. The director as MASTER keeps keepalived BACKUP
// (keepalived hears its adverts from the virtual MAC); killed, keepalived takes
// over onto its own vrrp.51. A restarted director reuses the macvlan the killed one
// left, drops the VIP left on it, and is BACKUP to keepalived as MASTER; when
// keepalived resigns the director takes over onto vrrp.51 again.
func TestIntegrationVMACKeepalivedInterop(t *testing.T) {
	directorBinary(t)
	testenv.RequireCommand(t, "keepalived")
	nsD, nsK := pair(t)
	dir := t.TempDir()
	const vip = "192.0.2.100"
	conf := func(name string, prio int) string {
		p := filepath.Join(dir, name+".conf")
		writeConf(t, p, instConf{prio: prio, version: 2, advert: "1", vips: []string{vip + "/24"},
			extra: "    use_vmac\n    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n"})
		return p
	}
	slack := 20 * time.Second
	// Strict reverse path filtering on all: the director must still hear keepalived
	// on its macvlan, which has no address (see TestIntegrationVMACDirector).
	nsD.MustExec(t, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1")

	d := startDirector(t, "director", nsD, conf("director", 150))
	eventually(t, "the director alone is MASTER on vrrp.51", slack, func() bool { return addrOn(t, nsD, "vrrp.51", vip+"/24") })

	k := startKeepalived(t, nsK, conf("keepalived", 100))
	eventually(t, "keepalived enters BACKUP", slack, func() bool {
		return strings.Contains(readFile(t, k.log), "Entering BACKUP STATE")
	})
	eventually(t, "keepalived made its vrrp.51", slack, func() bool {
		return strings.Contains(linkDetail(nsK, "vrrp.51"), "link/ether "+vmac51.String())
	})
	// Three advert intervals and the skew pass: keepalived would be MASTER by now if
	// it did not hear the director.
	time.Sleep(5 * time.Second)
	if l := readFile(t, k.log); strings.Contains(l, "Entering MASTER STATE") {
		t.Fatalf("keepalived became MASTER while the director (150) was:\n%s", l)
	}
	if addrOn(t, nsK, "vrrp.51", vip+"/24") {
		t.Fatal("keepalived holds the VIP while the director is MASTER")
	}

	d.signal(syscall.SIGKILL)
	d.wait(slack)
	eventually(t, "keepalived takes over onto its vrrp.51 after the director was killed", slack, func() bool {
		return addrOn(t, nsK, "vrrp.51", vip+"/24")
	})

	// The killed director left vrrp.51 with the VIP; a restart reuses the macvlan and
	// removes the VIP, as BACKUP to keepalived.
	if !addrOn(t, nsD, "vrrp.51", vip+"/24") {
		t.Fatal("the killed director's vrrp.51 should still hold the VIP (nothing cleaned up after SIGKILL)")
	}
	d = startDirector(t, "director", nsD, conf("director", 50))
	eventually(t, "the restarted director (50) is BACKUP to keepalived", slack, func() bool {
		st := d.readStatus()
		return len(st.Instances) == 1 && st.Instances[0].State == "BACKUP" && st.Instances[0].MasterAddr == "192.0.2.2"
	})
	eventually(t, "the stale VIP leaves the reused vrrp.51", slack, func() bool { return !addrOn(t, nsD, "vrrp.51", vip+"/24") })
	if !strings.Contains(linkDetail(nsD, "vrrp.51"), "link/ether "+vmac51.String()) {
		t.Fatal("the restarted director has no vrrp.51")
	}
	if !addrOn(t, nsK, "vrrp.51", vip+"/24") {
		t.Fatal("keepalived lost the VIP to a BACKUP director")
	}

	k.signal(syscall.SIGTERM)
	eventually(t, "the director takes over onto vrrp.51 after keepalived resigned", slack, func() bool {
		return addrOn(t, nsD, "vrrp.51", vip+"/24")
	})
	k.wait(slack)
	if l := linkDetail(nsK, "vrrp.51"); l != "" {
		t.Errorf("keepalived left its vrrp.51:\n%s", l)
	}
	if log := readFile(t, d.log); strings.Contains(log, "level=ERROR") {
		t.Errorf("the director logged errors:\n%s", log)
	}
}

// TestIntegrationVMACXmitBase: with vmac_xmit_base the adverts leave from eth0's
// own MAC while the VIP, and its gratuitous ARP from the virtual MAC, are on the
// macvlan.
func TestIntegrationVMACXmitBase(t *testing.T) {
	directorBinary(t)
	nsD, nsP := pair(t)
	const vip = "192.0.2.100"
	slack := 20 * time.Second
	conf := writeConf(t, filepath.Join(t.TempDir(), "keepalived.conf"), instConf{prio: 150, version: 3, advert: "1",
		vips: []string{vip + "/24"}, extra: "    use_vmac vmac51\n    vmac_xmit_base\n"})
	capt := captureFrames(t, nsP, "eth0")
	var eth0 net.HardwareAddr
	if err := nsD.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err == nil {
			eth0 = ifi.HardwareAddr
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	d := startDirector(t, "director", nsD, conf)
	eventually(t, "the VIP is on vmac51", slack, func() bool { return addrOn(t, nsD, "vmac51", vip+"/24") })
	if !strings.Contains(linkDetail(nsD, "vmac51"), "link/ether "+vmac51.String()) {
		t.Fatalf("vmac51 lacks the virtual MAC:\n%s", linkDetail(nsD, "vmac51"))
	}
	eventually(t, "the peer sees an advert from eth0's MAC", slack, func() bool {
		return capt.find(func(f []byte) bool { return vrrpAdvert(f, "192.0.2.1", 51) && bytes.Equal(f[6:12], eth0) }) != nil
	})
	if f := capt.find(func(f []byte) bool { return vrrpAdvert(f, "192.0.2.1", 51) && !bytes.Equal(f[6:12], eth0) }); f != nil {
		t.Errorf("an advert left with source MAC %s, not eth0's %s", net.HardwareAddr(f[6:12]), eth0)
	}
	eventually(t, "the peer sees a gratuitous ARP from the virtual MAC", slack, func() bool {
		return capt.find(func(f []byte) bool { return garpFor(f, vip) && bytes.Equal(f[14+8:14+14], vmac51) }) != nil
	})
	d.signal(syscall.SIGTERM)
	d.wait(slack)
	if l := linkDetail(nsD, "vmac51"); l != "" {
		t.Errorf("vmac51 outlived the director:\n%s", l)
	}
}

// addr6On reports whether ns holds the IPv6 addr (as "addr/len") on dev.
func addr6On(ns *testenv.NetNS, dev, addr string) bool {
	out, err := ns.Exec("ip", "-6", "-o", "addr", "show", "dev", dev)
	return err == nil && strings.Contains(out, " "+addr+" ")
}

// linkLocal waits for the link-local address of eth0 in ns to finish DAD and
// returns it.
func linkLocal(t *testing.T, ns *testenv.NetNS) string {
	t.Helper()
	var ll string
	eventually(t, "eth0 has a usable link-local address", 20*time.Second, func() bool {
		out := ns.MustExec(t, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
		f := strings.Fields(out)
		if len(f) < 4 || strings.Contains(out, "tentative") {
			return false
		}
		ll, _, _ = strings.Cut(f[3], "/")
		return true
	})
	return ll
}

// vrrp6Advert reports whether f is an IPv6 VRRP packet from src.
func vrrp6Advert(f []byte, src string) bool {
	return len(f) >= 14+40+8 && binary.BigEndian.Uint16(f[12:14]) == unix.ETH_P_IPV6 && f[14+6] == 112 &&
		net.IP(f[14+8:14+24]).String() == src
}

// unsolicitedNA reports whether f is a neighbour advertisement for target.
func unsolicitedNA(f []byte, target string) bool {
	return len(f) >= 14+40+24 && binary.BigEndian.Uint16(f[12:14]) == unix.ETH_P_IPV6 && f[14+6] == 58 &&
		f[14+40] == 136 && net.IP(f[14+40+8:14+40+24]).String() == target
}

// TestIntegrationVMACIPv6KeepalivedInterop runs IPv6 instances with use_vmac (VRRPv3)
// in the director and keepalived 2.2.7: the director's macvlan has the IPv6
// virtual MAC and a copy of eth0's link-local address, its adverts leave from both,
// its NA for the VIP from the virtual MAC; keepalived stays BACKUP and takes over
// when the director is killed; a restarted director is BACKUP to it and takes over
// when keepalived resigns.
func TestIntegrationVMACIPv6KeepalivedInterop(t *testing.T) {
	directorBinary(t)
	testenv.RequireCommand(t, "keepalived")
	nsD, nsK := pair(t)
	llD, llK := linkLocal(t, nsD), linkLocal(t, nsK)
	vmac6 := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x02, 51}
	dir := t.TempDir()
	const vip = "2001:db8::100"
	conf := func(name string, prio int) string {
		return writeConf(t, filepath.Join(dir, name+".conf"), instConf{prio: prio, version: 3, advert: "1",
			vips: []string{vip + "/64"}, extra: "    use_vmac\n"})
	}
	slack := 20 * time.Second
	capt := captureFrames(t, nsK, "eth0")

	d := startDirector(t, "director", nsD, conf("director", 150))
	eventually(t, "the director alone is MASTER on vrrp.51", slack, func() bool { return addr6On(nsD, "vrrp.51", vip+"/64") })
	if l := linkDetail(nsD, "vrrp.51"); !strings.Contains(l, "link/ether "+vmac6.String()) || !strings.Contains(l, "macvlan mode private") {
		t.Errorf("vrrp.51 is not a private macvlan with %s:\n%s", vmac6, l)
	}
	if !addr6On(nsD, "vrrp.51", llD+"/64") {
		t.Errorf("vrrp.51 lacks eth0's link-local address %s:\n%s", llD, nsD.MustExec(t, "ip", "-6", "addr", "show", "dev", "vrrp.51"))
	}
	eventually(t, "keepalived's side sees an advert from the virtual MAC", slack, func() bool {
		return capt.find(func(f []byte) bool { return vrrp6Advert(f, llD) && bytes.Equal(f[6:12], vmac6) }) != nil
	})
	eventually(t, "keepalived's side sees an NA for the VIP from the virtual MAC", slack, func() bool {
		return capt.find(func(f []byte) bool { return unsolicitedNA(f, vip) && bytes.Equal(f[6:12], vmac6) }) != nil
	})

	k := startKeepalived(t, nsK, conf("keepalived", 100))
	eventually(t, "keepalived enters BACKUP", slack, func() bool {
		return strings.Contains(readFile(t, k.log), "Entering BACKUP STATE")
	})
	time.Sleep(5 * time.Second) // past keepalived's master down interval
	if l := readFile(t, k.log); strings.Contains(l, "Entering MASTER STATE") {
		t.Fatalf("keepalived became MASTER while the director (150) was:\n%s", l)
	}

	d.signal(syscall.SIGKILL)
	d.wait(slack)
	eventually(t, "keepalived takes over onto its vrrp.51", slack, func() bool { return addr6On(nsK, "vrrp.51", vip+"/64") })

	d = startDirector(t, "director", nsD, conf("director", 50))
	eventually(t, "the restarted director (50) is BACKUP to keepalived", slack, func() bool {
		st := d.readStatus()
		return len(st.Instances) == 1 && st.Instances[0].State == "BACKUP" && st.Instances[0].MasterAddr == llK
	})
	eventually(t, "the stale VIP leaves the reused vrrp.51", slack, func() bool { return !addr6On(nsD, "vrrp.51", vip+"/64") })
	k.signal(syscall.SIGTERM)
	eventually(t, "the director takes over after keepalived resigned", slack, func() bool { return addr6On(nsD, "vrrp.51", vip+"/64") })
	d.signal(syscall.SIGTERM)
	d.wait(slack)
	if l := linkDetail(nsD, "vrrp.51"); l != "" {
		t.Errorf("vrrp.51 outlived the director:\n%s", l)
	}
	if log := readFile(t, d.log); strings.Contains(log, "level=ERROR") {
		t.Errorf("the director logged errors:\n%s", log)
	}
}

// TestIntegrationVMACReload: a reload (SIGHUP) that adds use_vmac moves the MASTER's
// VIP from eth0 onto a new vrrp.51, and one that removes it moves the VIP back and
// deletes the macvlan, with eth0's sysctls back as they were.
func TestIntegrationVMACReload(t *testing.T) {
	directorBinary(t)
	nsD, _ := pair(t)
	const vip = "192.0.2.100"
	slack := 20 * time.Second
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	conf := func(extra string) {
		writeConf(t, path, instConf{prio: 150, version: 2, advert: "1", vips: []string{vip + "/24"}, extra: extra})
	}
	conf("")
	d := startDirector(t, "director", nsD, path)
	eventually(t, "MASTER with the VIP on eth0", slack, func() bool { return addrOn(t, nsD, "eth0", vip+"/24") })

	conf("    use_vmac\n")
	d.signal(syscall.SIGHUP)
	eventually(t, "the VIP moves onto vrrp.51", slack, func() bool {
		return addrOn(t, nsD, "vrrp.51", vip+"/24") && !addrOn(t, nsD, "eth0", vip+"/24")
	})
	if got := sysctl(t, nsD, "net/ipv4/conf/eth0/arp_ignore"); got != 1 {
		t.Errorf("eth0 arp_ignore = %d with a macvlan on it, want 1", got)
	}

	conf("")
	d.signal(syscall.SIGHUP)
	eventually(t, "the VIP moves back onto eth0 and vrrp.51 goes", slack, func() bool {
		return addrOn(t, nsD, "eth0", vip+"/24") && linkDetail(nsD, "vrrp.51") == ""
	})
	if got := sysctl(t, nsD, "net/ipv4/conf/eth0/arp_ignore"); got != 0 {
		t.Errorf("eth0 arp_ignore = %d after its macvlan went, want 0 as before", got)
	}
	st := d.readStatus()
	if len(st.Instances) != 1 || st.Instances[0].State != "MASTER" {
		t.Errorf("after the reloads: %+v, want VI_1 MASTER", st.Instances)
	}
	if log := readFile(t, d.log); strings.Contains(log, "level=ERROR") {
		t.Errorf("the director logged errors:\n%s", log)
	}
}

// TestIntegrationVMACCapabilitiesOnly runs use_vmac as the user nobody with only
// CAP_NET_ADMIN and CAP_NET_RAW, as the guide's systemd unit does: the macvlan, its
// sysctls (written under /proc/sys, which CAP_NET_ADMIN allows in the namespace),
// the VIP on it, and the clean-up at SIGTERM all work.
func TestIntegrationVMACCapabilitiesOnly(t *testing.T) {
	bin := directorBinary(t)
	testenv.RequireCommand(t, "setpriv")
	os.Chmod(filepath.Dir(bin), 0o755) // nobody must reach the binary
	nsD, _ := pair(t)
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	const vip = "192.0.2.100"
	f := writeConf(t, filepath.Join(dir, "keepalived.conf"), instConf{prio: 150, version: 3, advert: "0.2",
		vips: []string{vip + "/24"}, extra: "    use_vmac\n"})
	os.Chmod(f, 0o644)
	nsD.MustExec(t, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1")
	caps := "-all,+net_admin,+net_raw"
	d := startDirectorVia(t, "director as nobody", nsD, []string{"setpriv", "--reuid=65534", "--regid=65534",
		"--clear-groups", "--inh-caps=" + caps, "--ambient-caps=" + caps, "--bounding-set=" + caps}, f)
	slack := 20 * time.Second
	eventually(t, "MASTER with the VIP on vrrp.51", slack, func() bool { return addrOn(t, nsD, "vrrp.51", vip+"/24") })
	for path, want := range map[string]int{
		"net/ipv4/conf/vrrp.51/arp_ignore":   1,
		"net/ipv4/conf/vrrp.51/accept_local": 1,
		"net/ipv4/conf/eth0/arp_filter":      1,
		"net/ipv4/conf/all/rp_filter":        0,
	} {
		if got := sysctl(t, nsD, path); got != want {
			t.Errorf("%s = %d, want %d", path, got, want)
		}
	}
	if l := readFile(t, d.log); strings.Contains(l, "level=ERROR") {
		t.Errorf("errors in the log:\n%s", l)
	}
	d.signal(syscall.SIGTERM)
	d.wait(slack)
	if l := linkDetail(nsD, "vrrp.51"); l != "" {
		t.Errorf("vrrp.51 outlived the director:\n%s", l)
	}
	if got := sysctl(t, nsD, "net/ipv4/conf/all/rp_filter"); got != 1 {
		t.Errorf("all.rp_filter = %d after stop, want 1 as before", got)
	}
}

// TestIntegrationVMACCrashSweep: a director killed with SIGKILL leaves its marked
// macvlan with the VIP; restarted from a file without use_vmac, it removes both
// and holds the VIP on eth0. A macvlan that is not the director's is left alone.
func TestIntegrationVMACCrashSweep(t *testing.T) {
	directorBinary(t)
	nsD, _ := pair(t)
	const vip = "192.0.2.100"
	slack := 20 * time.Second
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	conf := func(extra string) string {
		return writeConf(t, path, instConf{prio: 150, version: 3, advert: "0.2", vips: []string{vip + "/24"}, extra: extra})
	}
	nsD.MustExec(t, "ip", "link", "add", "link", "eth0", "name", "theirs", "address", "00:00:5e:00:01:09", "type", "macvlan", "mode", "private")

	d := startDirector(t, "director", nsD, conf("    use_vmac\n"))
	eventually(t, "MASTER on vrrp.51", slack, func() bool { return addrOn(t, nsD, "vrrp.51", vip+"/24") })
	if l := linkDetail(nsD, "vrrp.51"); !strings.Contains(l, "alias "+vmacAlias) {
		t.Errorf("vrrp.51 lacks the director's alias:\n%s", l)
	}
	d.signal(syscall.SIGKILL)
	d.wait(slack)
	if !addrOn(t, nsD, "vrrp.51", vip+"/24") {
		t.Fatal("SIGKILL should leave vrrp.51 with the VIP")
	}

	d = startDirector(t, "director", nsD, conf(""))
	eventually(t, "MASTER on eth0", slack, func() bool { return addrOn(t, nsD, "eth0", vip+"/24") })
	eventually(t, "the killed run's vrrp.51 is removed", slack, func() bool { return linkDetail(nsD, "vrrp.51") == "" })
	if linkDetail(nsD, "theirs") == "" {
		t.Error("a macvlan that is not the director's was removed")
	}
	if l := readFile(t, d.log); !strings.Contains(l, "removed a stale macvlan left by an earlier run") || strings.Contains(l, "level=ERROR") {
		t.Errorf("want the removal logged and no error:\n%s", l)
	}
}
