//go:build linux

package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// edgeTable exercises every option ipvsadm 1.31 takes for -A and -a at its limits:
// smallest and largest values, optional values given and omitted (-p, -M, -s, -w, -r's
// port, the tunnel type), fwmarks of 2^31 and more (printed negative by ipvsadm 1.31),
// IPv6 forms and a tunnel service mixing families. Each line is one command.
var edgeTable = []string{
	"-A -t 192.0.2.1:80 -s sh -p -M 255.255.255.0 -b sh-fallback,sh-port",
	"-a -t 192.0.2.1:80 -r 198.51.100.10:8080 -m -w 65535 -x 2147483647 -y 0",
	"-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -g -w 0 -x 2147483647 -y 2147483647",
	"-a -t 192.0.2.1:80 -r 198.51.100.3 -m",
	"-a -t 192.0.2.1:80 -r 198.51.100.4:1 --masquerading --weight=+7 --u-threshold 1 --l-threshold=1",
	"-A -t 192.0.2.2:65535 -s rr -p 1 -M 128.0.0.0",
	"-a -t 192.0.2.2:65535 -r 198.51.100.5:0 -m -w 1",
	"-A -t 192.0.2.3:0 -s wrr -p 2678400 -M 255.255.255.255",
	"-A --tcp-service=0.0.0.1:1 --scheduler=lc --persistent=5 --netmask=255.255.255.254",
	"-A -u [2001:db8::1]:53 -s rr -o -p 100 -M 1",
	"-a -u [2001:db8::1]:53 -r [2001:db8::10]:0 -m -w 1",
	"-a -u [2001:db8::1]:53 -r 2001:db8::11 -m -w 2",
	"-A -u [2001:db8::2]:1 -p -M 128",
	"-A -u 2001:db8::3 -p 60 -M 64",
	"-A -u [ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535 -s dh -p -M 127",
	"-A --sctp-service 192.0.2.9:5060 -s wrr -p 60",
	"-A --sctp-service 255.255.255.255:65535 -s sed",
	"-A -f 1 -s rr -b flag-1,flag-2,flag-3",
	"-A -f 4294967295 -s nq -p",
	"-A -f 2147483648 -6 -s rr -p -M 1",
	"-A -f 2147483647 -6 -s sh -b flag-3",
	"-A --fwmark-service 3 --ipv6 -s mh -b flag-3,mh-port",
	"-A -f 7 -s mh -b mh-port,mh-fallback",
	"-A -f 7 -6 -s rr",
	"-a -f 7 -6 -r 2001:db8::7 -m -w 3",
	"-a -f 7 -r 198.51.100.11 -i -w 1 --tun-type gue --tun-port 1 --tun-csum",
	"-a -f 7 -r 198.51.100.12 -i --tun-type gre --tun-nocsum",
	"-a -f 7 -r 198.51.100.13:65535 -i -w 3 --tun-type ipip",
	"-a -f 7 -r 198.51.100.14:0 -i -w 4 --tun-type gue --tun-port 65535 --tun-remcsum",
	"-a -f 7 -r 198.51.100.16 -i --tun-type gue --tun-port 6080 --tun-nocsum",
	"-a -f 7 -r 198.51.100.17 -i --tun-type gre",
	"-a -f 7 -r [2001:db8::20]:1 -i --tun-type gre --tun-csum",
	"-a -f 7 -r 198.51.100.15 -i",
	"-a -f 7 -r 2001:db8::21 -i -w 9",
	"-A -t 10.1.0.1:443",
	"-a -t 10.1.0.1:443 -r 10.1.0.2 -g",
	"-A -u 192.0.2.7:53 -o -s rr",
	"-A -t 192.0.2.8:8 -s fo -p 300 -M 0xffff0000",
	"-A -t 192.0.2.10:10 -s ovf -p 10 -M 255.255.0",
	"-A -t 192.0.2.11:11 -s lblc",
	"-E -t 192.0.2.11:11 -s lblcr -p",
	"-e -t 192.0.2.1:80 -r 198.51.100.3 -m -w 3 -x 5",
	"-d -t 192.0.2.2:65535 -r 198.51.100.5:0",
	"-A -u 192.0.2.13:5060 -s rr -p --pe sip",
	"-A -u 192.0.2.14:5060 -s rr --pe sip",
	"-A -t 192.0.2.12:12 -s lc",
	"-D -t 192.0.2.12:12",
	// -M takes any IPv4 mask (inet_aton), a prefix or not; without -p it is kept but
	// not listed, and -E without -M puts back 255.255.255.255.
	"-A -t 192.0.2.50:80 -p -M 24",
	"-A -t 192.0.2.51:80 -p 1 -M 0.0.0.0",
	"-A -t 192.0.2.52:80 -p -M 255.0.255.0",
	"-A -t 192.0.2.53:80 -p -M 255.255",
	"-A -t 192.0.2.54:80 -M 255.255.255.0",
	"-A -t 192.0.2.55:80 -p 9 -M 0.255.255.255",
	"-E -t 192.0.2.55:80 -p 5",
	"-A -f 8 -p -M 254.255.255.255",
	// IPv4-mapped IPv6 addresses are IPv6 services and servers.
	"-A -u [::ffff:192.0.2.60]:53 -s rr",
	"-a -u [::ffff:192.0.2.60]:53 -r 2001:db8::60 -m",
	"-A -t ::ffff:192.0.2.61 -p 7",
	// popt takes a short option's value after '=' too, and long ones with '='.
	"-A -t=192.0.2.62:80 -s=rr -p=30",
	"-a -t 192.0.2.62:80 -r=198.51.100.62:8080 -m -w=3 -x=4 -y=2",
	"-A --udp-service=192.0.2.63:1 --scheduler=wrr --ops --persistent --pe=sip --sched-flags=flag-1",
	"-a -t 192.0.2.2:65535 -r 198.51.100.6 -m -w 2147483647",
	// A server at a local address is forwarded Local (listed so, saved as -g).
	"-A -u 192.0.2.70:5353 -s rr -p 60",
	"-a -u 192.0.2.70:5353 -r 127.0.0.1:5353 -m",
	"-a -u 192.0.2.70:5353 -r 198.51.100.70:5353 -m -w 0",
	"-Z",
	"-Z -t 192.0.2.1:80",
	"--set 2678400 0 1",
}

// listings are the commands whose output is compared byte for byte.
var listings = [][]string{
	{"-Ln"}, {"-Sn"}, {"-Ln", "--stats"}, {"-Ln", "--rate"}, {"-Ln", "--stats", "--exact"}, {"-Ln", "--rate", "-X"},
	{"-Ln", "--thresholds"}, {"-Ln", "--persistent-conn"}, {"-Ln", "--tun-info"}, {"-Ln", "--nosort"},
	{"-Sn", "--nosort"}, {"-Ln", "--sort"}, {"-Ln", "--timeout"}, {"-Ln", "--daemon"}, {"-Lnc"},
	{"-Lnc", "--persistent-conn"}, {"-l", "-n", "-t", "192.0.2.1:80", "--stats"}, {"-Ln", "-f", "7", "--tun-info"},
	{"-Ln", "-f", "4294967295"}, {"-L", "--numeric", "-u", "[2001:db8::1]:53", "--thresholds"},
	{"-Ln", "-u", "[::ffff:192.0.2.60]:53", "--tun-info"}, {"-Ln", "-t", "192.0.2.52:80", "--persistent-conn"},
	{"-Ln", "--persistent-conn", "--nosort", "-u", "192.0.2.70:5353"}, {"-S", "--numeric"},
	{"-Ln", "--exact"}, {"-Ln", "--syncid", "5"}, {"-Ln", "--sort", "--nosort"}, {"-Ln", "--tun-info", "--exact", "--nosort"},
	{"--list", "--numeric", "--fwmark-service", "7", "--ipv6"},
}

// badInputs are command lines ipvsadm refuses (or takes) with a given exit status; ipvsctl
// must exit the same way. They run where edgeTable was applied.
var badInputs = []string{
	"-A -t 192.0.2.20:80 -p 0", "-A -t 192.0.2.20:80 -p 2678401", "-A -t 192.0.2.20:80 -p x",
	"-a -t 192.0.2.1:80 -r 198.51.100.30 -w 65536", "-a -t 192.0.2.1:80 -r 198.51.100.30 -w -1",
	"-a -t 192.0.2.1:80 -r 198.51.100.30 -w 2147483647",
	"-a -t 192.0.2.1:80 -r 198.51.100.30 -x 2147483648", "-a -t 192.0.2.1:80 -r 198.51.100.30 -y -1",
	"-A -f 0", "-A -f 4294967296", "-A -f -1", "-A -f 1x",
	"-A -t 192.0.2.20:0", "-A -t 192.0.2.20:80 -o", "-A -t 192.0.2.20:80 -b sh-port",
	"-A -t 192.0.2.20:80 -s sh -b flag-4", "-A -t 192.0.2.20:80 -s mh -b sh-fallback",
	"-t 192.0.2.20:80 -A", "-A -t 192.0.2.20:80 -6", "-A -6 -f 5",
	"-a -t 192.0.2.1:80 -r 198.51.100.30 -m --tun-type gue", "-a -t 192.0.2.1:80 -r 198.51.100.30 -i --tun-type gue",
	"-a -t 192.0.2.1:80 -r 198.51.100.30 -i --tun-type gre --tun-remcsum",
	"-a -t 192.0.2.1:80 -r 198.51.100.30 -i --tun-type ipip --tun-port 5",
	"-a -t 192.0.2.1:80 -r 198.51.100.30 -i --tun-type gue --tun-port 0",
	"-a -t 192.0.2.1:80 -r 198.51.100.30 -i --tun-type gue --tun-port 5 --tun-csum --tun-nocsum",
	"-a -t 192.0.2.1:80 -r 198.51.100.30 -i --tun-type vxlan",
	"-a -t 192.0.2.1:80 -r [2001:db8::1]:80 -m", "-a -t 192.0.2.1:80 -r 198.51.100.30 -w 5 -w 6",
	"-a -t 192.0.2.1:80 -r 198.51.100.30 -g -m", "-A -t 192.0.2.20:80 -w 5", "-A -t 192.0.2.20:80 -t 192.0.2.21:80",
	"-A -t 192.0.2.20:80 -D", "-L --stats --timeout", "-L -t 192.0.2.1:80 --daemon", "-L -c --rate",
	"-A -t 1234", "-A -t [2001:db8::1]", "-A -t 192.0.2.20:65536", "-A -t 192.0.2.20:-1", "-A -t 192.0.2.256:80",
	"-A -u 2001:db8::30 -M 129", "-A -u 2001:db8::30 -p -M 0",
	"--set 1 2", "--set 1 2 3 4", "--set 2678401 0 0", "--set -1 0 0", "--set 0 0 0",
	"--bogus", "-A -t", "-Q", "-L extra", "-S -t 192.0.2.1:80", "-C -n", "-R -n",
	"--start-daemon foo", "--start-daemon master --syncid 256", "--start-daemon master --mcast-port 0",
	"--start-daemon master --mcast-ttl 0", "--start-daemon master --sync-maxlen 65508",
	"--start-daemon master --mcast-group 192.0.2.1", "--start-daemon master --mcast-group ff02::1:80:",
	"--stop-daemon backup --mcast-port 5",
	"-A -t 192.0.2.1:80", "-D -t 192.0.2.99:80", "-d -t 192.0.2.1:80 -r 198.51.100.99",
	"-e -t 192.0.2.1:80 -r 198.51.100.99 -m", "-A -t 192.0.2.20:80 -s abcdefghijklmnopqrstuvwxyz",
	"-A -t 192.0.2.20:80 -s nosuch", "-A -t 192.0.2.20:80 -s twos", "-Z -t 192.0.2.99:80", "-L -t 192.0.2.99:80",
	"-a -t 192.0.2.1:80 -r 198.51.100.31 -m -w 0 -x 0 -y 0", "-a -t 192.0.2.1:80 -r [192.0.2.32]:99 -m",
	// The kernel refuses an IPv4-mapped real server.
	"-a -u [::ffff:192.0.2.60]:53 -r [::ffff:198.51.100.60]:5353 -m -w 5", "-a -u [2001:db8::1]:53 -r [::ffff:198.51.100.61]:0 -m -w 2",
	// popt's errors (255) come after the values before them are checked (2).
	"-A -t 192.0.2.20:80 -p x --bogus", "-A -t 192.0.2.20:80 --bogus -p x", "-A -t 192.0.2.20:80 -w",
	"-A -t 192.0.2.20:80 -w 5 -s", "-L --numeric=1", "-Ln --stats=x", "-L -n5", "-h", "-v", "--version --bogus",
	"-h -A", "-A -h", "-A -t 192.0.2.20:80 -", "-A -- -t 192.0.2.20:80", "-A -t 192.0.2.20:80 -6",
	"-A -u 2001:db8::30 -M 64x -p", "-A -u 2001:db8::30 -M -1", "-A -t 192.0.2.20:80 -M 256.0.0.0",
	"-A -t 192.0.2.20:80 -M 1.2.3.4.5", "-A -t 192.0.2.20:80 -M 0x100000000", "-A -f 5 -6 -M 129",
	"-A -t 192.0.2.1:80 -p --pe", "-a -t 192.0.2.1:80 -r 198.51.100.40 -x 2147483647 -y 2147483648",
	"--start-daemon master --mcast-interface", "--start-daemon backup --syncid -1", "--stop-daemon",
	"-Z -f 99", "-E -t 192.0.2.99:80", "-e -t 192.0.2.99:80 -r 198.51.100.1", "-L -c -t 192.0.2.1:80",
	"-L --tun-info --thresholds", "-Lc --persistent-conn --daemon", "-S -c", "-R extra",
	"--start-daemon master --mcast-interface abcdefghijklmnopqrst", "-L -f 99", "-Ln -f 3 -6 --stats",
	"-A -t 192.0.2.20:80 -s wrr -b flag-2,,flag-1", "-D -t 192.0.2.20:80", "-L -n -n", "-Ln --stats --stats",
	"-Sn --nosort", "-L --tun-info -c", "-Ln --persistent-conn --timeout",
	// Not here: "-b ," (no flag at all), which crashes ipvsadm 1.31 (strtok finds no
	// token and the first comparison reads NULL); ipvsctl takes it as no flags.
}

// oddArgs are command lines with words that strings.Fields cannot produce (empty or
// with spaces); each runs in both namespaces and the services it may add are deleted.
var oddArgs = [][]string{
	{"-A", "-t", "192.0.2.21:80", "-p", ""}, {"-A", "-t", "192.0.2.21:80", "-s", ""},
	{"-A", "-t", "192.0.2.22: 80", "-p", " 7"}, {"-A", "-t", " 192.0.2.23:80"}, {"-A", "-t", "192.0.2.24:80", "-b", ""},
	{"-A", "-t", "192.0.2.25:80", "-M", ""}, {"-A", "-t", "192.0.2.26:80", "--persistent="},
	{"-A", "-t", "192.0.2.27:80", "-w", " 1"},
}

// restores are -R inputs whose exit status, output and resulting table ipvsctl must
// share with ipvsadm: comments are not skipped, a refused change fails only its line, the
// exit status is the last line's, a parse error stops with the lines before it applied
// and a popt error after the command fails its line only, commands other than changes
// run in their turn.
var restores = []string{
	"-A -t 192.0.2.80:80\n# a comment\n-A -t 192.0.2.81:80\n",
	"-A -t 192.0.2.80:80\n-A -t 192.0.2.81:80 # a comment\n-A -t 192.0.2.82:80\n",
	"-A -t 192.0.2.80:80\n-A -t 192.0.2.80:80\n-A -t 192.0.2.81:80\n",
	"-A -t 192.0.2.80:80\n-A -t 192.0.2.81:80\n-A -t 192.0.2.80:80\n",
	"-A -t 192.0.2.80:80 -s rr\n-a -t 192.0.2.80:80 -r 198.51.100.1 -m\n-L -n\n-A -t 192.0.2.81:80\n-S -n\n",
	"ipvsadm -A -t 192.0.2.80:80\n\n   \nipvsadm\n-a -t 192.0.2.80:80 -r 198.51.100.1\t-w 2 ipvsadm -m\r\n\t-A\t-u 192.0.2.80:53",
	"-A -t 192.0.2.80:80\n-A -t 192.0.2.81:80 -w 5\n-A -t 192.0.2.82:80\n",
	"-A -t 192.0.2.80:80\n-A -t 192.0.2.81:80 --bogus\n-A -t 192.0.2.82:80\n",
	"-A -t 192.0.2.80:80\n-A -t 192.0.2.81:80 --bogus\n",
	"-A -t 192.0.2.80:80\n--bogus\n-A -t 192.0.2.82:80\n",
	"-A -t 192.0.2.80:80\n-R\n-A -t 192.0.2.82:80\n",
	"-A -t 192.0.2.80:80\n-h\n-A -t 192.0.2.82:80\n",
	"-A -t 192.0.2.80:80\n-C\n-A -t 192.0.2.82:80\n-Z\n--set 10 20 30\n-L --timeout\n-D -t 192.0.2.82:80\n-D -t 192.0.2.82:80\n",
	"-A -t 192.0.2.80:80\n-a -t 192.0.2.80:80 -r 198.51.100.1 -m\n-d -t 192.0.2.80:80 -r 198.51.100.1\n-e -t 192.0.2.80:80 -r 198.51.100.1\n-E -t 192.0.2.80:80 -s rr -p\n",
}

type result struct {
	stdout string
	code   int
	stderr string // not compared: ipvsctl's messages are its own
}

// runIn runs name with args in ns, with stdin.
func runIn(t *testing.T, ns *testenv.NetNS, stdin string, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return result{out.String(), cmd.ProcessState.ExitCode(), errb.String()}
}

// TestIntegrationSameAsIpvsadm applies edgeTable with ipvsadm in one namespace and with
// ipvsctl in another, one command at a time, and checks that: both take or refuse each
// line with the same exit status; ipvsadm lists both tables identically in every format;
// ipvsctl lists ipvsadm's table byte for byte as ipvsadm does; what ipvsctl -R restores
// from ipvsadm -Sn, ipvsadm saves identically; and both exit the same way on badInputs.
func TestIntegrationSameAsIpvsadm(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ipvsadm")
	admNS, ctlNS := testenv.NewNetNS(t), testenv.NewNetNS(t)
	probe, err := ipvs.Dial(&ipvs.Config{NetNS: admNS.Path()})
	if errors.Is(err, ipvs.ErrUnavailable) {
		testenv.SkipOrFail(t, "kernel without IPVS: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	probe.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	adm := func(ns *testenv.NetNS, stdin string, args ...string) result {
		return runIn(t, ns, stdin, nil, "ipvsadm", args...)
	}
	ctl := func(ns *testenv.NetNS, stdin string, args ...string) result {
		return runIn(t, ns, stdin, []string{"IPVSCTL_TEST_MAIN=1"}, self, args...)
	}
	// Both namespaces get an eth0, the sync daemon's default interface.
	testenv.Veth(t, admNS, "eth0", ctlNS, "eth0")

	for _, line := range edgeTable {
		a, c := adm(admNS, "", strings.Fields(line)...), ctl(ctlNS, "", strings.Fields(line)...)
		if a.code != 0 || c.code != a.code {
			t.Errorf("%s: ipvsadm exit %d, ipvsctl exit %d", line, a.code, c.code)
		}
	}
	for _, d := range []string{"--start-daemon master --syncid 255 --sync-maxlen 65507 --mcast-group 239.255.255.255 --mcast-port 65535 --mcast-ttl 255",
		"--start-daemon backup --mcast-interface eth0 --syncid 0 --mcast-group ff02::1:2 --mcast-port 1 --mcast-ttl 1 --sync-maxlen 1"} {
		a, c := adm(admNS, "", strings.Fields(d)...), ctl(ctlNS, "", strings.Fields(d)...)
		if c.code != a.code {
			t.Errorf("%s: ipvsadm exit %d, ipvsctl exit %d", d, a.code, c.code)
		}
	}
	for _, args := range listings {
		want := adm(admNS, "", args...)
		want.stderr = ""
		// Without sorting, the order is the kernel's hash order, which differs
		// between namespaces.
		got := adm(ctlNS, "", args...)
		got.stderr = ""
		if !slices.Contains(args, "--nosort") && got != want {
			t.Errorf("ipvsadm %v on the table ipvsctl applied differs (-applied by ipvsadm +by ipvsctl):\n%s", args, cmp.Diff(want, got, cmp.AllowUnexported(result{})))
		}
		got = ctl(admNS, "", args...)
		got.stderr = ""
		if got != want {
			t.Errorf("ipvsctl %v differs from ipvsadm (-ipvsadm +ipvsctl):\n%s", args, cmp.Diff(want, got, cmp.AllowUnexported(result{})))
		}
	}
	for _, d := range []string{"--stop-daemon master", "--stop-daemon backup"} {
		a, c := adm(admNS, "", strings.Fields(d)...), ctl(ctlNS, "", strings.Fields(d)...)
		if c.code != a.code {
			t.Errorf("%s: ipvsadm exit %d, ipvsctl exit %d", d, a.code, c.code)
		}
	}

	// ipvsadm 1.31 saves lines it cannot restore itself: a fwmark of 2^31 or more as a
	// negative number, and "-b " with no value for sh or mh with only flag-3 set. Both
	// refuse such a line; the rest must come back unchanged.
	saved := adm(admNS, "", "-Sn").stdout
	var restorable, negative []string
	for _, l := range strings.SplitAfter(saved, "\n") {
		if strings.Contains(l, "-f -") || strings.HasSuffix(l, " -b \n") {
			negative = append(negative, l)
		} else {
			restorable = append(restorable, l)
		}
	}
	if len(negative) == 0 {
		t.Errorf("no unrestorable line in ipvsadm -Sn:\n%s", saved)
	}
	for _, l := range negative {
		if a, c := adm(ctlNS, l, "-R"), ctl(ctlNS, l, "-R"); a.code == 0 || c.code != a.code {
			t.Errorf("restoring %q: ipvsadm exit %d, ipvsctl exit %d", l, a.code, c.code)
		}
	}
	ctl(ctlNS, "", "-C")
	if r := ctl(ctlNS, "ipvsadm "+strings.Join(restorable, "ipvsadm "), "-R"); r.code != 0 {
		t.Fatalf("ipvsctl -R exit %d: %s", r.code, r.stderr)
	}
	if diff := cmp.Diff(strings.Join(restorable, ""), adm(ctlNS, "", "-Sn").stdout); diff != "" {
		t.Errorf("ipvsadm -Sn after ipvsctl -R (-saved +restored):\n%s", diff)
	}

	for _, line := range badInputs {
		// ctlNS holds the same table as admNS but the negative fwmarks, which no line
		// here names.
		a, c := adm(admNS, "", strings.Fields(line)...), ctl(ctlNS, "", strings.Fields(line)...)
		if c.code != a.code {
			t.Errorf("%s: ipvsadm exit %d, ipvsctl exit %d", line, a.code, c.code)
		}
		if a.code == 0 && c.code == 0 {
			t.Logf("%s: taken by both", line)
		}
	}
	for _, args := range oddArgs {
		a, c := adm(admNS, "", args...), ctl(ctlNS, "", args...)
		if c.code != a.code {
			t.Errorf("%q: ipvsadm exit %d, ipvsctl exit %d", args, a.code, c.code)
		}
		if a.code == 0 {
			if got, want := adm(ctlNS, "", "-Ln", args[1], args[2]), adm(admNS, "", "-Ln", args[1], args[2]); got != want {
				t.Errorf("%q: the service ipvsctl made lists differently (-ipvsadm's +ipvsctl's):\n%s", args, cmp.Diff(want, got, cmp.AllowUnexported(result{})))
			}
		}
		adm(admNS, "", "-D", args[1], args[2])
		adm(ctlNS, "", "-D", args[1], args[2])
	}
	if a, c := adm(admNS, "", "-p", " 5"), ctl(ctlNS, "", "-p", " 5"); a.code != c.code {
		t.Errorf("-p ' 5' first: ipvsadm exit %d, ipvsctl exit %d", a.code, c.code)
	}
	for _, p := range []string{" 5", "+5", "5 ", "05"} {
		args := []string{"-A", "-t", "192.0.2.40:80", "-p", p}
		a, c := adm(admNS, "", args...), ctl(ctlNS, "", args...)
		if c.code != a.code {
			t.Errorf("-p %q: ipvsadm exit %d, ipvsctl exit %d", p, a.code, c.code)
		}
		adm(admNS, "", "-D", "-t", "192.0.2.40:80")
		adm(ctlNS, "", "-D", "-t", "192.0.2.40:80")
	}

	// -R, in namespaces of their own: the same status, output and resulting table.
	admR, ctlR := testenv.NewNetNS(t), testenv.NewNetNS(t)
	for _, in := range restores {
		adm(admR, "", "-C")
		adm(ctlR, "", "-C")
		a, c := adm(admR, in, "-R"), ctl(ctlR, in, "-R")
		if strings.Contains(in, "\n-h\n") {
			a.stdout, c.stdout = "", "" // each program's help is its own
		}
		if c.code != a.code || c.stdout != a.stdout {
			t.Errorf("-R of %q: ipvsctl differs from ipvsadm (-ipvsadm +ipvsctl):\n%s", in, cmp.Diff(a, c, cmp.AllowUnexported(result{}), cmpopts.IgnoreFields(result{}, "stderr")))
		}
		for _, args := range [][]string{{"-Sn"}, {"-Ln", "--timeout"}} {
			if want, got := adm(admR, "", args...), adm(ctlR, "", args...); got != want {
				t.Errorf("-R of %q: ipvsadm %v after ipvsadm -R and ipvsctl -R (-ipvsadm's +ipvsctl's):\n%s", in, args, cmp.Diff(want, got, cmp.AllowUnexported(result{})))
			}
		}
	}

	// Counters, rates and connections: traffic to 192.0.2.70:5353 (persistent, one
	// Local server) and to [2001:db8::70]:5353 from inside admNS, then every listing that shows them. The rate
	// estimator and the connection timers move, so each comparison is retried until
	// ipvsadm prints the same thing before and after ipvsctl.
	admNS.MustExec(t, "ip", "addr", "add", "192.0.2.70/32", "dev", "lo")
	admNS.MustExec(t, "ip", "addr", "add", "2001:db8::70/128", "dev", "lo", "nodad")
	for _, l := range []string{"-A -u [2001:db8::70]:5353 -s wrr -p 30 -M 96", "-a -u [2001:db8::70]:5353 -r [2001:db8::71]:5300 -m -w 3"} {
		if r := adm(admNS, "", strings.Fields(l)...); r.code != 0 {
			t.Fatalf("ipvsadm %s: exit %d: %s", l, r.code, r.stderr)
		}
	}
	err = admNS.Do(func() error {
		// Unconnected sockets: nothing listens behind the Local server, and the port
		// unreachable errors would fail a connected socket's next write.
		to := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 70), Port: 5353}
		for port := 0; port < 3; port++ {
			conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				return err
			}
			for i := 0; i < 20*(port+1); i++ {
				if _, err := conn.WriteTo(make([]byte, 100*(i+1)), to); err != nil {
					conn.Close()
					return err
				}
			}
			conn.Close()
		}
		conn, err := net.ListenPacket("udp6", "[2001:db8::70]:0")
		if err != nil {
			return err
		}
		defer conn.Close()
		for i := 0; i < 10; i++ {
			if _, err := conn.WriteTo(make([]byte, 64), &net.UDPAddr{IP: net.ParseIP("2001:db8::70"), Port: 5353}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("traffic in %s: %v", admNS.Name, err)
	}
	stable := func(args ...string) {
		t.Helper()
		for attempt := 0; attempt < 8; attempt++ {
			a1 := adm(admNS, "", args...)
			c := ctl(admNS, "", args...)
			a2 := adm(admNS, "", args...)
			a1.stderr, a2.stderr, c.stderr = "", "", ""
			if a1 != a2 {
				continue
			}
			if c != a1 {
				t.Errorf("ipvsctl %v with traffic differs from ipvsadm (-ipvsadm +ipvsctl):\n%s", args, cmp.Diff(a1, c, cmp.AllowUnexported(result{})))
			}
			return
		}
		t.Errorf("ipvsadm %v printed something else each time", args)
	}
	if out := adm(admNS, "", "-Lnc").stdout; !strings.Contains(out, "192.0.2.70:5353") || !strings.Contains(out, "[2001:db8::70]:5353") {
		t.Errorf("no connection to 192.0.2.70:5353 after the traffic:\n%s", out)
	}
	for _, args := range [][]string{{"-Ln", "--stats"}, {"-Ln", "--stats", "--exact"}, {"-Ln", "--rate"}, {"-Ln", "--rate", "-X"},
		{"-Ln"}, {"-Ln", "--persistent-conn"}, {"-Ln", "--thresholds"}, {"-Lnc"}, {"-Lnc", "--persistent-conn"},
		{"-Ln", "-u", "192.0.2.70:5353", "--stats"}, {"-Ln", "-u", "192.0.2.70:5353", "--rate", "--exact"},
		{"-Sn"}, {"-Ln", "-u", "[2001:db8::70]:5353", "--stats"}} {
		stable(args...)
	}
	adm(admNS, "", "-Z", "-u", "192.0.2.70:5353")
	stable("-Ln", "--stats")
}
