package kaconf

import (
	"net/netip"
	"time"
)

// Config is a whole keepalived.conf, with includes expanded and keepalived's defaults
// filled in. Lists keep the order of the file. Every value is comparable with go-cmp
// without options.
type Config struct {
	// NetNamespace is net_namespace; its Name is empty when the file has none.
	NetNamespace   NetNamespace
	Global         Global
	Scripts        []Script
	Instances      []Instance
	SyncGroups     []SyncGroup
	VirtualServers []VirtualServer
	// TrackFiles are the track_file blocks.
	TrackFiles []TrackFile
	// TrackProcesses are the vrrp_track_process blocks.
	TrackProcesses []TrackProcess
	// VirtualServerGroups are the virtual_server_group blocks.
	VirtualServerGroups []VirtualServerGroup
	// StaticRoutes are the lines of the top-level static_routes blocks, in order.
	StaticRoutes []Route
	// StaticRules are the lines of the top-level static_rules blocks, in order.
	StaticRules []Rule
	// StaticAddresses are the lines of the top-level static_ipaddress blocks, in
	// order, with Dev always set.
	StaticAddresses []VIP
}

// TrackFile returns the track_file called name, or nil.
func (c *Config) TrackFile(name string) *TrackFile {
	for i := range c.TrackFiles {
		if c.TrackFiles[i].Name == name {
			return &c.TrackFiles[i]
		}
	}
	return nil
}

// Script returns the vrrp_script called name, or nil.
func (c *Config) Script(name string) *Script {
	for i := range c.Scripts {
		if c.Scripts[i].Name == name {
			return &c.Scripts[i]
		}
	}
	return nil
}

// Instance returns the vrrp_instance called name, or nil.
func (c *Config) Instance(name string) *Instance {
	for i := range c.Instances {
		if c.Instances[i].Name == name {
			return &c.Instances[i]
		}
	}
	return nil
}

// Command is a script to run: a notify script, a vrrp_script's script, a MISC_CHECK's
// misc_path. keepalived takes the first argument of the line (quoted when it has
// parameters) as the command line and splits it on unquoted white space, with single
// or double quotes grouping and a backslash escaping the next character; the optional
// further arguments name the user and group to run it as.
type Command struct {
	// Args is the split command line; Args[0] is the program.
	Args []string
	// User and Group are empty when not given: keepalived then uses global script_user
	// (or keepalived_script, or root).
	User  string
	Group string
}

// Global is global_defs. A file without global_defs reads as the zero Pos with the
// defaults below.
type Global struct {
	Pos Pos

	// RouterID is router_id; empty means the host name (keepalived.conf(5)).
	RouterID string
	// NotificationEmail lists the notification_email {} addresses.
	NotificationEmail []string
	// NotificationEmailFrom is notification_email_from; empty means
	// keepalived@<host name> (keepalived.conf(5)).
	NotificationEmailFrom string
	// SMTPServer is smtp_server's host (an address or a name), empty when unset.
	SMTPServer string
	// SMTPPort is smtp_server's port: 25 when a server is set without one
	// (keepalived.conf(5)), 0 when no server is set.
	SMTPPort uint16
	// SMTPHeloName is smtp_helo_name; empty means the host name (keepalived.conf(5)).
	SMTPHeloName string
	// SMTPConnectTimeout is smtp_connect_timeout; default 30 s (keepalived's
	// global_data.c default, shown in keepalived.conf(5)'s example).
	SMTPConnectTimeout time.Duration
	// SMTPAlert, SMTPAlertVRRP and SMTPAlertChecker are smtp_alert, smtp_alert_vrrp and
	// smtp_alert_checker; nil when unset (instances then alert only when they set
	// smtp_alert themselves, real servers alert by default: keepalived check_parser.c).
	SMTPAlert        *bool
	SMTPAlertVRRP    *bool
	SMTPAlertChecker *bool
	// NoEmailFaults is no_email_faults.
	NoEmailFaults bool

	// LVSSyncDaemon is lvs_sync_daemon, nil when unset.
	LVSSyncDaemon *SyncDaemon
	// LVSFlush is lvs_flush: flush IPVS at start.
	LVSFlush bool
	// LVSTimeouts is lvs_timeouts: the IPVS connection timeouts to set at start;
	// a zero field leaves the kernel's value (900 s, 120 s, 300 s unless changed).
	LVSTimeouts LVSTimeouts

	// VRRPVersion is vrrp_version, the default for instances: 2 (keepalived.conf(5);
	// IPv6 instances use 3 regardless).
	VRRPVersion int
	// VRRPMcastGroup4 and VRRPMcastGroup6 are vrrp_mcast_group4/6: default 224.0.0.18
	// and ff02::12 (keepalived.conf(5), RFC 5798).
	VRRPMcastGroup4 netip.Addr
	VRRPMcastGroup6 netip.Addr
	// VRRPGARPMasterDelay is vrrp_garp_master_delay: default 5 s, 0 with vrrp_min_garp.
	VRRPGARPMasterDelay time.Duration
	// VRRPGARPMasterRepeat is vrrp_garp_master_repeat: default 5, 1 with vrrp_min_garp.
	VRRPGARPMasterRepeat int
	// VRRPGARPLowerPrioDelay is vrrp_garp_lower_prio_delay: default
	// VRRPGARPMasterDelay.
	VRRPGARPLowerPrioDelay time.Duration
	// VRRPGARPLowerPrioRepeat is vrrp_garp_lower_prio_repeat: default
	// VRRPGARPMasterRepeat.
	VRRPGARPLowerPrioRepeat int
	// VRRPGARPMasterRefresh is vrrp_garp_master_refresh: default 0, no refresh.
	VRRPGARPMasterRefresh time.Duration
	// VRRPGARPMasterRefreshRepeat is vrrp_garp_master_refresh_repeat: default 1.
	VRRPGARPMasterRefreshRepeat int
	// VRRPGARPInterval and VRRPGNAInterval are vrrp_garp_interval and
	// vrrp_gna_interval, the delay between gratuitous ARPs / unsolicited NAs on one
	// interface: default 0, no delay (keepalived.conf(5)).
	VRRPGARPInterval time.Duration
	VRRPGNAInterval  time.Duration
	// VRRPMinGARP is vrrp_min_garp.
	VRRPMinGARP bool
	// The following are the flags of the same names: vrrp_skip_check_adv_addr,
	// vrrp_strict, vrrp_check_unicast_src, vrrp_higher_prio_send_advert,
	// vrrp_lower_prio_no_advert. All default to false.
	VRRPSkipCheckAdvAddr     bool
	VRRPStrict               bool
	VRRPCheckUnicastSrc      bool
	VRRPHigherPrioSendAdvert bool
	VRRPLowerPrioNoAdvert    bool
	// LVSFlushOnStop is lvs_flush_on_stop: "" (the default) or "VS" removes the
	// services the director manages at stop, "FULL" (the bare keyword) flushes the
	// whole IPVS table, other services too (keepalived 2.2.7); -keep-ipvs keeps both.
	LVSFlushOnStop string
	// RSInitNotifies is rs_init_notifies [BOOL]: a real server that starts alive
	// (at start, or added by a reload) runs its notify_up and writes its notify
	// FIFO line; default off, when only transitions notify.
	RSInitNotifies bool
	// NoCheckerEmails is no_checker_emails [BOOL]: a checker's change of state is
	// mailed only when it changes the real server's; default off (every change).
	NoCheckerEmails bool
	// RTPriority is vrrp_rt_priority, vrrp_rlimit_rttime and max_auto_priority
	// (rtprio.go).
	RTPriority RTPriority
	// EnableScriptSecurity is enable_script_security.
	EnableScriptSecurity bool
	// ScriptUser and ScriptGroup are script_user USER [GROUP]: the default user of
	// scripts; empty means keepalived_script if it exists, else root.
	ScriptUser, ScriptGroup string
	// DefaultInterface is default_interface: the device of a VIP without dev in an
	// instance without interface; empty means eth0 (keepalived 2.2.7's default).
	DefaultInterface string
	// NotifyFIFO, VRRPNotifyFIFO and LVSNotifyFIFO are notify_fifo, vrrp_notify_fifo
	// and lvs_notify_fifo with their scripts (fifo.go).
	NotifyFIFO, VRRPNotifyFIFO, LVSNotifyFIFO NotifyFIFO
	// FIFOWriteVRRPStatesOnReload is fifo_write_vrrp_states_on_reload: after a
	// reload, the current state of every instance and sync group is written to
	// the VRRP notify FIFOs.
	FIFOWriteVRRPStatesOnReload bool
}

// SyncDaemon is global_defs lvs_sync_daemon: the kernel's IPVS connection sync daemon,
// run as master while Instance is MASTER and as backup otherwise (both when Instance is
// empty).
type SyncDaemon struct {
	Interface string
	// Instance is the vrrp_instance it follows ("inst NAME" or the bare second word).
	Instance string
	// SyncID is "id N": default the VRID of Instance, 0 without one (keepalived.conf(5));
	// -1 here means "not given".
	SyncID int
	// MaxLen, Port, TTL: 0 means the kernel's default (port 8848).
	MaxLen int
	Port   uint16
	TTL    int
	// Group is the multicast group; invalid means the kernel's 224.0.0.81.
	Group netip.Addr
}

// LVSTimeouts is global_defs lvs_timeouts [tcp N] [tcpfin N] [udp N], in whole
// seconds, 0..2678400 each (keepalived's LVS_MAX_TIMEOUT, 31 days).
type LVSTimeouts struct {
	TCP, TCPFin, UDP time.Duration
}

// Script is a vrrp_script.
type Script struct {
	Pos  Pos
	Name string
	// Command is script.
	Command Command
	// Interval is interval: default 1 s (keepalived.conf(5)); whole seconds.
	Interval time.Duration
	// Timeout is timeout: keepalived's default (VRRP_SCRIPT_DT 0) lets a run last its
	// interval, so the reader fills Interval.
	Timeout time.Duration
	// Weight is weight, -253..253: default 0, failure means FAULT (keepalived.conf(5)).
	Weight int
	// Reverse is "weight N reverse".
	Reverse bool
	// Rise and Fall are rise and fall: default 1 each (keepalived vrrp_parser.c).
	Rise, Fall int
	// InitFail is init_fail: the script starts failed.
	InitFail bool
}

// State is a VRRP instance's initial state.
type State string

// Initial states.
const (
	StateMaster State = "MASTER"
	StateBackup State = "BACKUP"
)

// AuthType is authentication's auth_type.
type AuthType string

// Authentication types.
const (
	AuthPass AuthType = "PASS"
	AuthAH   AuthType = "AH"
)

// Auth is a vrrp_instance's authentication block.
type Auth struct {
	Type AuthType
	// Pass is auth_pass as written; keepalived uses only its first 8 bytes (a warning
	// says so when it is longer).
	Pass string
}

// VIP is one line of virtual_ipaddress (or virtual_ipaddress_excluded):
// ADDR[/len] [brd ADDR] [dev IF] [scope SCOPE] [label LABEL] [no_track].
type VIP struct {
	Pos Pos
	// Prefix is the address with its length: /32 or /128 when none is written
	// (keepalived.conf(5), as ip(8)).
	Prefix    netip.Prefix
	Broadcast netip.Addr
	// Dev is dev: default the instance's interface.
	Dev string
	// Label is label, e.g. eth0:0.
	Label string
	// Scope is scope: site, link, host, nowhere or global; empty means global.
	Scope   string
	NoTrack bool
}

// TrackScript is one line of track_script: a vrrp_script name and an optional weight
// that overrides the script's.
type TrackScript struct {
	Pos  Pos
	Name string
	// Weight is the effective weight: the line's "weight N" if given, otherwise the
	// script's weight (keepalived.conf(5)).
	Weight int
	// Reverse is the effective reverse flag, resolved the same way.
	Reverse bool
}

// TrackInterface is one line of track_interface.
type TrackInterface struct {
	Pos  Pos
	Name string
	// Weight is "weight N", -253..253; 0 (the default) means a down interface puts the
	// instance in FAULT.
	Weight  int
	Reverse bool
}

// Instance is a vrrp_instance. Zero-looking fields hold keepalived's defaults, filled
// by the reader, so the daemon needs no further defaulting.
type Instance struct {
	Pos  Pos
	Name string
	// State is state: default MASTER when priority is 255, BACKUP otherwise
	// (keepalived vrrp_parser.c).
	State State
	// Interface is interface; it may be empty only with unicast peers.
	Interface string
	// VRID is virtual_router_id, 1..255, required.
	VRID int
	// Priority is priority, 1..255: default 255 with state MASTER and 100 otherwise
	// (keepalived 2.2.7 vrrp_parser.c; the man page says only 100).
	Priority int
	// AdvertInt is advert_int: default 1 s; fractions allowed (VRRPv3 encodes
	// centiseconds).
	AdvertInt time.Duration
	// Version is version: default global vrrp_version, 3 for IPv6 instances.
	Version int
	// Nopreempt is nopreempt (always false with state MASTER: see the warning).
	Nopreempt bool
	// PreemptDelay is preempt_delay, 0..1000 s, default 0.
	PreemptDelay time.Duration
	// Accept is accept / no_accept: default true unless strict mode (keepalived.conf(5)).
	Accept bool
	// StrictMode is strict_mode: default global vrrp_strict. In strict mode the
	// reader does what keepalived 2.2.7 does (each with a warning naming the line):
	// authentication and preempt_delay are dropped, an explicit state must match
	// priority 255 or is corrected, accept defaults to false (true for the owner)
	// and is refused with VRRPv2, lower-priority GARPs are off, unicast peers and an
	// instance without VIPs are errors.
	StrictMode bool
	// LowerPrioNoAdvert is global vrrp_lower_prio_no_advert, always true in strict
	// mode (keepalived 2.2.7 vrrp.c).
	LowerPrioNoAdvert bool
	// SkipCheckAdvAddr is skip_check_adv_addr: default global vrrp_skip_check_adv_addr.
	SkipCheckAdvAddr bool
	// DontTrackPrimary is dont_track_primary.
	DontTrackPrimary bool
	// Auth is authentication, nil when absent.
	Auth *Auth
	// VMAC is use_vmac (with vmac_xmit_base), nil when absent.
	VMAC *VMAC
	// VIPs is virtual_ipaddress; ExcludedVIPs is virtual_ipaddress_excluded.
	VIPs         []VIP
	ExcludedVIPs []VIP
	// VirtualRoutes is virtual_routes: routes the instance holds while MASTER.
	VirtualRoutes []Route
	// VirtualRules is virtual_rules: rules the instance holds while MASTER.
	VirtualRules []Rule
	// TrackScripts is track_script.
	TrackScripts []TrackScript
	// TrackInterfaces is track_interface.
	TrackInterfaces []TrackInterface
	// TrackFiles is track_file: top-level track_files whose value moves the
	// priority (TrackFileRef).
	TrackFiles []TrackFileRef
	// TrackProcesses is track_process.
	TrackProcesses []TrackProcessRef
	// McastSrcIP is mcast_src_ip, UnicastSrcIP is unicast_src_ip; invalid when unset
	// (the interface's primary address is used).
	McastSrcIP   netip.Addr
	UnicastSrcIP netip.Addr
	// UnicastPeers is unicast_peer {}; empty means multicast.
	UnicastPeers []netip.Addr
	// NotifyMaster, NotifyBackup, NotifyFault, NotifyStop and Notify are the notify
	// scripts; nil when unset. Notify gets "INSTANCE" name state priority appended.
	NotifyMaster *Command
	NotifyBackup *Command
	NotifyFault  *Command
	NotifyStop   *Command
	Notify       *Command
	// SMTPAlert is smtp_alert: default global smtp_alert_vrrp, then smtp_alert, then
	// false (keepalived.conf(5)).
	SMTPAlert bool
	// GARP settings: garp_master_delay, garp_master_repeat, garp_lower_prio_delay,
	// garp_lower_prio_repeat, garp_master_refresh, garp_master_refresh_repeat; each
	// defaults to the global vrrp_garp_* value.
	GARPMasterDelay         time.Duration
	GARPMasterRepeat        int
	GARPLowerPrioDelay      time.Duration
	GARPLowerPrioRepeat     int
	GARPMasterRefresh       time.Duration
	GARPMasterRefreshRepeat int
}

// SyncGroup is a vrrp_sync_group: instances that change state together.
type SyncGroup struct {
	Pos  Pos
	Name string
	// Group lists the member instances' names.
	Group        []string
	NotifyMaster *Command
	NotifyBackup *Command
	NotifyFault  *Command
	NotifyStop   *Command
	Notify       *Command
	// SMTPAlert is smtp_alert, defaulted as Instance.SMTPAlert.
	SMTPAlert bool
	// TrackFiles is track_file: each member tracks these files as well.
	TrackFiles []TrackFileRef
	// TrackProcesses is track_process: each member tracks these as well.
	TrackProcesses []TrackProcessRef
}

// Method is an IPVS forwarding method (lb_kind or lvs_method).
type Method string

// Forwarding methods.
const (
	MethodNAT Method = "NAT"
	MethodDR  Method = "DR"
	MethodTUN Method = "TUN"
)

// Protocol is a virtual server's protocol.
type Protocol string

// Protocols.
const (
	ProtocolTCP  Protocol = "TCP"
	ProtocolUDP  Protocol = "UDP"
	ProtocolSCTP Protocol = "SCTP"
)

// VirtualServer is a virtual_server, either "IP PORT" (Addr valid) or "fwmark N"
// (FWMark non-zero).
type VirtualServer struct {
	Pos    Pos
	Addr   netip.AddrPort
	FWMark uint32
	// Group is the virtual_server_group of "virtual_server group NAME" (Addr and
	// FWMark are then unset): the settings and real servers apply to each of its
	// services.
	Group string
	// Protocol is protocol: default UDP, as keepalived 2.2.7 (check_data.c: "no
	// protocol set - defaulting to UDP", with a warning; the manual's TCP is wrong);
	// keepalived ignores it for fwmark services.
	Protocol Protocol
	// DelayLoop is delay_loop: default 60 s (keepalived.conf(5)).
	DelayLoop time.Duration
	// Scheduler is lb_algo or lvs_sched: default wlc (keepalived's IPVS_DEF_SCHED).
	Scheduler string
	// Method is lb_kind or lvs_method: default NAT (keepalived.conf(5)).
	Method Method
	// PersistenceTimeout is persistence_timeout: 0 means not persistent; the bare
	// keyword means 360 s (keepalived.conf(5): "default 6 minutes").
	PersistenceTimeout time.Duration
	// PersistenceGranularity is persistence_granularity as a prefix length (a netmask
	// such as 255.255.255.0 reads as 24); 0 when unset.
	PersistenceGranularity int
	// SchedFlags are the IPVS scheduler flags: bit 0 is flag-1 (sh-fallback,
	// mh-fallback), bit 1 flag-2 (sh-port, mh-port), bit 2 flag-3; 0 for none.
	SchedFlags int
	// OnePacket is ops: one-packet scheduling (UDP or fwmark only); default off.
	OnePacket bool
	// IPFamily is ip_family, "inet" or "inet6": the family of a fwmark service;
	// empty (the default) means its first real server's (keepalived 2.2.7 takes the
	// first non-tunnelled one's).
	IPFamily string
	// PersistenceEngine is persistence_engine ("sip"); empty for none.
	PersistenceEngine string
	// SorryServer is sorry_server, invalid when unset; its port defaults to the virtual
	// server's.
	SorryServer        netip.AddrPort
	SorryServerInhibit bool
	// SorryServerMethod is sorry_server_lvs_method: how IPVS forwards to the sorry
	// server; "" (the default) means the virtual server's Method.
	SorryServerMethod Method
	// Quorum is quorum: default 1; Hysteresis is hysteresis: default 0
	// (keepalived.conf(5)).
	Quorum     int
	Hysteresis int
	QuorumUp   *Command
	QuorumDown *Command
	// Alpha, Omega, HASuspend and InhibitOnFailure are the flags of the same names.
	Alpha            bool
	Omega            bool
	HASuspend        bool
	InhibitOnFailure bool
	// Virtualhost is virtualhost, the default Host for HTTP_GET and SSL_GET.
	Virtualhost string
	// SMTPAlert is smtp_alert: default global smtp_alert_checker, then smtp_alert, then
	// false (keepalived check_parser.c).
	SMTPAlert   bool
	RealServers []RealServer
}

// RealServer is a real_server.
type RealServer struct {
	Pos Pos
	// Addr is the address and port IPVS uses; the port defaults to the virtual
	// server's (keepalived check_parser.c), 0 for fwmark services. With DR and TUN it
	// is always the virtual server's port: keepalived resets it, while its checkers
	// keep connecting to the port written (Check.ConnectPort).
	Addr netip.AddrPort
	// Weight is weight: default 1 (keepalived.conf(5)).
	Weight int
	// Method is lb_kind or lvs_method: default the virtual server's.
	Method Method
	// InhibitOnFailure is inhibit_on_failure: default the virtual server's.
	InhibitOnFailure bool
	// UpperThreshold and LowerThreshold are uthreshold and lthreshold: the IPVS
	// destination's connection thresholds; 0 (the default) means none.
	UpperThreshold, LowerThreshold uint32
	// DelayLoop is delay_loop: default the virtual server's.
	DelayLoop   time.Duration
	Virtualhost string
	NotifyUp    *Command
	NotifyDown  *Command
	// SMTPAlert is smtp_alert: default global smtp_alert_checker, then smtp_alert, then
	// true (keepalived check_parser.c, kept for compatibility).
	SMTPAlert bool
	Checks    []Check
}

// CheckType is a health checker's block name.
type CheckType string

// Supported checkers.
const (
	CheckTCP  CheckType = "TCP_CHECK"
	CheckHTTP CheckType = "HTTP_GET"
	CheckSSL  CheckType = "SSL_GET"
	CheckMisc CheckType = "MISC_CHECK"
	CheckDNS  CheckType = "DNS_CHECK"
	CheckUDP  CheckType = "UDP_CHECK"
	CheckPing CheckType = "PING_CHECK"
	CheckSMTP CheckType = "SMTP_CHECK"
	CheckFile CheckType = "FILE_CHECK"
)

// Check is one health checker of a real server. Its timing fields are effective:
// keepalived's inheritance (checker, then real server, then virtual server, then the
// checker type's default) is already applied.
type Check struct {
	Pos  Pos
	Type CheckType
	// ConnectIP and ConnectPort are connect_ip and connect_port: default the real
	// server's address and port (keepalived.conf(5)). Unused by MISC_CHECK.
	ConnectIP   netip.Addr
	ConnectPort uint16
	// BindTo and BindPort are bindto and bind_port; unset when invalid / 0.
	BindTo   netip.Addr
	BindPort uint16
	// ConnectTimeout is connect_timeout: default 5 s (keepalived.conf(5)).
	ConnectTimeout time.Duration
	// Retry is retry (or the old nb_get_retry): default 1, 0 for MISC_CHECK
	// (keepalived.conf(5)).
	Retry int
	// DelayBeforeRetry is delay_before_retry: default 3 s for HTTP_GET and SSL_GET and
	// 1 s otherwise (keepalived.conf(5)).
	DelayBeforeRetry time.Duration
	// DelayLoop is delay_loop: default the real server's.
	DelayLoop time.Duration
	// Warmup is warmup, the maximum random delay before the first check: default
	// DelayLoop (keepalived.conf(5)); 0 disables it.
	Warmup time.Duration

	// URLs are HTTP_GET / SSL_GET url blocks.
	URLs []URL
	// Virtualhost is virtualhost: default the real server's, then the virtual server's.
	Virtualhost string
	// HTTPProtocol is HTTP_GET's and SSL_GET's http_protocol: "" for keepalived's
	// default, HTTP/1.0; "1.0", "1.0C" (HTTP/1.0 with Connection: close) or "1.1"
	// (which also sends Connection: close) as written ("1.0c" reads as "1.0C").
	HTTPProtocol string
	// EnableSNI and SNIName are SSL_GET's enable_sni and sni_name.
	EnableSNI bool
	SNIName   string

	// Misc is MISC_CHECK's misc_path (with its user line folded in), nil otherwise.
	Misc *Command
	// MiscTimeout is misc_timeout: default DelayLoop (keepalived check_misc.c).
	MiscTimeout time.Duration
	// MiscDynamic is misc_dynamic: exit codes 2..255 set the weight to code-2.
	MiscDynamic bool

	// DNSType is DNS_CHECK's type, upper case: A, NS, CNAME, SOA, MX, TXT, AAAA,
	// RRSIG or DNSKEY; default SOA (keepalived check_dns.h).
	DNSType string
	// DNSName is DNS_CHECK's name: default "" (the root, keepalived check_dns.h).
	DNSName string

	// UDPPayload is UDP_CHECK's payload (written as hex), nil for an empty datagram.
	UDPPayload []byte
	// UDPRequireReply is require_reply: a reply must come back. UDPReply is its
	// optional hex data and UDPReplyMask the wildcard bits (an X nibble sets 0xf), nil
	// without wildcards. keepalived compares the first min(len(reply), len(UDPReply))
	// bytes and, only when UDPReply is set, requires the reply's length to be within
	// UDPMinReply..UDPMaxReply (min_reply_length, max_reply_length: default 0 and 255,
	// keepalived check_udp.c).
	UDPRequireReply bool
	UDPReply        []byte
	UDPReplyMask    []byte
	UDPMinReply     int
	UDPMaxReply     int

	// HeloName is SMTP_CHECK's helo_name: default "smtpchecker.keepalived.org"
	// (keepalived check_smtp.h).
	HeloName string

	// TrackFile is FILE_CHECK's track_file, the name of a top-level track_file;
	// FileWeight and FileReverse are its weight line: default the track_file's.
	TrackFile   string
	FileWeight  int
	FileReverse bool
}

// TrackFile is a top-level track_file (or the older vrrp_track_file): a file holding
// an integer. FILE_CHECK reads it for a real server: with weight 0 a non-zero value
// means down (reverse: a zero value means down); otherwise value*weight (negated with
// reverse) is added to the real server's weight, as keepalived 2.2.7 does
// (track_file.c).
type TrackFile struct {
	Pos  Pos
	Name string
	// File is file, the path. Required.
	File string
	// Weight is weight, -254..254: default 1. Reverse is "weight N reverse".
	Weight  int
	Reverse bool
	// InitFile is init_file: create the file with InitValue (default 0) when it does
	// not exist; InitOverwrite ("overwrite") writes it even when it does.
	InitFile      bool
	InitValue     int
	InitOverwrite bool
}

// URL is one url {} of an HTTP_GET or SSL_GET.
type URL struct {
	Pos  Pos
	Path string
	// Digest is digest, the lower-case hex MD5 of the body; empty when unset.
	Digest string
	// StatusCodes is status_code's list of ranges: default 200-299 (keepalived.conf(5)).
	StatusCodes []StatusRange
	// Virtualhost is virtualhost: default the checker's.
	Virtualhost string
}

// StatusRange is an inclusive range of HTTP status codes; Lo == Hi for a single code.
type StatusRange struct{ Lo, Hi int }
