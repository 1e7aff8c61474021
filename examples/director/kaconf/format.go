package kaconf

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Format writes c as a canonical keepalived.conf: global_defs, then the vrrp_scripts,
// vrrp_instances, vrrp_sync_groups, track_files, virtual_server_groups and virtual_servers in order, three-space indents,
// keepalived's current keyword names (retry, not nb_get_retry), every defaulted value
// of the blocks below global_defs written out, and global_defs values left out when
// they equal keepalived's defaults. Reading the output gives back c (positions aside).
//
// Format is for configurations that Read returned; a hand-built Config with values
// Read would reject is written as it is.
func Format(c *Config) []byte {
	w := &writer{}
	if c.NetNamespace.Name != "" {
		w.line("net_namespace", c.NetNamespace.Name)
	}
	formatGlobal(w, &c.Global)
	formatVIPs(w, "static_ipaddress", c.StaticAddresses)
	formatRoutes(w, "static_routes", c.StaticRoutes)
	formatRules(w, "static_rules", c.StaticRules)
	for i := range c.Scripts {
		formatScript(w, &c.Scripts[i])
	}
	for i := range c.Instances {
		formatInstance(w, &c.Instances[i])
	}
	for i := range c.SyncGroups {
		formatGroup(w, &c.SyncGroups[i])
	}
	for i := range c.TrackProcesses {
		formatTrackProcess(w, &c.TrackProcesses[i])
	}
	for i := range c.TrackFiles {
		formatTrackFile(w, &c.TrackFiles[i])
	}
	for i := range c.VirtualServerGroups {
		formatVSGroup(w, &c.VirtualServerGroups[i])
	}
	for i := range c.VirtualServers {
		formatVS(w, &c.VirtualServers[i])
	}
	return w.b.Bytes()
}

type writer struct {
	b     bytes.Buffer
	depth int
}

// line writes one statement; each part is already a word (see word).
func (w *writer) line(parts ...string) {
	w.b.WriteString(strings.Repeat("   ", w.depth))
	w.b.WriteString(strings.Join(parts, " "))
	w.b.WriteByte('\n')
}

func (w *writer) open(parts ...string) {
	w.line(append(parts, "{")...)
	w.depth++
}

func (w *writer) close() {
	w.depth--
	w.line("}")
}

func (w *writer) flag(key string, on bool) {
	if on {
		w.line(key)
	}
}

func (w *writer) str(key, v string) {
	if v != "" {
		w.line(key, word(v))
	}
}

func (w *writer) num(key string, v int) { w.line(key, strconv.Itoa(v)) }

func (w *writer) secs(key string, d time.Duration) { w.line(key, fmtSeconds(d)) }

func (w *writer) cmd(key string, c *Command) {
	if c == nil {
		return
	}
	parts := []string{key, word(cmdLine(c.Args))}
	if c.User != "" {
		parts = append(parts, word(c.User))
		if c.Group != "" {
			parts = append(parts, word(c.Group))
		}
	}
	w.line(parts...)
}

// word quotes s for the file when it is not a plain word.
func word(s string) string {
	if simpleWord(s) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// cmdLine joins command arguments so that splitCommand gives them back.
func cmdLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		switch {
		case a != "" && !strings.ContainsAny(a, " \t'\"\\"):
			out[i] = a
		case !strings.Contains(a, "'"):
			out[i] = "'" + a + "'"
		default:
			var b strings.Builder
			for j := 0; j < len(a); j++ {
				if strings.IndexByte(" \t'\"\\", a[j]) >= 0 {
					b.WriteByte('\\')
				}
				b.WriteByte(a[j])
			}
			out[i] = b.String()
		}
	}
	return strings.Join(out, " ")
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func formatGlobal(w *writer, g *Global) {
	var d Global
	resolveGlobal(&d, seen{})
	if g.VRRPMinGARP {
		d.VRRPMinGARP = true
		resolveGlobal(&d, seen{})
	}
	w.open("global_defs")
	w.str("router_id", g.RouterID)
	w.str("default_interface", g.DefaultInterface)
	if len(g.NotificationEmail) > 0 {
		w.open("notification_email")
		for _, a := range g.NotificationEmail {
			w.line(word(a))
		}
		w.close()
	}
	w.str("notification_email_from", g.NotificationEmailFrom)
	if g.SMTPServer != "" {
		w.line("smtp_server", word(g.SMTPServer), strconv.Itoa(int(g.SMTPPort)))
	}
	w.str("smtp_helo_name", g.SMTPHeloName)
	if g.SMTPConnectTimeout != d.SMTPConnectTimeout {
		w.secs("smtp_connect_timeout", g.SMTPConnectTimeout)
	}
	for _, a := range []struct {
		key string
		v   *bool
	}{{"smtp_alert", g.SMTPAlert}, {"smtp_alert_vrrp", g.SMTPAlertVRRP}, {"smtp_alert_checker", g.SMTPAlertChecker}} {
		if a.v != nil {
			w.line(a.key, boolWord(*a.v))
		}
	}
	w.flag("no_email_faults", g.NoEmailFaults)
	if sd := g.LVSSyncDaemon; sd != nil {
		parts := []string{"lvs_sync_daemon", word(sd.Interface)}
		if sd.Instance != "" {
			parts = append(parts, "inst", word(sd.Instance))
		}
		if sd.SyncID >= 0 {
			parts = append(parts, "id", strconv.Itoa(sd.SyncID))
		}
		if sd.MaxLen != 0 {
			parts = append(parts, "maxlen", strconv.Itoa(sd.MaxLen))
		}
		if sd.Port != 0 {
			parts = append(parts, "port", strconv.Itoa(int(sd.Port)))
		}
		if sd.TTL != 0 {
			parts = append(parts, "ttl", strconv.Itoa(sd.TTL))
		}
		if sd.Group.IsValid() {
			parts = append(parts, "group", sd.Group.String())
		}
		w.line(parts...)
	}
	w.flag("lvs_flush", g.LVSFlush)
	if lt := g.LVSTimeouts; lt != (LVSTimeouts{}) {
		parts := []string{"lvs_timeouts"}
		for _, o := range []struct {
			key string
			v   time.Duration
		}{{"tcp", lt.TCP}, {"tcpfin", lt.TCPFin}, {"udp", lt.UDP}} {
			if o.v != 0 {
				parts = append(parts, o.key, strconv.Itoa(int(o.v/time.Second)))
			}
		}
		w.line(parts...)
	}
	if g.VRRPVersion != d.VRRPVersion {
		w.num("vrrp_version", g.VRRPVersion)
	}
	if g.VRRPMcastGroup4 != d.VRRPMcastGroup4 {
		w.line("vrrp_mcast_group4", g.VRRPMcastGroup4.String())
	}
	if g.VRRPMcastGroup6 != d.VRRPMcastGroup6 {
		w.line("vrrp_mcast_group6", g.VRRPMcastGroup6.String())
	}
	w.flag("vrrp_min_garp", g.VRRPMinGARP)
	if g.VRRPGARPMasterDelay != d.VRRPGARPMasterDelay {
		w.secs("vrrp_garp_master_delay", g.VRRPGARPMasterDelay)
	}
	if g.VRRPGARPMasterRepeat != d.VRRPGARPMasterRepeat {
		w.num("vrrp_garp_master_repeat", g.VRRPGARPMasterRepeat)
	}
	// The lower-priority values default to the master values just written.
	if g.VRRPGARPLowerPrioDelay != g.VRRPGARPMasterDelay {
		w.secs("vrrp_garp_lower_prio_delay", g.VRRPGARPLowerPrioDelay)
	}
	if g.VRRPGARPLowerPrioRepeat != g.VRRPGARPMasterRepeat {
		w.num("vrrp_garp_lower_prio_repeat", g.VRRPGARPLowerPrioRepeat)
	}
	if g.VRRPGARPMasterRefresh != 0 {
		w.secs("vrrp_garp_master_refresh", g.VRRPGARPMasterRefresh)
	}
	if g.VRRPGARPMasterRefreshRepeat != d.VRRPGARPMasterRefreshRepeat {
		w.num("vrrp_garp_master_refresh_repeat", g.VRRPGARPMasterRefreshRepeat)
	}
	if g.VRRPGARPInterval != 0 {
		w.secs("vrrp_garp_interval", g.VRRPGARPInterval)
	}
	if g.VRRPGNAInterval != 0 {
		w.secs("vrrp_gna_interval", g.VRRPGNAInterval)
	}
	w.flag("vrrp_skip_check_adv_addr", g.VRRPSkipCheckAdvAddr)
	w.flag("vrrp_strict", g.VRRPStrict)
	w.flag("vrrp_check_unicast_src", g.VRRPCheckUnicastSrc)
	w.flag("vrrp_higher_prio_send_advert", g.VRRPHigherPrioSendAdvert)
	w.flag("vrrp_lower_prio_no_advert", g.VRRPLowerPrioNoAdvert)
	w.flag("no_checker_emails", g.NoCheckerEmails)
	w.flag("rs_init_notifies", g.RSInitNotifies)
	switch g.LVSFlushOnStop {
	case "FULL":
		w.line("lvs_flush_on_stop")
	case "VS":
		w.line("lvs_flush_on_stop", "VS")
	}
	w.writeRTPriority(g.RTPriority)
	w.flag("enable_script_security", g.EnableScriptSecurity)
	if g.ScriptUser != "" {
		if g.ScriptGroup != "" {
			w.line("script_user", word(g.ScriptUser), word(g.ScriptGroup))
		} else {
			w.line("script_user", word(g.ScriptUser))
		}
	}
	formatFIFOs(w, g)
	w.flag("fifo_write_vrrp_states_on_reload", g.FIFOWriteVRRPStatesOnReload)
	w.close()
}

func formatScript(w *writer, s *Script) {
	w.open("vrrp_script", word(s.Name))
	w.cmd("script", &s.Command)
	w.secs("interval", s.Interval)
	w.secs("timeout", s.Timeout)
	if s.Reverse {
		w.line("weight", strconv.Itoa(s.Weight), "reverse")
	} else {
		w.num("weight", s.Weight)
	}
	w.num("rise", s.Rise)
	w.num("fall", s.Fall)
	w.flag("init_fail", s.InitFail)
	w.close()
}

func formatVIPs(w *writer, key string, vs []VIP) {
	if len(vs) == 0 {
		return
	}
	w.open(key)
	for _, v := range vs {
		parts := []string{v.Prefix.String()}
		if v.Broadcast.IsValid() {
			parts = append(parts, "brd", v.Broadcast.String())
		}
		if v.Dev != "" {
			parts = append(parts, "dev", word(v.Dev))
		}
		if v.Scope != "" {
			parts = append(parts, "scope", v.Scope)
		}
		if v.Label != "" {
			parts = append(parts, "label", word(v.Label))
		}
		if v.NoTrack {
			parts = append(parts, "no_track")
		}
		w.line(parts...)
	}
	w.close()
}

func formatInstance(w *writer, in *Instance) {
	w.open("vrrp_instance", word(in.Name))
	w.line("state", string(in.State))
	w.str("interface", in.Interface)
	w.num("virtual_router_id", in.VRID)
	w.num("priority", in.Priority)
	w.secs("advert_int", in.AdvertInt)
	w.num("version", in.Version)
	w.flag("nopreempt", in.Nopreempt)
	if in.PreemptDelay != 0 {
		w.secs("preempt_delay", in.PreemptDelay)
	}
	if in.Accept {
		w.line("accept")
	} else {
		w.line("no_accept")
	}
	w.line("strict_mode", boolWord(in.StrictMode))
	// keepalived 2.2.7 turns skip_check_adv_addr on whatever its argument: only the
	// bare keyword is written, and only when it is on.
	w.flag("skip_check_adv_addr", in.SkipCheckAdvAddr)
	w.flag("dont_track_primary", in.DontTrackPrimary)
	formatVMAC(w, in.VMAC)
	if a := in.Auth; a != nil {
		w.open("authentication")
		w.line("auth_type", string(a.Type))
		if a.Pass != "" {
			w.line("auth_pass", word(a.Pass))
		}
		w.close()
	}
	formatVIPs(w, "virtual_ipaddress", in.VIPs)
	formatVIPs(w, "virtual_ipaddress_excluded", in.ExcludedVIPs)
	formatRoutes(w, "virtual_routes", in.VirtualRoutes)
	formatRules(w, "virtual_rules", in.VirtualRules)
	if len(in.TrackScripts) > 0 {
		w.open("track_script")
		for _, t := range in.TrackScripts {
			parts := []string{word(t.Name), "weight", strconv.Itoa(t.Weight)}
			if t.Reverse {
				parts = append(parts, "reverse")
			}
			w.line(parts...)
		}
		w.close()
	}
	formatTrackFileRefs(w, in.TrackFiles)
	formatTrackProcessRefs(w, in.TrackProcesses)
	if len(in.TrackInterfaces) > 0 {
		w.open("track_interface")
		for _, t := range in.TrackInterfaces {
			parts := []string{word(t.Name)}
			if t.Weight != 0 || t.Reverse {
				parts = append(parts, "weight", strconv.Itoa(t.Weight))
			}
			if t.Reverse {
				parts = append(parts, "reverse")
			}
			w.line(parts...)
		}
		w.close()
	}
	if in.McastSrcIP.IsValid() {
		w.line("mcast_src_ip", in.McastSrcIP.String())
	}
	if in.UnicastSrcIP.IsValid() {
		w.line("unicast_src_ip", in.UnicastSrcIP.String())
	}
	if len(in.UnicastPeers) > 0 {
		w.open("unicast_peer")
		for _, p := range in.UnicastPeers {
			w.line(p.String())
		}
		w.close()
	}
	w.cmd("notify_master", in.NotifyMaster)
	w.cmd("notify_backup", in.NotifyBackup)
	w.cmd("notify_fault", in.NotifyFault)
	w.cmd("notify_stop", in.NotifyStop)
	w.cmd("notify", in.Notify)
	w.line("smtp_alert", boolWord(in.SMTPAlert))
	w.secs("garp_master_delay", in.GARPMasterDelay)
	w.num("garp_master_repeat", in.GARPMasterRepeat)
	w.secs("garp_lower_prio_delay", in.GARPLowerPrioDelay)
	w.num("garp_lower_prio_repeat", in.GARPLowerPrioRepeat)
	w.secs("garp_master_refresh", in.GARPMasterRefresh)
	w.num("garp_master_refresh_repeat", in.GARPMasterRefreshRepeat)
	w.line("lower_prio_no_advert", boolWord(in.LowerPrioNoAdvert))
	w.close()
}

func formatGroup(w *writer, g *SyncGroup) {
	w.open("vrrp_sync_group", word(g.Name))
	w.open("group")
	for _, n := range g.Group {
		w.line(word(n))
	}
	w.close()
	w.cmd("notify_master", g.NotifyMaster)
	w.cmd("notify_backup", g.NotifyBackup)
	w.cmd("notify_fault", g.NotifyFault)
	w.cmd("notify_stop", g.NotifyStop)
	w.cmd("notify", g.Notify)
	w.line("smtp_alert", boolWord(g.SMTPAlert))
	formatTrackFileRefs(w, g.TrackFiles)
	formatTrackProcessRefs(w, g.TrackProcesses)
	w.close()
}

func formatVS(w *writer, vs *VirtualServer) {
	if vs.Group != "" {
		w.open("virtual_server", "group", word(vs.Group))
		if vs.Protocol != "" {
			w.line("protocol", string(vs.Protocol))
		}
	} else if vs.FWMark != 0 {
		w.open("virtual_server", "fwmark", strconv.FormatUint(uint64(vs.FWMark), 10))
	} else {
		w.open("virtual_server", vs.Addr.Addr().String(), strconv.Itoa(int(vs.Addr.Port())))
		w.line("protocol", string(vs.Protocol))
	}
	w.secs("delay_loop", vs.DelayLoop)
	w.line("lb_algo", vs.Scheduler)
	w.line("lb_kind", string(vs.Method))
	if vs.PersistenceTimeout != 0 {
		w.secs("persistence_timeout", vs.PersistenceTimeout)
	}
	if vs.PersistenceGranularity != 0 {
		w.num("persistence_granularity", vs.PersistenceGranularity)
	}
	if vs.SorryServer.IsValid() {
		w.line("sorry_server", vs.SorryServer.Addr().String(), strconv.Itoa(int(vs.SorryServer.Port())))
	}
	w.flag("sorry_server_inhibit", vs.SorryServerInhibit)
	formatAuditVS(w, vs)
	w.num("quorum", vs.Quorum)
	w.num("hysteresis", vs.Hysteresis)
	w.cmd("quorum_up", vs.QuorumUp)
	w.cmd("quorum_down", vs.QuorumDown)
	w.flag("alpha", vs.Alpha)
	w.flag("omega", vs.Omega)
	w.flag("ha_suspend", vs.HASuspend)
	w.line("inhibit_on_failure", boolWord(vs.InhibitOnFailure))
	w.str("virtualhost", vs.Virtualhost)
	w.line("smtp_alert", boolWord(vs.SMTPAlert))
	for i := range vs.RealServers {
		formatRS(w, &vs.RealServers[i])
	}
	w.close()
}

func formatRS(w *writer, rs *RealServer) {
	w.open("real_server", rs.Addr.Addr().String(), strconv.Itoa(int(rs.Addr.Port())))
	w.num("weight", rs.Weight)
	w.line("lvs_method", string(rs.Method))
	w.line("inhibit_on_failure", boolWord(rs.InhibitOnFailure))
	if rs.UpperThreshold != 0 {
		w.line("uthreshold", strconv.FormatUint(uint64(rs.UpperThreshold), 10))
	}
	if rs.LowerThreshold != 0 {
		w.line("lthreshold", strconv.FormatUint(uint64(rs.LowerThreshold), 10))
	}
	w.secs("delay_loop", rs.DelayLoop)
	w.str("virtualhost", rs.Virtualhost)
	w.cmd("notify_up", rs.NotifyUp)
	w.cmd("notify_down", rs.NotifyDown)
	w.line("smtp_alert", boolWord(rs.SMTPAlert))
	for i := range rs.Checks {
		formatCheck(w, &rs.Checks[i])
	}
	w.close()
}

func formatCheck(w *writer, c *Check) {
	w.open(string(c.Type))
	if c.Type == CheckFile {
		w.line("track_file", word(c.TrackFile))
		if c.FileReverse {
			w.line("weight", strconv.Itoa(c.FileWeight), "reverse")
		} else {
			w.num("weight", c.FileWeight)
		}
		w.close()
		return
	}
	if c.Type == CheckMisc {
		w.cmd("misc_path", c.Misc)
		w.secs("misc_timeout", c.MiscTimeout)
		w.flag("misc_dynamic", c.MiscDynamic)
	} else {
		w.line("connect_ip", c.ConnectIP.String())
		w.num("connect_port", int(c.ConnectPort))
		if c.BindTo.IsValid() {
			w.line("bindto", c.BindTo.String())
		}
		if c.BindPort != 0 {
			w.num("bind_port", int(c.BindPort))
		}
		w.secs("connect_timeout", c.ConnectTimeout)
	}
	w.num("retry", c.Retry)
	w.secs("delay_before_retry", c.DelayBeforeRetry)
	w.secs("delay_loop", c.DelayLoop)
	w.secs("warmup", c.Warmup)
	switch c.Type {
	case CheckDNS:
		w.line("type", c.DNSType)
		if c.DNSName != "" {
			w.line("name", word(c.DNSName))
		}
	case CheckUDP:
		if c.UDPPayload != nil {
			w.line("payload", hex.EncodeToString(c.UDPPayload))
		}
		if c.UDPRequireReply {
			if c.UDPReply != nil {
				w.line("require_reply", hexMasked(c.UDPReply, c.UDPReplyMask))
			} else {
				w.line("require_reply")
			}
		}
		w.num("min_reply_length", c.UDPMinReply)
		w.num("max_reply_length", c.UDPMaxReply)
	case CheckSMTP:
		w.line("helo_name", word(c.HeloName))
	}
	if c.Type == CheckHTTP || c.Type == CheckSSL {
		w.str("virtualhost", c.Virtualhost)
		w.str("http_protocol", c.HTTPProtocol)
		if c.Type == CheckSSL {
			w.line("enable_sni", boolWord(c.EnableSNI))
			w.str("sni_name", c.SNIName)
		}
		for _, u := range c.URLs {
			w.open("url")
			w.line("path", word(u.Path))
			w.str("digest", u.Digest)
			codes := []string{"status_code"}
			for _, r := range u.StatusCodes {
				if r.Lo == r.Hi {
					codes = append(codes, strconv.Itoa(r.Lo))
				} else {
					codes = append(codes, fmt.Sprintf("%d-%d", r.Lo, r.Hi))
				}
			}
			w.line(codes...)
			w.str("virtualhost", u.Virtualhost)
			w.close()
		}
	}
	w.close()
}

// hexMasked writes bytes as hex with X for the nibbles mask wildcards.
func hexMasked(b, mask []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for i, v := range b {
		var m byte
		if i < len(mask) {
			m = mask[i]
		}
		for _, sh := range []uint{4, 0} {
			if m>>sh&0xf != 0 {
				out = append(out, 'X')
			} else {
				out = append(out, digits[v>>sh&0xf])
			}
		}
	}
	return string(out)
}

func formatTrackFile(w *writer, t *TrackFile) {
	w.open("track_file", word(t.Name))
	w.line("file", word(t.File))
	if t.Reverse {
		w.line("weight", strconv.Itoa(t.Weight), "reverse")
	} else {
		w.num("weight", t.Weight)
	}
	if t.InitFile {
		parts := []string{"init_file", strconv.Itoa(t.InitValue)}
		if t.InitOverwrite {
			parts = append(parts, "overwrite")
		}
		w.line(parts...)
	}
	w.close()
}
