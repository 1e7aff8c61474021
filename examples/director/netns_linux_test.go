package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestIntegrationNetNamespace starts the director in the host's namespace with a file
// whose net_namespace names a namespace made with ip netns: it runs there, as the same
// process, and becomes MASTER there; -t looks for interfaces there and names the line
// of a namespace that does not exist.
func TestIntegrationNetNamespace(t *testing.T) {
	bin := directorBinary(t)
	nsA, _ := pair(t)
	dir := t.TempDir()
	const vip = "192.0.2.100"
	conf := writeConf(t, filepath.Join(dir, "keepalived.conf"), instConf{prio: 150, version: 3, advert: "0.1",
		vips: []string{vip + "/24"}, head: "net_namespace " + nsA.Name + "\n"})

	// -t finds eth0 in the namespace (the host has its own interfaces, but a name
	// only the namespace has shows where it looked).
	other := testenv.NewNetNS(t)
	testenv.Veth(t, nsA, "lvsnstest0", other, "peer0")
	check := strings.Replace(readFile(t, conf), "interface eth0", "interface lvsnstest0", 1)
	for _, tc := range []struct {
		name, head string
		ok         bool
		want       string
	}{
		{"in the namespace", "", true, "configuration OK"},
		{"without net_namespace", "#", true, "interface lvsnstest0 for vrrp_instance VI_1 does not exist"},
		{"a namespace that does not exist", "net_namespace lvskit-none-" + nsA.Name[7:] + "\n", false,
			"keepalived.conf:4: net_namespace lvskit-none-" + nsA.Name[7:] + ": open /var/run/netns/lvskit-none-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := check
			switch {
			case tc.head == "#":
				c = strings.Replace(c, "net_namespace", "# net_namespace", 1)
			case tc.head != "":
				c = strings.Replace(c, "net_namespace "+nsA.Name+"\n", tc.head, 1)
			}
			f := filepath.Join(t.TempDir(), "keepalived.conf")
			if err := os.WriteFile(f, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-t", "-f", f).CombinedOutput()
			if (err == nil) != tc.ok || !strings.Contains(string(out), tc.want) {
				t.Fatalf("director -t: %v\n%s\nwant ok=%v and %q", err, out, tc.ok, tc.want)
			}
			if tc.ok && tc.head == "" && strings.Contains(string(out), "does not exist") {
				t.Fatalf("director -t looked for interfaces outside the namespace:\n%s", out)
			}
		})
	}

	// The daemon, started in the host's namespace.
	logf := filepath.Join(dir, "log")
	out, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: "director", ns: nsA, log: logf, status: filepath.Join(dir, "status.json"), done: make(chan struct{})}
	p.cmd = exec.Command(bin, "-f", conf, "-status-file", p.status, "-log-level", "debug")
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); out.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("director log:\n%s", readFile(t, logf))
		}
	})
	eventually(t, "the director becomes MASTER in the namespace", 20*time.Second, func() bool { return hasAddr(t, nsA, vip+"/24", "") })
	if st := p.readStatus(); len(st.Instances) != 1 || st.Instances[0].State != "MASTER" {
		t.Fatalf("status %+v, want one MASTER instance", st.Instances)
	}
	// The process we started is the one in the namespace: exec kept its PID.
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var want syscall.Stat_t
	if err := syscall.Stat("/var/run/netns/"+nsA.Name, &want); err != nil {
		t.Fatal(err)
	}
	if link != fmt.Sprintf("net:[%d]", want.Ino) {
		t.Fatalf("director %d is in %s, want the namespace's net:[%d]", p.cmd.Process.Pid, link, want.Ino)
	}
	// A reload that changes the namespace is refused, as keepalived refuses it,
	// and the director keeps running in its namespace.
	if err := os.WriteFile(conf, []byte(strings.Replace(readFile(t, conf), "net_namespace "+nsA.Name, "net_namespace elsewhere", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGHUP)
	eventually(t, "the reload is refused", 20*time.Second, func() bool {
		return strings.Contains(readFile(t, logf), "net_namespace cannot change while running")
	})
	if !hasAddr(t, nsA, vip+"/24", "") {
		t.Fatal("the VIP went at the refused reload")
	}
	p.signal(syscall.SIGTERM)
	p.wait(20 * time.Second)
	if hasAddr(t, nsA, vip+"/24", "") {
		t.Fatal("the VIP stayed after the stop")
	}
}
