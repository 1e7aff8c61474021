package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// TestIntegrationSameOutputAsIpvsadm loads a table with ipvsadm -R and compares every
// listing format of ipvsctl with ipvsadm's, byte for byte.
func TestIntegrationSameOutputAsIpvsadm(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "ipvsadm")
	ns := testenv.NewNetNS(t)
	dial := func() (*ipvs.Client, error) { return ipvs.Dial(&ipvs.Config{NetNS: ns.Path()}) }
	probe, err := dial()
	if errors.Is(err, ipvs.ErrUnavailable) {
		testenv.SkipOrFail(t, "kernel without IPVS: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	probe.Close()
	adm := func(stdin string, args ...string) string {
		cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, "ipvsadm"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ipvsadm %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	rules := "-A -t 192.0.2.1:80 -s sh -p 300 -M 255.255.255.0 -b sh-fallback,sh-port\n" +
		"-a -t 192.0.2.1:80 -r 198.51.100.10:8080 -m -w 1 -x 100 -y 10\n" +
		"-a -t 192.0.2.1:80 -r 198.51.100.2:80 -g -w 5\n" +
		"-A -u [2001:db8::1]:53 -s rr -o\n" +
		"-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m -w 1\n" +
		"-A --sctp-service 192.0.2.9:5060 -s wrr -p 60\n" +
		"-A -f 100 -6 -s rr\n" +
		"-A -f 7 -s mh -b mh-port\n" +
		"-a -f 7 -r 198.51.100.11:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum\n" +
		"-a -f 7 -r 198.51.100.12:0 -i -w 2 --tun-type gre --tun-csum\n" +
		"-a -f 7 -r 198.51.100.13:0 -i -w 3 --tun-type ipip\n" +
		"-a -f 7 -r 198.51.100.14:0 -i -w 4 --tun-type gue --tun-port 60800 --tun-remcsum\n" +
		"-A -t 10.1.0.1:443 -s wlc\n"
	adm(rules, "-R")
	for _, args := range [][]string{{"-Ln"}, {"-Sn"}, {"-Ln", "--stats"}, {"-Ln", "--rate"}, {"-Ln", "--stats", "--exact"},
		{"-Ln", "--thresholds"}, {"-Ln", "--persistent-conn"}, {"-Ln", "--tun-info"}, {"-Ln", "--timeout"}, {"-Ln", "--daemon"}} {
		want := adm("", args...)
		var out bytes.Buffer
		if err := run(context.Background(), args, nil, &out, dial); err != nil {
			t.Fatalf("ipvsctl %v: %v", args, err)
		}
		if diff := cmp.Diff(want, out.String()); diff != "" {
			t.Errorf("ipvsctl %v differs from ipvsadm (-ipvsadm +ipvsctl):\n%s", args, diff)
		}
	}
	// What ipvsctl -R writes, ipvsadm saves identically.
	saved := adm("", "-Sn")
	adm("", "-C")
	if err := run(context.Background(), []string{"-R"}, strings.NewReader(saved), &bytes.Buffer{}, dial); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(saved, adm("", "-Sn")); diff != "" {
		t.Errorf("after ipvsctl -R (-before +after):\n%s", diff)
	}
}
