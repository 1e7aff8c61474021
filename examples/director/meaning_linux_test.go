package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/vip"
	"github.com/lvskit/lvskit/vrrp"
)

// This file compares what the director runs with what keepalived 2.2.7 runs, for every
// file of the keepalived.conf corpus (../shared/keepalived-corpus) that both accept:
// keepalived's own account of its parsed configuration (the data dump it writes on
// SIGUSR1, and its -d dump at startup for the initial states) against the same values
// derived by the director from the same file (the vrrp.Config, VIPs, announcement
// policy and trackers of vrrpconf.go, the static addresses and the routes), and
// keepalived's account of the file against its account of the reader's Format output.
// The LVS side, which needs IPVS, is meaning_lvs_linux_test.go's, in the qemu guest.
//
// Differences are either fixed, or named with their reason: meaningAlways for what
// differs in every file that uses a field, meaningKnown per file. Anything else fails.

// meaningCorpusDir finds the corpus: $KACONF_CORPUS, or shared/keepalived-corpus in the
// nearest directory above this one that has it. It is read where it is, never copied
// into the repository.
func meaningCorpusDir() string {
	if d := os.Getenv("KACONF_CORPUS"); d != "" {
		return d
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		return ""
	}
	for {
		c := filepath.Join(dir, "shared", "keepalived-corpus")
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// kaMeaning is keepalived's account of a configuration, or the director's rendered the
// same way: per entity ("instance VI_1", "sync group G", "script S", "global"), per
// field of keepalived's dump, the values (one for a scalar, the items for a list).
type kaMeaning map[string]map[string][]string

// meaningFields are the dump fields compared, per kind of entity. Others (sockets,
// timers, runtime counters) are not part of a file's meaning.
var meaningFields = map[string][]string{
	"instance": {
		"VRRP Version", "Sync group", "Using Native IPv6", "Wantstate", "Interface",
		"Using src_ip", "Flags", "Multicast address",
		"Gratuitous ARP delay", "Gratuitous ARP repeat", "Gratuitous ARP refresh",
		"Gratuitous ARP refresh repeat", "Gratuitous ARP lower priority delay",
		"Gratuitous ARP lower priority repeat", "Down timer adverts",
		"Send advert after receive lower priority advert",
		"Send advert after receive higher priority advert",
		"Virtual Router ID", "Priority", "Effective priority", "Advert interval", "Accept",
		"Preempt", "Preempt delay", "Promote_secondaries", "Authentication type", "Password",
		"Virtual IP", "Virtual IP Excluded", "Unicast Peer", "Check unicast src",
		"Tracked interfaces", "Tracked scripts", "Using smtp notification",
		"Backup state transition script", "Master state transition script",
		"Fault state transition script", "Stop state transition script",
		"Generic state transition script",
		"Enforcing strict VRRP compliance", "Skip checking advert IP addresses",
		"VRRP interface tracking disabled", "Virtual Routes",
	},
	"static": {"Static Addresses", "Static Routes"},
	"sync group": {
		"VRRP member instances", "Using smtp notification",
		"Backup state transition script", "Master state transition script",
		"Fault state transition script", "Stop state transition script",
		"Generic state transition script",
	},
	"script": {"Command", "Interval", "Timeout", "Weight", "Rise", "Fall", "Init state"},
	"global": {
		"Router ID", "Smtp server", "Smtp server port", "Email notification from",
		"Email notification to", "Smtp server connection timeout",
		"Gratuitous ARP interval", "Gratuitous NA interval",
	},
}

// parseKeepalivedData reads keepalived 2.2.7's data dump (vrrp_data.c dump_data_vrrp
// with a file: two spaces of indentation per level) into a kaMeaning of the
// meaningFields.
func parseKeepalivedData(b []byte) kaMeaning {
	m := kaMeaning{}
	var ent, list string
	section := ""
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "------<") {
			section = strings.Trim(line, "-<> ")
			ent, list = "", ""
			if section == "Global definitions" {
				ent = "global"
				m[ent] = map[string][]string{}
			}
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		text := strings.TrimSpace(line)
		if text == "" {
			continue
		}
		if section == "Static Addresses" || section == "Static Routes" {
			if indent == 5 {
				if m["static"] == nil {
					m["static"] = map[string][]string{}
				}
				if section == "Static Routes" {
					text = kaRoute(text)
				} else {
					text = strings.TrimSuffix(text, " set")
				}
				m["static"][section] = append(m["static"][section], text)
			}
			continue
		}
		if section == "Global definitions" {
			switch indent {
			case 1:
				list = ""
				if k, v, ok := strings.Cut(text, " = "); ok {
					m[ent][k] = []string{v}
				} else if k, ok := strings.CutSuffix(text, ":"); ok {
					list = k
					m[ent][k] = nil
				}
			case 3:
				if list != "" {
					m[ent][list] = append(m[ent][list], text)
				}
			}
			continue
		}
		switch indent {
		case 1:
			list = ""
			ent = ""
			for _, p := range []struct{ prefix, kind string }{
				{"VRRP Instance = ", "instance"}, {"VRRP Sync Group = ", "sync group"}, {"VRRP Script = ", "script"},
			} {
				if name, ok := strings.CutPrefix(text, p.prefix); ok {
					if p.kind == "sync group" {
						name, _, _ = strings.Cut(name, ",")
					}
					ent = p.kind + " " + name
					m[ent] = map[string][]string{}
				}
			}
		case 3:
			if ent == "" {
				continue
			}
			list = ""
			switch {
			case text == "Flags: none":
				m[ent]["Flags"] = nil
			case strings.HasPrefix(text, "Multicast address "):
				a, _, _ := strings.Cut(strings.TrimPrefix(text, "Multicast address "), ",")
				m[ent]["Multicast address"] = []string{a}
			case strings.Contains(text, " = "):
				k, v, _ := strings.Cut(text, " = ")
				if strings.HasSuffix(k, "state transition script") {
					v, _, _ = strings.Cut(v, ", uid:gid")
				}
				m[ent][k] = []string{v}
			case strings.Contains(text, " : "):
				k, v, _ := strings.Cut(text, " : ")
				m[ent][k] = []string{v}
			case strings.HasSuffix(text, ":"):
				k := strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(text, ":"), " "))
				k = regexp.MustCompile(` \(\d+\)$`).ReplaceAllString(k, "")
				list = k
				m[ent][k] = []string{}
			default:
				m[ent][text] = []string{}
			}
		case 5:
			if ent == "" || list == "" {
				continue
			}
			switch list {
			case "Unicast Peer":
				text, _, _ = strings.Cut(text, " min_ttl ")
			case "Virtual Routes":
				text = kaRoute(text)
			}
			m[ent][list] = append(m[ent][list], text)
		}
	}
	for _, f := range m {
		if v, ok := f["Using src_ip"]; ok && len(v) == 1 && !strings.HasSuffix(v[0], "(from configuration)") {
			// The interface's primary address (or none yet): not the file's.
			f["Using src_ip"] = []string{"(the interface's)"}
		}
		if v, ok := f["Flags"]; ok && len(v) == 0 {
			f["Flags"] = nil
		}
	}
	for ent, f := range m {
		// A script's timeout 0 is its interval (vrrp_scheduler.c).
		if strings.HasPrefix(ent, "script ") && slices.Equal(f["Timeout"], []string{"0 sec"}) {
			f["Timeout"] = f["Interval"]
		}
	}
	if g := m["global"]; g != nil {
		if v := g["Smtp server"]; len(v) == 1 {
			if _, err := netip.ParseAddr(v[0]); err != nil {
				delete(g, "Smtp server")
			}
		}
	}
	return m.only()
}

// only keeps the meaningFields of each entity.
func (m kaMeaning) only() kaMeaning {
	out := kaMeaning{}
	for ent, fields := range m {
		kind := ent
		if k, _, ok := strings.Cut(ent, " "); ok && k != "sync" {
			kind = k
		} else if ok {
			kind = "sync group"
		}
		out[ent] = map[string][]string{}
		for _, f := range meaningFields[kind] {
			if v, ok := fields[f]; ok {
				out[ent][f] = v
			}
		}
	}
	return out
}

// directorMeaning renders what the director derives from cfg (vrrpconf.go: vrrpConfig,
// vipAddresses, garpPolicy, trackers; the sync groups, scripts and mail settings it
// runs with) as keepalived's dump would show it. noEffective names the instances whose
// effective priority is not compared (see there).
func directorMeaning(t *testing.T, cfg *kaconf.Config, noEffective map[string]bool) kaMeaning {
	t.Helper()
	m := kaMeaning{}
	secs := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
	yes := func(b bool, y, n string) []string {
		if b {
			return []string{y}
		}
		return []string{n}
	}
	// keepalived's cmd_str quotes every word, but a first word that is a redirection.
	cmdStr := func(c *kaconf.Command) []string {
		var w []string
		for i, a := range c.Args {
			if i == 0 && !strings.Contains(a, "/") {
				a = "/usr/bin/" + a // found on PATH: keepalived shows where (its stand-in)
			}
			if i > 0 || (!strings.HasPrefix(a, "<") && !strings.HasPrefix(a, ">")) {
				a = "'" + a + "'"
			}
			w = append(w, a)
		}
		return []string{strings.Join(w, " ")}
	}
	notify := func(f map[string][]string, master, backup, fault, stop, generic *kaconf.Command) {
		for _, n := range []struct {
			k string
			c *kaconf.Command
		}{{"Backup", backup}, {"Master", master}, {"Fault", fault}, {"Stop", stop}, {"Generic", generic}} {
			if n.c != nil {
				f[n.k+" state transition script"] = cmdStr(n.c)
			}
		}
	}

	g := cfg.Global
	gf := map[string][]string{
		"Gratuitous ARP interval": {fmt.Sprintf("%f", g.VRRPGARPInterval.Seconds())},
		"Gratuitous NA interval":  {fmt.Sprintf("%f", g.VRRPGNAInterval.Seconds())},
	}
	if g.RouterID != "" {
		gf["Router ID"] = []string{g.RouterID}
	} else if h, err := os.Hostname(); err == nil {
		gf["Router ID"] = []string{h}
	}
	if g.SMTPServer != "" {
		// keepalived resolves a name at start and shows the address; the director
		// resolves it when it sends. Names are compared by port only.
		if a, err := netip.ParseAddr(g.SMTPServer); err == nil {
			gf["Smtp server"] = []string{a.String()}
		}
		gf["Smtp server port"] = []string{strconv.Itoa(int(g.SMTPPort))}
		gf["Smtp server connection timeout"] = []string{secs(g.SMTPConnectTimeout)}
	}
	if g.NotificationEmailFrom != "" {
		gf["Email notification from"] = []string{g.NotificationEmailFrom}
	}
	if len(g.NotificationEmail) > 0 {
		gf["Email notification to"] = slices.Clone(g.NotificationEmail)
	}
	m["global"] = gf

	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		c, err := vrrpConfig(cfg, in, netipZeroPrimary(in))
		if err != nil {
			t.Fatalf("vrrpConfig(%s): %v", in.Name, err)
		}
		v6 := isIPv6(in)
		f := map[string][]string{
			"VRRP Version":       {strconv.Itoa(c.Version)},
			"Wantstate":          yes(c.StartAsMaster, "MASTER", "BACKUP"),
			"Interface":          {in.Interface},
			"Using src_ip":       {"(the interface's)"},
			"Flags":              nil,
			"Virtual Router ID":  {strconv.Itoa(int(c.VRID))},
			"Priority":           {strconv.Itoa(int(c.Priority))},
			"Down timer adverts": {"3"}, // RFC 3768/9568 Master_Down_Interval: 3 adverts
			"Send advert after receive lower priority advert":  yes(c.NoLowerPriorityAdvert, "false", "true"),
			"Send advert after receive higher priority advert": {"false"}, // not implemented: listed where a file sets it
			"Accept":                  yes(in.Accept, "enabled", "disabled"),
			"Preempt":                 yes(c.NoPreempt, "disabled", "enabled"),
			"Promote_secondaries":     {"disabled"},
			"Using smtp notification": yes(in.SMTPAlert, "yes", "no"),
		}
		if sg := syncGroupOf(cfg, in.Name); sg != nil {
			f["Sync group"] = []string{sg.Name}
		}
		if v6 {
			f["Using Native IPv6"] = []string{}
		}
		if p := configuredPrimary(in); p.IsValid() {
			f["Using src_ip"] = []string{p.String() + " (from configuration)"}
		}
		if len(c.Peers) > 0 {
			f["Flags"] = []string{"Using unicast"}
			f["Check unicast src"] = []string{"yes"} // always (vrrp.DropUnknownPeer): see meaningAlways
			for _, p := range c.Peers {
				f["Unicast Peer"] = append(f["Unicast Peer"], p.String())
			}
		} else if v6 {
			f["Multicast address"] = []string{mcast6.String()}
		} else {
			f["Multicast address"] = []string{mcast4.String()}
		}
		gp := garpPolicy(cfg, in, v6)
		f["Gratuitous ARP delay"] = []string{secs(gp.RepeatDelay)}
		f["Gratuitous ARP repeat"] = []string{strconv.Itoa(gp.Count)}
		f["Gratuitous ARP refresh"] = []string{secs(gp.Refresh)}
		f["Gratuitous ARP refresh repeat"] = []string{"1"} // one round per refresh (vip.Policy)
		f["Gratuitous ARP lower priority delay"] = []string{secs(in.GARPLowerPrioDelay)}
		f["Gratuitous ARP lower priority repeat"] = []string{strconv.Itoa(in.GARPLowerPrioRepeat)}
		if c.Version == 2 {
			f["Advert interval"] = []string{secs(c.AdvertInterval) + " sec"}
		} else {
			f["Advert interval"] = []string{strconv.Itoa(int(c.AdvertInterval/time.Millisecond)) + " milli-sec"}
		}
		if c.PreemptDelay > 0 {
			f["Preempt delay"] = []string{strconv.FormatFloat(c.PreemptDelay.Seconds(), 'g', -1, 64) + " secs"}
		}
		switch {
		case c.AuthPass != "":
			f["Authentication type"] = []string{"SIMPLE_PASSWORD"}
			f["Password"] = []string{c.AuthPass}
		case c.Version == 2:
			f["Authentication type"] = []string{"none"}
		}
		if !noEffective[in.Name] {
			mach, err := vrrp.NewMachine(&c)
			if err != nil {
				t.Fatalf("vrrp.NewMachine(%s): %v", in.Name, err)
			}
			f["Effective priority"] = []string{strconv.Itoa(int(mach.Priority()))}
		}
		vips := vipAddresses(in)
		for j, a := range vips {
			key, kv := "Virtual IP", kaconf.VIP{}
			if j < len(in.VIPs) {
				kv = in.VIPs[j]
			} else {
				key, kv = "Virtual IP Excluded", in.ExcludedVIPs[j-len(in.VIPs)]
			}
			if a.Interface != in.Interface {
				// The director never tracks a VIP's device (see meaningAlways).
				kv.NoTrack = true
			}
			f[key] = append(f[key], addrString(a, kv))
		}
		for _, r := range routesOfInstance(cfg, in.Name) {
			f["Virtual Routes"] = append(f["Virtual Routes"], routeString(r))
		}
		for _, tr := range trackers(cfg, in) {
			w, rev := tr.cfg.Weight, ""
			if tr.invert {
				w, rev = -w, " reverse"
			}
			switch {
			case tr.script != "":
				f["Tracked scripts"] = append(f["Tracked scripts"], fmt.Sprintf("%s weight %d%s", tr.script, w, rev))
			case tr.iface != "":
				f["Tracked interfaces"] = append(f["Tracked interfaces"], fmt.Sprintf("%s weight %d%s", tr.iface, w, rev))
			}
		}
		notify(f, in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop, in.Notify)
		if in.StrictMode {
			f["Enforcing strict VRRP compliance"] = []string{}
		}
		// The director never checks an advert's address list (see meaningAlways).
		f["Skip checking advert IP addresses"] = []string{}
		if in.DontTrackPrimary {
			f["VRRP interface tracking disabled"] = []string{}
		}
		m["instance "+in.Name] = f
	}
	st := map[string][]string{}
	for j, a := range staticAddresses(cfg) {
		st["Static Addresses"] = append(st["Static Addresses"], addrString(a, cfg.StaticAddresses[j]))
	}
	rc, _ := routesOf(cfg)
	for _, r := range rc.static {
		st["Static Routes"] = append(st["Static Routes"], routeString(r))
	}
	if len(st) > 0 {
		m["static"] = st
	}
	for _, sg := range cfg.SyncGroups {
		f := map[string][]string{
			"VRRP member instances":   slices.Clone(sg.Group),
			"Using smtp notification": yes(sg.SMTPAlert, "yes", "no"),
		}
		notify(f, sg.NotifyMaster, sg.NotifyBackup, sg.NotifyFault, sg.NotifyStop, sg.Notify)
		m["sync group "+sg.Name] = f
	}
	for _, s := range cfg.Scripts {
		rev := ""
		if s.Reverse {
			rev = " reverse"
		}
		m["script "+s.Name] = map[string][]string{
			"Command":    cmdStr(&s.Command),
			"Interval":   {secs(s.Interval) + " sec"},
			"Timeout":    {secs(s.Timeout) + " sec"},
			"Weight":     {strconv.Itoa(s.Weight) + rev},
			"Rise":       {strconv.Itoa(s.Rise)},
			"Fall":       {strconv.Itoa(s.Fall)},
			"Init state": yes(s.InitFail, "INIT/FAILED", "INIT"),
		}
	}
	return m
}

// addrString is an address as keepalived's dump shows it (vrrp_ipaddress.c
// format_ipaddress): a is what the director adds, kv the line it comes from.
func addrString(a vip.Address, kv kaconf.VIP) string {
	s := a.Prefix.Addr().String()
	if a.Prefix.Bits() != a.Prefix.Addr().BitLen() {
		s = a.Prefix.String()
	}
	if kv.Broadcast.IsValid() {
		s += " brd " + kv.Broadcast.String()
	}
	s += " dev " + a.Interface + " scope " + scopeName(uint8(a.Scope))
	if a.Label != "" {
		s += " label " + a.Label
	}
	if kv.NoTrack {
		s += " no_track"
	}
	return s
}

// routesOfInstance are the virtual_routes the director holds for an instance
// (vroutes.go routesOf).
func routesOfInstance(cfg *kaconf.Config, name string) []kaconf.Route {
	rc, _ := routesOf(cfg)
	return rc.virtual[name]
}

// routeString is a route as keepalived's dump shows it (vrrp_iproute.c
// format_iproute), less what marks its state ("proto 18", "[installed ...]").
func routeString(r kaconf.Route) string {
	var b []string
	if r.Type != "" {
		b = append(b, r.Type)
	}
	if r.Dst.Bits() == r.Dst.Addr().BitLen() {
		b = append(b, r.Dst.Addr().String()) // a host route, as keepalived shows it
	} else {
		b = append(b, r.Dst.String())
	}
	if r.Src.IsValid() {
		b = append(b, "src", r.Src.String())
	}
	if r.Via.IsValid() {
		b = append(b, "via", r.Via.String())
	}
	if r.Dev != "" {
		b = append(b, "dev", r.Dev)
	}
	if r.Scope != "" {
		b = append(b, "scope", r.Scope)
	}
	if r.Table != 0 && r.Table != 254 {
		b = append(b, "table", strconv.FormatUint(uint64(r.Table), 10))
	}
	if r.Metric != 0 {
		b = append(b, "metric", strconv.FormatUint(uint64(r.Metric), 10))
	}
	for _, nh := range r.Nexthops {
		b = append(b, "nexthop")
		if nh.Via.IsValid() {
			b = append(b, "via", nh.Via.String())
		}
		if nh.Dev != "" {
			b = append(b, "dev", nh.Dev)
		}
		if nh.Weight != 0 {
			b = append(b, "weight", strconv.Itoa(nh.Weight))
		}
	}
	return strings.Join(b, " ")
}

// kaRoute normalises a route line of keepalived's dump to routeString's form:
// without its state ("prepend", "proto 18", "[installed ...]"), and without the
// no_track keepalived marks a route without dev with (it has no interface to track).
var (
	kaRouteNoise = regexp.MustCompile(`^(prepend|add|append) | proto 18| \[installed[^]]*\]`)
	kaRouteScope = strings.NewReplacer(" scope 200", " scope site", " scope 253", " scope link",
		" scope 254", " scope host", " scope 255", " scope nowhere")
)

func kaRoute(s string) string {
	s = strings.ReplaceAll(kaRouteNoise.ReplaceAllString(s, ""), "via inet ", "via ")
	s = strings.ReplaceAll(s, "via inet6 ", "via ")
	s = kaRouteScope.Replace(s)
	if !strings.Contains(s, " dev ") {
		s = strings.TrimSuffix(s, " no_track")
	}
	return s
}

// scopeName is the rt_scopes name keepalived prints for an address scope.
func scopeName(s uint8) string {
	switch s {
	case 0:
		return "global"
	case 200:
		return "site"
	case 253:
		return "link"
	case 254:
		return "host"
	case 255:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}

// keepalivedRoot is a directory keepalived runs chrooted in: its binary and libraries,
// the corpus, and in place of every program a file names as a script, a copy of
// true(1). keepalived then finds every script as the file's author meant it, runs
// none of the host's programs (notify_fault scripts run at its first FAULT), and the
// scripts' results are success.
type keepalivedRoot struct {
	dir    string
	corpus string // where the corpus is inside the root
	mu     sync.Mutex
	n      int
}

func newKeepalivedRoot(t *testing.T, corpus string) *keepalivedRoot {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kaPath, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip(err)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip(err)
	}
	for _, bin := range []string{kaPath, truePath} {
		copyInto(t, dir, bin, bin)
		out, err := exec.Command("ldd", bin).Output()
		if err != nil {
			t.Fatalf("ldd %s: %v", bin, err)
		}
		for _, f := range strings.Fields(string(out)) {
			if strings.HasPrefix(f, "/") {
				copyInto(t, dir, f, f)
			}
		}
	}
	if kaPath != "/usr/sbin/keepalived" {
		copyInto(t, dir, kaPath, "/usr/sbin/keepalived")
	}
	for _, d := range []string{"proc", "sys", "dev", "tmp", "run", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":  "root:x:0:\n",
		// The host's name resolves without DNS: keepalived's default router_id.
		"etc/hosts":         "127.0.0.1 localhost\n127.0.1.1 " + hostname() + "\n",
		"etc/nsswitch.conf": "hosts: files\npasswd: files\ngroup: files\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.CopyFS(filepath.Join(dir, "corpus"), os.DirFS(corpus)); err != nil {
		t.Fatal(err)
	}
	return &keepalivedRoot{dir: dir, corpus: "/corpus"}
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// copyInto copies the file src to dst inside root, with its mode.
func copyInto(t *testing.T, root, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, dst)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

// standIns puts a copy of true(1) at every program cfg names as a script (the absolute
// ones; a bare name goes to /usr/bin).
func (r *keepalivedRoot) standIns(t *testing.T, cfg *kaconf.Config) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var cmds []*kaconf.Command
	for i := range cfg.Scripts {
		cmds = append(cmds, &cfg.Scripts[i].Command)
	}
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		cmds = append(cmds, in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop, in.Notify)
	}
	for i := range cfg.SyncGroups {
		g := &cfg.SyncGroups[i]
		cmds = append(cmds, g.NotifyMaster, g.NotifyBackup, g.NotifyFault, g.NotifyStop, g.Notify)
	}
	truePath, _ := exec.LookPath("true")
	for _, c := range cmds {
		if c == nil || len(c.Args) == 0 {
			continue
		}
		p := c.Args[0]
		switch {
		case strings.HasPrefix(p, "/"):
		case strings.Contains(p, "/"):
			continue
		default:
			p = "/usr/bin/" + p
		}
		if _, err := os.Stat(filepath.Join(r.dir, p)); err == nil {
			continue
		}
		copyInto(t, r.dir, truePath, p)
	}
}

// run starts keepalived VRRP-only in ns, chrooted in r, on conf (a path inside the
// root), waits for its startup, asks for its data dump with SIGUSR1 and returns the
// dump, stopping keepalived before it returns. log is keepalived's console output.
func (r *keepalivedRoot) run(t *testing.T, ns *testenv.NetNS, conf string, args ...string) (dump []byte, log string) {
	t.Helper()
	r.mu.Lock()
	r.n++
	run := fmt.Sprintf("/tmp/run%d", r.n)
	r.mu.Unlock()
	hostRun := filepath.Join(r.dir, run)
	if err := os.MkdirAll(hostRun, 0o755); err != nil {
		t.Fatal(err)
	}
	// ip netns exec gives the command a mount namespace of its own (a slave of the
	// host's): the mounts below go away with it.
	script := `set -e; root=$1; shift
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
exec chroot "$root" /usr/sbin/keepalived "$@"`
	kaArgs := append([]string{"-f", conf, "-p", run + "/p", "-r", run + "/v", "-c", run + "/c",
		"-n", "-l", "-D", "-d", "--vrrp"}, args...)
	logPath := filepath.Join(hostRun, "console")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, "sh", "-c", script, "sh", r.dir}, kaArgs...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=" + run}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	defer stop()
	readLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	// Startup is over when the VRRP process has written its -d dump to the console.
	waitFor := func(read func() string, marker string) bool {
		for range 200 { // 10 s
			if strings.Contains(read(), marker) {
				return true
			}
			select {
			case <-done:
				stopped = true
				return strings.Contains(read(), marker)
			case <-time.After(50 * time.Millisecond):
			}
		}
		return false
	}
	if !waitFor(readLog, "------< Interfaces >------") || stopped {
		stop() // keepalived did not start, or exited: its log says why
		return nil, readLog()
	}
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	dataPath := filepath.Join(hostRun, "keepalived.data")
	readData := func() string { b, _ := os.ReadFile(dataPath); return string(b) }
	if !waitFor(readData, "------< Interfaces >------") {
		stop()
		return nil, readLog()
	}
	stop()
	return []byte(readData()), readLog()
}

// consoleStamp is the time keepalived's console log puts before each line.
var consoleStamp = regexp.MustCompile(`^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}: `)

// startupDump is keepalived's -d dump of its VRRP configuration, written to the console
// once it has read the file and before its scripts and timers run: the initial
// states, which the data dump later shows as they are by then.
func startupDump(log string) kaMeaning {
	var b strings.Builder
	for _, l := range strings.Split(log, "\n") {
		if loc := consoleStamp.FindStringIndex(l); loc != nil {
			b.WriteString(l[loc[1]:])
			b.WriteByte('\n')
		}
	}
	return parseKeepalivedData([]byte(b.String()))
}

// fromStartup replaces, in the data dump m, the fields that change at run time with
// their values in the startup dump.
func fromStartup(m, start kaMeaning) {
	for ent, f := range m {
		for _, k := range []string{"Wantstate", "Init state"} {
			if _, ok := f[k]; ok {
				f[k] = start[ent][k]
			}
		}
	}
}

// kaMessages are the lines of keepalived's console output other than its -d dump.
func kaMessages(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if loc := consoleStamp.FindStringIndex(l); loc != nil {
			l = l[loc[1]:]
		}
		if l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "------<") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// interfacesOf lists the links cfg names, which keepalived needs to exist.
func interfacesOf(cfg *kaconf.Config) []string {
	set := map[string]bool{}
	add := func(n string) {
		if n != "" && n != "lo" {
			set[n] = true
		}
	}
	add(cfg.Global.DefaultInterface)
	if cfg.Global.DefaultInterface == "" {
		add("eth0")
	}
	if sd := cfg.Global.LVSSyncDaemon; sd != nil {
		add(sd.Interface)
	}
	for i := range cfg.Instances {
		in := &cfg.Instances[i]
		add(in.Interface)
		for _, v := range append(slices.Clone(in.VIPs), in.ExcludedVIPs...) {
			add(v.Dev)
		}
		for _, ti := range in.TrackInterfaces {
			add(ti.Name)
		}
		for _, r := range in.VirtualRoutes {
			add(r.Dev)
		}
	}
	for _, r := range cfg.StaticRoutes {
		add(r.Dev)
	}
	out := slices.Sorted(func(yield func(string) bool) {
		for n := range set {
			if !yield(n) {
				return
			}
		}
	})
	return out
}

// directorReading is loadConfig's reading of the file in keepalived's chroot: users
// as chrootUsers, and every script present (the chroot has a stand-in for each, which
// this host may lack), so scripts are refused for their users only; then the refused
// vrrp_scripts are dropped as at start.
func directorReading(abs string) (*kaconf.Config, error) {
	cfg, _, err := kaconf.ReadFileContext(context.Background(), abs)
	if err == nil {
		err = validate(cfg)
	}
	if err != nil {
		return nil, err
	}
	policy, _, _ := newScriptPolicy(cfg, chrootUsers)
	for i, d := range policy.decisions {
		if errors.Is(d.refused, errScriptNotFound) {
			policy.decisions[i].refused = nil
		}
	}
	dropRefusedScripts(cfg, policy)
	return cfg, nil
}

// chrootUsers is the user database keepalived sees in its chroot: root alone.
var chrootUsers = userDB{
	user: func(name string) (uint32, uint32, error) {
		if name == "root" {
			return 0, 0, nil
		}
		return 0, 0, fmt.Errorf("no user %s", name)
	},
	group: func(name string) (uint32, error) {
		if name == "root" {
			return 0, nil
		}
		return 0, fmt.Errorf("no group %s", name)
	},
	root: func() bool { return true },
}

// vipNoTrack names, in meaningAlways, the no_track of the VIPs on other devices.
const vipNoTrack = "Virtual IP: no_track"

// meaningAlways are fields in which the director differs from keepalived 2.2.7 for
// any file that uses them, documented in docs/migrating-from-keepalived.md, with the
// reason. A file whose only difference is one of these passes; one of them that no
// compared file shows any more fails the test (the entry is stale).
var meaningAlways = map[string]string{
	vipNoTrack:                          "the director never tracks the device of a VIP on another interface than the instance's; keepalived puts the instance in FAULT while it is down unless no_track (guide: virtual_ipaddress no_track)",
	"Check unicast src":                 "the director always drops unicast adverts from a sender that is not a unicast_peer; keepalived only with vrrp_check_unicast_src (guide: vrrp_check_unicast_src)",
	"Skip checking advert IP addresses": "the director never checks an advert's address list against its VIPs; keepalived drops adverts that miss one unless skip_check_adv_addr (guide: skip_check_adv_addr)",
}

// meaningKnown are the differences between what keepalived 2.2.7 runs and what the
// director runs that are deliberate and documented (docs/migrating-from-keepalived.md),
// per file, entity and field, with the reason. The test fails on any other difference,
// and on an entry that no longer differs. Empty at present: every difference found
// in the corpus was fixed (kaconf's flags and track_interface, the sync group's
// initial state, refused scripts) or is one of meaningAlways.
var meaningKnown = map[string]map[string]map[string]string{}

// TestIntegrationCorpusMeaning runs keepalived 2.2.7 (VRRP only, chrooted, in a network
// namespace with the links each file names) on every corpus file the director accepts,
// and compares keepalived's dump of the configuration it runs, instance by instance and
// field by field, with what the director derives from the same file; and keepalived's
// dump of the file with its dump of the reader's Format output.
func TestIntegrationCorpusMeaning(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "keepalived", "ip", "chroot", "ldd", "mount")
	testenv.SkipInGuest(t)
	dir := meaningCorpusDir()
	if fi, err := os.Stat(dir); dir == "" || err != nil || !fi.IsDir() {
		t.Skipf("no keepalived.conf corpus at %q (set KACONF_CORPUS)", dir)
	}
	var files []string
	for _, pat := range []string{"upstream/*", "realworld/*.conf", "realworld/*/keepalived.conf"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	root := newKeepalivedRoot(t, dir)
	compared, visited := 0, 0
	var mu sync.Mutex
	seen := map[string]bool{}
	alwaysSeen := map[string]bool{}
	t.Run("files", func(t *testing.T) {
		for _, abs := range files {
			rel, _ := filepath.Rel(dir, abs)
			t.Run(rel, func(t *testing.T) {
				t.Parallel()
				mu.Lock()
				visited++
				mu.Unlock()
				// Both read @ID lines with the host's name as the config ID (keepalived's
				// default, and the reader's): the chroot has the host's name.
				cfg, _, err := kaconf.ReadFileContext(context.Background(), abs)
				if err == nil {
					err = validate(cfg)
				}
				if err != nil {
					t.Skipf("the director refuses the file (TestIntegrationCorpus covers it): %v", err)
				}
				if len(cfg.Instances) == 0 {
					t.Skip("no vrrp_instance (TestIntegrationCorpusMeaningLVS compares the IPVS table in the qemu guest)")
				}
				mu.Lock()
				seen[rel] = true
				mu.Unlock()
				ns := testenv.NewNetNS(t)
				for i, n := range interfacesOf(cfg) {
					peer := fmt.Sprintf("kmp%d", i)
					ns.MustExec(t, "ip", "link", "add", n, "type", "veth", "peer", "name", peer)
					ns.MustExec(t, "ip", "link", "set", n, "up")
					ns.MustExec(t, "ip", "link", "set", peer, "up")
					// An IPv4 address (TEST-NET-1) keeps the instances out of FAULT.
					ns.MustExec(t, "ip", "addr", "add", fmt.Sprintf("192.0.2.%d/24", i+1), "dev", n)
				}
				for _, in := range cfg.Instances {
					// The source address the file sets is on its interface, as on the
					// machine the file was written for (else keepalived is in FAULT).
					if p := configuredPrimary(&in); p.IsValid() && in.Interface != "" {
						ns.MustExec(t, "ip", "addr", "add", netip.PrefixFrom(p, p.BitLen()).String(), "dev", in.Interface, "nodad")
					}
				}
				root.standIns(t, cfg)
				dump, log := root.run(t, ns, filepath.Join(root.corpus, rel))
				if dump == nil {
					t.Fatalf("keepalived did not run the file the director accepts:\n%s", log)
				}
				ka := parseKeepalivedData(dump)
				fromStartup(ka, startupDump(log))
				if _, err := netip.ParseAddr(cfg.Global.SMTPServer); err != nil {
					delete(ka["global"], "Smtp server") // a name: see directorMeaning
				}
				if len(ka) < 1+len(cfg.Instances) {
					t.Fatalf("keepalived's dump has %d entities, want the %d instances and more:\n%s", len(ka), len(cfg.Instances), dump)
				}
				// The effective priority of an instance with track scripts depends on
				// whether its scripts have run yet (keepalived counts a script only after
				// its first result).
				noEffective := map[string]bool{}
				for _, in := range cfg.Instances {
					if len(in.TrackScripts) > 0 || len(in.TrackFiles) > 0 || len(in.TrackProcesses) > 0 {
						noEffective[in.Name] = true
						delete(ka["instance "+in.Name], "Effective priority")
					}
				}
				// The director's own reading, with the scripts its policy refuses
				// (script users as in the chroot: root only) dropped as at start.
				dcfg, err := directorReading(abs)
				if err != nil {
					t.Fatal(err)
				}
				dm := directorMeaning(t, dcfg, noEffective)
				known := meaningKnown[rel]
				for ent, fields := range known {
					for f := range fields {
						if cmp.Equal(ka[ent][f], dm[ent][f]) {
							t.Errorf("%s %q: listed in meaningKnown (%s) but keepalived and the director agree: remove the entry", ent, f, fields[f])
						}
						delete(ka[ent], f)
						delete(dm[ent], f)
					}
				}
				for ent := range dm {
					for _, f := range []string{"Virtual IP", "Virtual IP Excluded"} {
						strip := func(l []string) []string {
							var out []string
							for _, v := range l {
								out = append(out, strings.TrimSuffix(v, " no_track"))
							}
							return out
						}
						if !cmp.Equal(ka[ent][f], dm[ent][f]) && cmp.Equal(strip(ka[ent][f]), strip(dm[ent][f])) {
							mu.Lock()
							alwaysSeen[vipNoTrack] = true
							mu.Unlock()
						}
						if _, ok := ka[ent][f]; ok {
							ka[ent][f] = strip(ka[ent][f])
						}
						if _, ok := dm[ent][f]; ok {
							dm[ent][f] = strip(dm[ent][f])
						}
					}
					for f := range meaningAlways {
						if !cmp.Equal(ka[ent][f], dm[ent][f]) {
							mu.Lock()
							alwaysSeen[f] = true
							mu.Unlock()
						}
						delete(ka[ent], f)
						delete(dm[ent], f)
					}
				}
				if diff := cmp.Diff(ka, dm); diff != "" {
					t.Errorf("what the director runs differs from what keepalived 2.2.7 runs (-keepalived +director):\n%s", diff)
					t.Logf("keepalived's messages:\n%s", kaMessages(log))
				}

				// The reader's Format output must mean to keepalived what the file does.
				formatted := fmt.Sprintf("/tmp/%s.formatted.conf", strings.ReplaceAll(rel, "/", "_"))
				if err := os.WriteFile(filepath.Join(root.dir, formatted), kaconf.Format(cfg), 0o644); err != nil {
					t.Fatal(err)
				}
				fdump, flog := root.run(t, ns, formatted)
				if fdump == nil {
					t.Fatalf("keepalived did not run the reader's Format output of the file:\n%s", flog)
				}
				orig, fmtd := parseKeepalivedData(dump), parseKeepalivedData(fdump)
				fromStartup(orig, startupDump(log))
				fromStartup(fmtd, startupDump(flog))
				for name := range noEffective {
					delete(orig["instance "+name], "Effective priority")
					delete(fmtd["instance "+name], "Effective priority")
				}
				if diff := cmp.Diff(orig, fmtd); diff != "" {
					t.Errorf("keepalived runs the reader's Format output differently from the file (-file +formatted):\n%s", diff)
				}
				mu.Lock()
				compared++
				mu.Unlock()
			})
		}
	})
	if visited < len(files) {
		t.Logf("compared %d files; -run left some out, so the allowlists are not checked for stale entries", compared)
		return
	}
	for rel := range meaningKnown {
		if !seen[rel] {
			t.Errorf("meaningKnown names %s, which is not a compared corpus file", rel)
		}
	}
	for f, why := range meaningAlways {
		if compared > 0 && !alwaysSeen[f] {
			t.Errorf("meaningAlways lists %q (%s) but no compared file differs in it: remove the entry", f, why)
		}
	}
	t.Logf("compared %d files", compared)
}
