package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/health"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// lvsMeaningScript runs in the qemu guest (vmtest: Debian's kernel with IPVS, no
// network device): for each file named on its command line, keepalived 2.2.7's
// checker programs IPVS from the file and prints its -d dump; as soon as the dump
// shows (init_services has run, the health checks have not), ipvsadm -Sn saves the
// table keepalived built; then keepalived stops and the table is cleared.
const lvsMeaningScript = `#!/bin/sh
mkdir -p /tmp/k /etc
echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd
echo 'root:x:0:' > /etc/group
for f in "$@"; do
  echo "=== FILE $f"
  rm -f /tmp/k/*
  keepalived -f "/corpus/$f" -p /tmp/k/p -r /tmp/k/v -c /tmp/k/c -n -l -D -d --check > /tmp/k/out 2>&1 &
  pid=$!
  i=0
  while [ $i -lt 150 ] && ! grep -q -- '------< LVS Topology >------' /tmp/k/out; do sleep 0.1; i=$((i+1)); done
  echo "=== IPVS"
  ipvsadm -Sn
  echo "=== END IPVS"
  kill $pid; wait $pid
  echo "=== LOG"
  cat /tmp/k/out
  ipvsadm -C
done
echo "=== DONE"
`

// directorTable is the IPVS table the director programs first from cfg: the LVS
// runtime's model with every real server in its initial state (up, or down with
// alpha), before any health check has run. No check runs: the runtime's scheduler
// is stopped before the virtual servers are added.
func directorTable(t *testing.T, cfg *kaconf.Config) []ipvs.VirtualServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	noop := func(*kaconf.Command) {}
	l := newLVSRuntime(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, &metrics{},
		lvsHooks{changed: func() {}, runAsync: noop, runSync: noop, mail: func(string, string) {}}, false, false, false)
	<-l.done
	if err := l.configure(cfg); err != nil {
		for _, e := range splitErrors(err) {
			if !errors.Is(e, health.ErrClosed) {
				t.Fatalf("configure: %v", e)
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.desired()
}

// saveRules renders a table as ipvsadm -Sn lines (the subset of options keepalived's
// and the director's tables use), sorted.
func saveRules(tbl []ipvs.VirtualServer) []string {
	var out []string
	for _, v := range tbl {
		s := v.Service
		var id string
		switch {
		case s.FWMark != 0:
			id = "-f " + strconv.Itoa(int(s.FWMark))
			if s.Family == ipvs.IPv6 {
				id += " -6"
			}
		default:
			sw := map[ipvs.Protocol]string{ipvs.TCP: "-t", ipvs.UDP: "-u", ipvs.SCTP: "--sctp-service"}[s.Protocol]
			id = sw + " " + netip.AddrPortFrom(s.Address, s.Port).String()
		}
		line := "-A " + id + " -s " + string(s.Scheduler)
		if f := s.Flags &^ ipvs.FlagPersistent; f != 0 {
			var fl []string
			for _, n := range []struct {
				f ipvs.ServiceFlags
				s string
			}{{ipvs.FlagSched1, "flag-1"}, {ipvs.FlagSched2, "flag-2"}, {ipvs.FlagSched3, "flag-3"}} {
				if f&n.f != 0 {
					fl = append(fl, n.s)
				}
			}
			if len(fl) > 0 {
				line += " -b " + strings.Join(fl, ",")
			}
			if f&ipvs.FlagOnePacket != 0 {
				line += " -o"
			}
		}
		if s.Flags&ipvs.FlagPersistent != 0 {
			line += " -p " + strconv.Itoa(int(s.Timeout/time.Second))
			if m := s.Netmask; m != 0 && !(s.Family == ipvs.IPv4 && m == 32) && !(s.Family == ipvs.IPv6 && m == 128) {
				if s.Family == ipvs.IPv6 {
					line += " -M " + strconv.Itoa(m)
				} else {
					line += " -M " + maskAddr(m)
				}
			}
		}
		out = append(out, line)
		for _, d := range v.Destinations {
			fwd := map[ipvs.ForwardMethod]string{ipvs.Masquerade: "-m", ipvs.DirectRoute: "-g", ipvs.Tunnel: "-i"}[d.Forward]
			dl := "-a " + id + " -r " + netip.AddrPortFrom(d.Address, d.Port).String() + " " + fwd + " -w " + strconv.Itoa(int(d.Weight))
			if d.UpperThreshold != 0 {
				dl += " -x " + strconv.Itoa(int(d.UpperThreshold))
			}
			if d.LowerThreshold != 0 {
				dl += " -y " + strconv.Itoa(int(d.LowerThreshold))
			}
			out = append(out, dl)
		}
	}
	slices.Sort(out)
	return out
}

func maskAddr(bits int) string {
	var b [4]byte
	for i := 0; i < bits; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(b).String()
}

// checkerString is one health checker as compared: where it connects, what it is and
// its timings, as keepalived 2.2.7's -d dump shows them (check_data.c dump_checker).
func checkerString(dest, method string, alpha bool, delay, warmup time.Duration, retries int, retryDelay, timeout time.Duration, urls []string) string {
	a := "no"
	if alpha {
		a = "yes"
	}
	s := fmt.Sprintf("%s %s alpha=%s delay_loop=%dus warmup=%dus retry=%d delay_before_retry=%dus connect_timeout=%f",
		dest, method, a, delay.Microseconds(), warmup.Microseconds(), retries, retryDelay.Microseconds(), timeout.Seconds())
	for _, u := range urls {
		s += " url{" + u + "}"
	}
	return s
}

// directorChecks are the health checks the director schedules for cfg (healthCheck
// of every checker of every real server), as checkerString, sorted.
func directorChecks(cfg *kaconf.Config) []string {
	var out []string
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			for k := range rs.Checks {
				c := &rs.Checks[k]
				hc := healthCheck(c, vs.Alpha)
				var urls []string
				for _, u := range c.URLs {
					us := u.Path
					if u.Digest != "" {
						us += " digest=" + u.Digest
					}
					var codes []string
					for _, r := range u.StatusCodes {
						if r.Lo == r.Hi {
							codes = append(codes, strconv.Itoa(r.Lo))
						} else {
							codes = append(codes, fmt.Sprintf("%d-%d", r.Lo, r.Hi))
						}
					}
					urls = append(urls, us+" status="+strings.Join(codes, ","))
				}
				dest := "[" + c.ConnectIP.String() + "]:" + strconv.Itoa(int(c.ConnectPort))
				if c.Type == kaconf.CheckMisc && c.Misc != nil {
					dest = "misc{" + strings.Join(c.Misc.Args, " ") + "}"
				}
				out = append(out, checkerString(dest, string(c.Type), hc.StartDown, hc.Interval, hc.Warmup, hc.Retry, hc.RetryDelay, hc.Timeout, urls))
			}
		}
	}
	slices.Sort(out)
	return out
}

// parseCheckers reads the "Health checkers" section of keepalived's -d dump in its
// console log into checkerStrings, sorted.
func parseCheckers(log string) []string {
	var out []string
	in := false
	var (
		dest, method, alpha            string
		delay, warmup, rdelay, timeout string
		retries                        string
		urls                           []string
		cur                            *string // the url being read
		have                           bool
	)
	us := func(v string) time.Duration {
		n, _ := strconv.ParseInt(strings.TrimSuffix(v, " us"), 10, 64)
		return time.Duration(n) * time.Microsecond
	}
	flush := func() {
		if !have {
			return
		}
		r, _ := strconv.Atoi(retries)
		tf, _ := strconv.ParseFloat(timeout, 64)
		out = append(out, checkerString(dest, method, alpha == "yes", us(delay), us(warmup), r, us(rdelay),
			time.Duration(tf*float64(time.Second)), slices.Clone(urls)))
		have, urls, cur = false, nil, nil
	}
	for _, l := range strings.Split(log, "\n") {
		if loc := consoleStamp.FindStringIndex(l); loc != nil {
			l = l[loc[1]:]
		}
		if strings.HasPrefix(l, "------<") {
			if in {
				flush()
			}
			in = strings.Contains(l, "Health checkers")
			continue
		}
		if !in || !strings.HasPrefix(l, " ") {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		text := strings.TrimSpace(l)
		k, v, _ := strings.Cut(text, " = ")
		switch {
		case indent == 1:
			flush()
			have = true
		case indent == 3 && k == "Alpha":
			alpha = v
		case indent == 3 && k == "Delay loop":
			delay = v
		case indent == 3 && k == "Warmup":
			warmup = v
		case indent == 3 && k == "Retries":
			retries = v
		case indent == 3 && k == "Delay before retry":
			rdelay = v
		case indent == 5 && k == "Dest":
			dest = v
		case indent == 5 && k == "Timeout":
			timeout = v
		case indent == 3 && k == "Keepalive method":
			method, _, _ = strings.Cut(v, ",")
		case indent == 3 && k == "Checked url":
			urls = append(urls, v)
			cur = &urls[len(urls)-1]
		case indent == 5 && k == "digest" && cur != nil:
			*cur += " digest=" + v
		case indent == 5 && text == "HTTP Status Code(s)" && cur != nil:
			*cur += " status="
		case indent == 7 && cur != nil:
			if !strings.HasSuffix(*cur, "=") {
				*cur += ","
			}
			*cur += text
		}
	}
	if in {
		flush()
	}
	slices.Sort(out)
	return out
}

// onOff is keepalived's ON/OFF.
func onOff(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

// directorServers are the director's virtual and real servers' settings that the
// IPVS table does not show (quorum, hysteresis, alpha, omega, sorry server,
// inhibit_on_failure), one string each as parseServers writes keepalived's, sorted.
func directorServers(cfg *kaconf.Config) []string {
	var out []string
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		var h string
		switch {
		case vs.Group != "":
			h = "GROUP = [" + vs.Group + "]"
		case vs.FWMark != 0:
			h = "FWMARK = " + strconv.Itoa(int(vs.FWMark))
		default:
			h = fmt.Sprintf("VIP = %s, VPORT = %d", vs.Addr.Addr(), vs.Addr.Port())
		}
		sorry := "none"
		if vs.SorryServer.IsValid() {
			sorry = fmt.Sprintf("[%s]:%s:%d", vs.SorryServer.Addr(), strings.ToLower(string(vs.Protocol)), vs.SorryServer.Port())
		}
		out = append(out, fmt.Sprintf("VS %s alpha=%s omega=%s quorum=%d hysteresis=%d sorry=%s",
			h, onOff(vs.Alpha), onOff(vs.Omega), vs.Quorum, vs.Hysteresis, sorry))
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			port := rs.Addr.Port()
			if vs.FWMark != 0 {
				port = 0 // keepalived shows a fwmark service's real servers without a port
			}
			out = append(out, fmt.Sprintf("RS %s RIP = %s, RPORT = %d, WEIGHT = %d inhibit=%s",
				h, rs.Addr.Addr(), port, rs.Weight, onOff(rs.InhibitOnFailure)))
		}
	}
	slices.Sort(out)
	return out
}

// parseServers reads the virtual and real servers of keepalived's -d dump ("LVS
// Topology") into directorServers' strings, sorted.
func parseServers(log string) []string {
	var out []string
	var vs, rs string
	var alpha, omega, quorum, sorry, inhibit string
	in, inRS := false, false
	flushRS := func() {
		if rs != "" {
			out = append(out, "RS "+vs+" "+rs+" inhibit="+inhibit)
		}
		rs, inhibit = "", ""
	}
	flushVS := func() {
		flushRS()
		if vs != "" {
			out = append(out, fmt.Sprintf("VS %s alpha=%s omega=%s %s sorry=%s", vs, alpha, omega, quorum, sorry))
		}
		vs, alpha, omega, quorum, sorry, inRS = "", "", "", "", "none", false
	}
	groupPort := regexp.MustCompile(`^(GROUP = \[[^]]*\]):\d+$`)
	for _, l := range strings.Split(log, "\n") {
		if loc := consoleStamp.FindStringIndex(l); loc != nil {
			l = l[loc[1]:]
		}
		text := strings.TrimSpace(l)
		indent := len(l) - len(strings.TrimLeft(l, " "))
		switch {
		case strings.HasPrefix(l, "------<"):
			if in {
				flushVS()
			}
			in = strings.Contains(l, "LVS Topology")
		case !in:
		case indent == 1 && strings.HasPrefix(text, "VS "):
			flushVS()
			vs = groupPort.ReplaceAllString(strings.TrimPrefix(text, "VS "), "$1")
		case vs == "":
		case text == "------< Real server >------":
			flushRS()
			inRS = true
		case indent == 3 && inRS && strings.HasPrefix(text, "RIP = "):
			rs, _, _ = strings.Cut(text, " EFF WEIGHT")
		case indent == 3 && inRS && strings.HasPrefix(text, "Inhibit on failure is "):
			inhibit = strings.TrimPrefix(text, "Inhibit on failure is ")
		case indent == 3 && !inRS && strings.HasPrefix(text, "alpha is "):
			alpha = strings.TrimPrefix(text, "alpha is ")
		case indent == 3 && !inRS && strings.HasPrefix(text, "omega is "):
			omega = strings.TrimPrefix(text, "omega is ")
		case indent == 3 && !inRS && strings.HasPrefix(text, "quorum = "):
			q, h, _ := strings.Cut(strings.TrimPrefix(text, "quorum = "), ", hysteresis = ")
			quorum = "quorum=" + q + " hysteresis=" + h
		case indent == 3 && !inRS && strings.HasPrefix(text, "sorry server = "):
			sorry = strings.TrimPrefix(text, "sorry server = ")
		}
	}
	if in {
		flushVS()
	}
	slices.Sort(out)
	return out
}

// applyKnown takes the known differences out of keepalived's list k and the
// director's d: an entry "-X" is one X of keepalived's that the director lacks, "+X"
// one of the director's that keepalived lacks. An entry that does not apply any more
// fails t: it is stale.
func applyKnown(t *testing.T, what string, k, d []string, known map[string]string) ([]string, []string) {
	t.Helper()
	k, d = slices.Clone(k), slices.Clone(d)
	count := func(l []string, x string) int {
		n := 0
		for _, v := range l {
			if v == x {
				n++
			}
		}
		return n
	}
	removeOne := func(l []string, x string) []string {
		i := slices.Index(l, x)
		return slices.Delete(l, i, i+1)
	}
	for _, e := range slices.Sorted(maps.Keys(known)) {
		x := e[1:]
		switch {
		case e[0] == '-' && count(k, x) > count(d, x):
			k = removeOne(k, x)
		case e[0] == '+' && count(d, x) > count(k, x):
			d = removeOne(d, x)
		default:
			t.Errorf("%s %q (%s) no longer differs: remove the entry", what, e, known[e])
		}
	}
	return k, d
}

// checksKnown are the differences, per corpus file, between the health checks
// keepalived 2.2.7 runs and those the director runs ("-" keepalived's, "+" the
// director's checkerString) that are documented, with the reason.
var checksKnown = map[string]map[string]string{
	// SMTP_CHECK host blocks without connect_timeout: keepalived 2.2.7 leaves their
	// timeout at 0, the director gives them the SMTP_CHECK's (10 s here), with a
	// warning at the line (guide: SMTP_CHECK host).
	"upstream/keepalived.conf.SMTP_CHECK": smtpHostTimeouts(
		"[172.16.1.11]:25", "[172.16.1.12]:25", "[192.168.155.10]:25", "[192.168.155.11]:25",
		"[64.233.167.100]:587", "[64.233.167.99]:25"),
	// keepalived 2.2.7 disables a MISC_CHECK whose script it cannot find (the real
	// server then stays up); the director runs it and it fails (guide:
	// enable_script_security; -t warns at the line).
	"upstream/keepalived.conf.misc_check": {
		"+misc{/usr/local/bin/script.sh} MISC_CHECK alpha=no delay_loop=6000000us warmup=6000000us retry=0 delay_before_retry=1000000us connect_timeout=6.000000": "script not found: keepalived disables the checker, the director runs it",
	},
	"upstream/keepalived.conf.misc_check_arg": {
		"+misc{/usr/local/bin/script.sh arg1 arg2} MISC_CHECK alpha=no delay_loop=6000000us warmup=6000000us retry=0 delay_before_retry=1000000us connect_timeout=6.000000": "script not found: keepalived disables the checker, the director runs it",
	},
	// nb_get_retry in a TCP_CHECK: keepalived 2.2.7 does not know it there and keeps
	// retry 1; the reader reads it as retry, with a warning (guide: Where the reader
	// reads a file differently).
	"realworld/rw19_zhangzuoqiang_DevOps.conf": {
		"-[192.168.32.149]:80 TCP_CHECK alpha=no delay_loop=6000000us warmup=6000000us retry=1 delay_before_retry=3000000us connect_timeout=10.000000": "nb_get_retry 3 in TCP_CHECK",
		"+[192.168.32.149]:80 TCP_CHECK alpha=no delay_loop=6000000us warmup=6000000us retry=3 delay_before_retry=3000000us connect_timeout=10.000000": "nb_get_retry 3 in TCP_CHECK",
		"-[192.168.32.151]:80 TCP_CHECK alpha=no delay_loop=6000000us warmup=6000000us retry=1 delay_before_retry=3000000us connect_timeout=10.000000": "nb_get_retry 3 in TCP_CHECK",
		"+[192.168.32.151]:80 TCP_CHECK alpha=no delay_loop=6000000us warmup=6000000us retry=3 delay_before_retry=3000000us connect_timeout=10.000000": "nb_get_retry 3 in TCP_CHECK",
	},
}

// smtpHostTimeouts are the checksKnown entries of SMTP_CHECK hosts at dests without
// connect_timeout in upstream keepalived.conf.SMTP_CHECK.
func smtpHostTimeouts(dests ...string) map[string]string {
	m := map[string]string{}
	for _, d := range dests {
		c := d + " SMTP_CHECK alpha=no delay_loop=60000000us warmup=60000000us retry=2 delay_before_retry=5000000us connect_timeout="
		m["-"+c+"0.000000"] = "host without connect_timeout: keepalived's is 0"
		m["+"+c+"10.000000"] = "host without connect_timeout: the director uses the SMTP_CHECK's"
	}
	return m
}

// lvsKnown are the differences, per corpus file, between the IPVS table keepalived
// 2.2.7 builds and the one the director builds, that are deliberate and documented,
// with the reason; the rules are those of saveRules ("-keepalived" or "+director").
var lvsKnown = map[string]map[string]string{}

// TestIntegrationCorpusMeaningLVS boots the qemu guest once (vmtest, as CI's kernel
// step), runs keepalived 2.2.7's checker there on every corpus file with a
// virtual_server that the director accepts, and compares the IPVS table keepalived
// builds with the one the director builds from the same file, rule by rule; and the
// table keepalived builds from the file with the one it builds from the reader's
// Format output. About 25 s, most of it the guest's boot and software emulation.
func TestIntegrationCorpusMeaningLVS(t *testing.T) {
	testenv.SkipInGuest(t)
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived", "ipvsadm", "qemu-system-x86_64", "go")
	dir := meaningCorpusDir()
	if fi, err := os.Stat(dir); dir == "" || err != nil || !fi.IsDir() {
		t.Skipf("no keepalived.conf corpus at %q (set KACONF_CORPUS)", dir)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal/cmd/vmtest")); err != nil {
		t.Skipf("no vmtest beside this package: %v", err)
	}
	var files []string
	want := map[string][]string{}
	formatted := map[string][]byte{} // the reader's Format output, run by keepalived too
	wantChecks := map[string][]string{}
	wantServers := map[string][]string{}
	for _, pat := range []string{"upstream/*", "realworld/*.conf", "realworld/*/keepalived.conf"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, abs := range m {
			rel, _ := filepath.Rel(dir, abs)
			cfg, err := directorReading(abs)
			if err != nil || len(cfg.VirtualServers) == 0 {
				continue
			}
			files = append(files, rel)
			want[rel] = saveRules(directorTable(t, cfg))
			wantChecks[rel] = directorChecks(cfg)
			wantServers[rel] = directorServers(cfg)
			formatted[rel] = kaconf.Format(cfg)
		}
	}
	if len(files) == 0 {
		t.Skip("no corpus file with a virtual_server that the director accepts")
	}
	work := t.TempDir()
	script := filepath.Join(work, "meaning.sh")
	if err := os.WriteFile(script, []byte(lvsMeaningScript), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "./internal/cmd/vmtest", "-timeout", "3m", "-copy", "keepalived", "-copy", "ipvsadm",
		"-file", script + ":/bin/meaning.sh"}
	err = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		args = append(args, "-file", p+":/corpus/"+rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	runs := slices.Clone(files)
	for _, rel := range files {
		p := filepath.Join(work, "fmt", rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, formatted[rel], 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-file", p+":/corpus/fmt/"+rel)
		runs = append(runs, "fmt/"+rel)
	}
	args = append(args, "-exec", "/bin/meaning.sh "+strings.Join(runs, " "))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "=== DONE") {
		t.Fatalf("vmtest: %v\n%s", err, out)
	}
	got := parseGuestTables(string(out))
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			g, ok := got[rel]
			if !ok {
				t.Fatalf("the guest printed no table for %s", rel)
			}
			k, d := applyKnown(t, "lvsKnown", g.rules, want[rel], lvsKnown[rel])
			if len(g.rules) == 0 {
				t.Errorf("keepalived built no IPVS table from %s:\n%s", rel, kaMessages(g.log))
			}
			t.Logf("%d rules compared", len(k))
			if diff := cmp.Diff(k, d); diff != "" {
				t.Errorf("the IPVS table the director builds differs from keepalived 2.2.7's (-keepalived +director):\n%s\nkeepalived's messages:\n%s", diff, kaMessages(g.log))
			}
			kc, dc := applyKnown(t, "checksKnown", g.checks, wantChecks[rel], checksKnown[rel])
			if diff := cmp.Diff(kc, dc, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("the health checks the director runs differ from keepalived 2.2.7's (-keepalived +director):\n%s\nkeepalived's messages:\n%s", diff, kaMessages(g.log))
				t.Logf("keepalived's:\n%s\nthe director's:\n%s", strings.Join(kc, "\n"), strings.Join(dc, "\n"))
			}
			if len(g.servers) == 0 {
				t.Errorf("no virtual server parsed from keepalived's dump of %s", rel)
			}
			if diff := cmp.Diff(g.servers, wantServers[rel]); diff != "" {
				t.Errorf("the virtual and real servers the director runs differ from keepalived 2.2.7's (-keepalived +director):\n%s", diff)
			}
			f := got["fmt/"+rel]
			if diff := cmp.Diff(g.servers, f.servers); diff != "" {
				t.Errorf("keepalived reads other virtual and real servers from the reader's Format output (-file +formatted):\n%s", diff)
			}
			// A documented difference is the reader's own reading: Format writes it,
			// so keepalived may read the formatted file as the director does.
			known := func(l []string) []string {
				return slices.DeleteFunc(slices.Clone(l), func(c string) bool {
					_, minus := checksKnown[rel]["-"+c]
					_, plus := checksKnown[rel]["+"+c]
					return minus || plus
				})
			}
			if diff := cmp.Diff(known(g.checks), known(f.checks), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("keepalived runs other health checks from the reader's Format output (-file +formatted):\n%s", diff)
			}
			if diff := cmp.Diff(g.rules, f.rules); diff != "" {
				t.Errorf("keepalived builds another IPVS table from the reader's Format output (-file +formatted):\n%s\nkeepalived's messages:\n%s", diff, kaMessages(f.log))
			}
		})
	}
	for rel := range checksKnown {
		if _, ok := want[rel]; !ok {
			t.Errorf("checksKnown names %s, which is not a compared corpus file", rel)
		}
	}
	for rel := range lvsKnown {
		if _, ok := want[rel]; !ok {
			t.Errorf("lvsKnown names %s, which is not a compared corpus file", rel)
		}
	}
}

type guestTable struct {
	rules   []string
	checks  []string // checkerString of each health checker in keepalived's -d dump, sorted
	servers []string // parseServers of the -d dump
	log     string
}

// parseGuestTables splits the guest's console output into each file's ipvsadm -Sn
// rules (sorted) and keepalived's log.
func parseGuestTables(out string) map[string]guestTable {
	res := map[string]guestTable{}
	var file, part string
	var g guestTable
	flush := func() {
		if file != "" {
			slices.Sort(g.rules)
			g.checks = parseCheckers(g.log)
			g.servers = parseServers(g.log)
			res[file] = g
		}
	}
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r", ""), "\n") {
		switch {
		case strings.HasPrefix(l, "=== FILE "):
			flush()
			file, part, g = strings.TrimPrefix(l, "=== FILE "), "", guestTable{}
		case l == "=== IPVS" || l == "=== LOG":
			part = l
		case l == "=== END IPVS" || l == "=== DONE":
			part = ""
		case part == "=== IPVS" && strings.HasPrefix(l, "-"):
			g.rules = append(g.rules, strings.TrimSpace(l))
		case part == "=== LOG":
			g.log += l + "\n"
		}
	}
	flush()
	return res
}
