package route

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// birdConf learns kernel table 100 into BIRD tables of its own, as doc.go describes,
// without any BGP session (nothing leaves the namespace).
const birdConf = `router id 192.0.2.254;
protocol device {}
ipv4 table vips4;
ipv6 table vips6;
protocol kernel k4 { kernel table 100; learn; scan time 60; ipv4 { table vips4; import all; export none; }; }
protocol kernel k6 { kernel table 100; learn; scan time 60; ipv6 { table vips6; import all; export none; }; }
`

// TestIntegrationBIRDLearns checks the contract with the routing daemon: BIRD 2's
// kernel protocol with learn picks up an announced route from its netlink
// notifications (the scan time is far longer than the wait) and drops it when it is
// withdrawn.
func TestIntegrationBIRDLearns(t *testing.T) {
	testenv.RequireCommand(t, "bird", "birdc")
	ns := testenv.NewNetNS(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "bird.conf")
	sock := filepath.Join(dir, "bird.ctl")
	if err := os.WriteFile(conf, []byte(birdConf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns.Name, "bird", "-f", "-c", conf, "-s", sock, "-P", filepath.Join(dir, "bird.pid"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("bird output:\n%s", out.String())
		}
	})
	show := func(table string) string {
		o, _ := exec.Command("birdc", "-s", sock, "show", "route", "table", table).CombinedOutput()
		return string(o)
	}
	// waitFor polls birdc for up to 5 s until cond holds.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not seen within 5 s; vips4:\n%s\nvips6:\n%s", what, show("vips4"), show("vips6"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("BIRD up", func() bool { return strings.Contains(show("vips4"), "Table vips4") })

	c := dialNS(t, ns, Config{Table: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v4 := netip.MustParsePrefix("192.0.2.10/32")
	v6 := netip.MustParsePrefix("2001:db8::10/128")
	start := time.Now()
	if err := c.Reconcile(ctx, []netip.Prefix{v4, v6}); err != nil {
		t.Fatal(err)
	}
	waitFor("announced routes learned", func() bool {
		return strings.Contains(show("vips4"), "192.0.2.10/32") && strings.Contains(show("vips6"), "2001:db8::10/128")
	})
	t.Logf("BIRD learned both routes %v after Reconcile", time.Since(start).Round(time.Millisecond))
	if s := show("vips4"); !strings.Contains(s, "blackhole") {
		t.Errorf("BIRD's route is not a blackhole:\n%s", s)
	}
	start = time.Now()
	if err := c.Withdraw(ctx, v4); err != nil {
		t.Fatal(err)
	}
	waitFor("withdrawn route dropped", func() bool { return !strings.Contains(show("vips4"), "192.0.2.10/32") })
	t.Logf("BIRD dropped the route %v after Withdraw", time.Since(start).Round(time.Millisecond))
	if err := c.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor("cleaned-up route dropped", func() bool { return !strings.Contains(show("vips6"), "2001:db8::10/128") })
}
