package main

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

// The limits ipvsadm 1.31 checks options against.
const (
	maxTimeout        = 31 * 86400    // -p and --set: 31 days
	defaultPersistent = 360           // -p without a value: libipvs's IPVS_SVC_PERSISTENT_TIMEOUT
	maxWeight         = math.MaxInt32 // Debian's ipvsadm 1.31 (upstream: 65535), checked in the guest
	maxThreshold      = math.MaxInt32 // -x and -y are parsed as a C int
	maxSyncMaxLen     = 65535 - 20 - 8
	schedNameMax      = 15 // IP_VS_SCHEDNAME_MAXLEN - 1: longer names are cut
	ifNameMax         = 15 // IP_VS_IFNAME_MAXLEN - 1
	defaultMcastIf    = "eth0"
)

// usageError is a command line that ipvsadm refuses. code is ipvsadm's exit status for
// it: 2 for an option or value it rejects, 255 when it cannot parse the line at all (an
// unknown option, a missing value, no command first).
type usageError struct {
	msg  string
	code int
	// inLine marks a line that popt could not parse after its command option. ipvsadm
	// -R counts such a line as failed and reads on (it exits at the other errors).
	inLine bool
}

func (e *usageError) Error() string { return e.msg }

func badUsage(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...), code: 2}
}

func badSyntax(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...), code: 255}
}

// exitCode is the status ipvsadm exits with for err: 2 for a refused option, 255 for
// anything else (ipvsadm returns -1 from main when the kernel refuses a request).
func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return u.code
	}
	var l *listError
	if errors.As(err, &l) {
		return 1
	}
	return 255
}

// listError is a failure of -L or -S after parsing; ipvsadm exits 1 for those.
type listError struct{ err error }

func (e *listError) Error() string { return e.err.Error() }
func (e *listError) Unwrap() error { return e.err }

// command is one parsed ipvsadm command line.
type command struct {
	cmd  string // "A", "E", "D", "a", "e", "d", "C", "L", "Z", "S", "R", "set", "start-daemon", "stop-daemon"
	svc  ipvs.Service
	hasS bool // a service was named
	dst  ipvs.Destination
	hasR bool

	// listing
	numeric, stats, rate, exact, thresholds, persistentConn, tunInfo, timeout, daemon, nosort, conns bool

	timeouts ipvs.Timeouts
	daemonV  ipvs.Daemon
}

// option identifies one of ipvsadm's options for the per-command checks; each may be
// given once.
type option int

const (
	oNumeric option = iota
	oConnection
	oService
	oScheduler
	oPersistent
	oNetmask
	oServer
	oForward
	oWeight
	oUThreshold
	oLThreshold
	oMcastInterface
	oTimeout
	oDaemon
	oStats
	oRate
	oThresholds
	oPersistentConn
	oNoSort
	oSyncID
	oExact
	oOps
	oPE
	oSchedFlags
	oMcastGroup
	oMcastPort
	oMcastTTL
	oSyncMaxLen
	oTunInfo
	oTunType
	oTunPort
	oTunNoCsum
	oTunCsum
	oTunRemCsum
	numOptions
)

var optionNames = [numOptions]string{"numeric", "connection", "service", "scheduler", "persistent", "netmask",
	"real-server", "forwarding-method", "weight", "u-threshold", "l-threshold", "mcast-interface", "timeout",
	"daemon", "stats", "rate", "thresholds", "persistent-conn", "nosort", "syncid", "exact", "ops", "pe",
	"sched-flags", "mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen", "tun-info", "tun-type", "tun-port",
	"tun-nocsum", "tun-csum", "tun-remcsum"}

type optionSet uint64

func setOf(os ...option) optionSet {
	var s optionSet
	for _, o := range os {
		s |= 1 << o
	}
	return s
}

// rule says which options a command takes, as ipvsadm's command/option table does:
// every option in required must be given, at most one of oneOf, none outside
// required|optional|oneOf.
type rule struct{ required, optional, oneOf optionSet }

var rules = map[string]rule{
	"A":            {required: setOf(oService), optional: setOf(oScheduler, oPersistent, oNetmask, oOps, oPE, oSchedFlags)},
	"E":            {required: setOf(oService), optional: setOf(oScheduler, oPersistent, oNetmask, oOps, oPE, oSchedFlags)},
	"D":            {required: setOf(oService)},
	"C":            {},
	"L":            {optional: setOf(oNumeric, oStats, oRate, oThresholds, oPersistentConn, oNoSort, oSyncID, oExact, oTunInfo), oneOf: setOf(oConnection, oService, oTimeout, oDaemon)},
	"a":            {required: setOf(oService, oServer), optional: setOf(oForward, oWeight, oUThreshold, oLThreshold, oTunType, oTunPort, oTunNoCsum, oTunCsum, oTunRemCsum)},
	"e":            {required: setOf(oService, oServer), optional: setOf(oForward, oWeight, oUThreshold, oLThreshold, oTunType, oTunPort, oTunNoCsum, oTunCsum, oTunRemCsum)},
	"d":            {required: setOf(oService, oServer)},
	"set":          {},
	"start-daemon": {optional: setOf(oMcastInterface, oSyncID, oMcastGroup, oMcastPort, oMcastTTL, oSyncMaxLen)},
	"stop-daemon":  {optional: setOf(oSyncID)},
	"R":            {},
	"S":            {optional: setOf(oNumeric)},
	"Z":            {optional: setOf(oService)},
}

// check applies r to the options given, in option order as ipvsadm does.
func (r rule) check(cmd string, given optionSet) error {
	var oneOf option = -1
	for o := option(0); o < numOptions; o++ {
		bit := optionSet(1) << o
		if given&bit == 0 {
			if r.required&bit != 0 {
				return badUsage("-%s needs the %s option", cmd, optionNames[o])
			}
			continue
		}
		switch {
		case r.required&bit != 0, r.optional&bit != 0:
		case r.oneOf&bit != 0:
			if oneOf >= 0 {
				return badUsage("the %s and %s options exclude each other with -%s", optionNames[oneOf], optionNames[o], cmd)
			}
			oneOf = o
		default:
			return badUsage("-%s does not take the %s option", cmd, optionNames[o])
		}
	}
	return nil
}

// shortOpts and longOpts map option names to tokens; a token that takes a value is in
// valued.
var shortOpts = [256]string{
	'A': "A", 'E': "E", 'D': "D", 'C': "C", 'L': "L", 'l': "L", 'Z': "Z", 'a': "a", 'e': "e", 'd': "d",
	'h': "h", 'v': "v", 'R': "R", 'S': "S", 't': "t", 'u': "u", 'f': "f", 's': "s", 'p': "p", 'M': "M",
	'r': "r", 'm': "m", 'i': "i", 'g': "g", 'w': "w", 'x': "x", 'y': "y", 'n': "n", 'c': "c", 'X': "X",
	'6': "6", 'o': "o", 'b': "b",
}

var longOpts = map[string]string{
	"add-service": "A", "edit-service": "E", "delete-service": "D", "clear": "C", "list": "L", "zero": "Z",
	"add-server": "a", "edit-server": "e", "delete-server": "d", "set": "set", "help": "h", "version": "v",
	"restore": "R", "save": "S", "start-daemon": "start-daemon", "stop-daemon": "stop-daemon",
	"tcp-service": "t", "udp-service": "u", "sctp-service": "sctp-service", "fwmark-service": "f",
	"scheduler": "s", "persistent": "p", "netmask": "M", "real-server": "r", "masquerading": "m", "ipip": "i",
	"gatewaying": "g", "weight": "w", "u-threshold": "x", "l-threshold": "y", "numeric": "n", "connection": "c",
	"mcast-interface": "mcast-interface", "syncid": "syncid", "timeout": "timeout", "daemon": "daemon",
	"stats": "stats", "rate": "rate", "thresholds": "thresholds", "persistent-conn": "persistent-conn",
	"nosort": "nosort", "sort": "sort", "exact": "X", "ipv6": "6", "ops": "o", "pe": "pe", "sched-flags": "b",
	"mcast-group": "mcast-group", "mcast-port": "mcast-port", "mcast-ttl": "mcast-ttl", "sync-maxlen": "sync-maxlen",
	"tun-info": "tun-info", "tun-type": "tun-type", "tun-port": "tun-port", "tun-nocsum": "tun-nocsum",
	"tun-csum": "tun-csum", "tun-remcsum": "tun-remcsum",
}

var valued = map[string]bool{
	"start-daemon": true, "stop-daemon": true, "t": true, "u": true, "sctp-service": true, "f": true, "s": true,
	"M": true, "r": true, "w": true, "x": true, "y": true, "mcast-interface": true, "syncid": true, "pe": true,
	"b": true, "mcast-group": true, "mcast-port": true, "mcast-ttl": true, "sync-maxlen": true, "tun-type": true,
	"tun-port": true,
}

// What the options that select one of a few values stand for.
var (
	serviceProtocols = map[string]ipvs.Protocol{"t": ipvs.TCP, "u": ipvs.UDP, "sctp-service": ipvs.SCTP}
	forwardMethods   = map[string]ipvs.ForwardMethod{"g": ipvs.DirectRoute, "i": ipvs.Tunnel, "m": ipvs.Masquerade}
	thresholdOptions = map[string]option{"x": oUThreshold, "y": oLThreshold}
	tunnelTypes      = map[string]ipvs.TunnelType{"ipip": ipvs.TunnelIPIP, "gue": ipvs.TunnelGUE, "gre": ipvs.TunnelGRE}
)

type opt struct {
	name   string
	val    string
	hasVal bool // for -p, whose value is optional
}

// tokenize splits argv as popt does for ipvsadm: options in order (clusters like -Ln
// expanded, values attached or in the next word, -p's optional value taken from the
// next word unless it starts with '-'), and the words that are not options apart.
// The options are appended to opts[:0]. On an error (an unknown option, a missing or
// unwanted value) the options before it are returned with it: ipvsadm acts on those
// first, so a bad value before the error fails as that value does.
func tokenize(args []string, opts []opt) (_ []opt, rest []string, err error) {
	opts = opts[:0]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			return opts, rest, nil
		case strings.HasPrefix(a, "--"):
			long, val, hasVal := strings.Cut(a[2:], "=")
			name, ok := longOpts[long]
			if !ok {
				return opts, nil, badSyntax("unknown option --%s", long)
			}
			switch {
			case valued[name] && !hasVal:
				if i+1 >= len(args) {
					return opts, nil, badSyntax("option --%s needs a value", long)
				}
				i++
				val, hasVal = args[i], true
			case name == "p" && !hasVal:
				if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
					i++
					val, hasVal = args[i], true
				}
			case !valued[name] && name != "p" && hasVal:
				return opts, nil, badSyntax("option --%s takes no value", long)
			}
			opts = append(opts, opt{name, val, hasVal})
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				name := shortOpts[a[j]]
				if name == "" {
					return opts, nil, badSyntax("unknown option -%c", a[j])
				}
				if !valued[name] && name != "p" {
					opts = append(opts, opt{name: name})
					continue
				}
				// The rest of the word is the value, without one leading '=' as popt
				// takes it ("-w=5" is a weight of 5).
				o := opt{name: name, val: strings.TrimPrefix(a[j+1:], "="), hasVal: j+1 < len(a)}
				if !o.hasVal {
					switch {
					case name == "p":
						if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
							i++
							o.val, o.hasVal = args[i], true
						}
					case i+1 >= len(args):
						return opts, nil, badSyntax("option -%s needs a value", name)
					default:
						i++
						o.val, o.hasVal = args[i], true
					}
				}
				opts = append(opts, o)
				break
			}
		default:
			rest = append(rest, a)
		}
	}
	return opts, rest, nil
}

// cNumber parses s as ipvsadm's string_to_number does (strtol in base 10: leading
// white space and a sign allowed, nothing after the digits) and checks min <= n <= max.
func cNumber(s string, min, max int64) (int64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	if t == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(t, 10, 64) // takes a sign as strtol does
	if err != nil {
		return 0, false
	}
	return n, min <= n && n <= max
}

// cAtoi is C's atoi: leading white space, a sign, then as many digits as there are.
func cAtoi(s string) int64 {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	var n int64
	for i := 0; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
		if n < math.MaxInt32 {
			n = n*10 + int64(t[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}

// inetAton parses an IPv4 address as inet_aton does: one to four parts, each decimal,
// octal (leading 0) or hexadecimal (0x), the last part filling the remaining bytes.
func inetAton(s string) (uint32, bool) {
	var vals [4]uint64
	n := 0
	for {
		p, more, found := strings.Cut(s, ".")
		if n == 4 || p == "" {
			return 0, false
		}
		base, digits := 10, p
		switch {
		case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
			base, digits = 16, p[2:]
			if digits == "" {
				digits = "0" // inet_aton takes a bare "0x" as zero
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return 0, false
		}
		vals[n] = v
		n++
		if !found {
			break
		}
		s = more
	}
	var out uint64
	for i, v := range vals[:n-1] {
		if v > 0xff {
			return 0, false
		}
		out |= v << (24 - 8*i)
	}
	last := vals[n-1]
	if last > uint64(0xffffffff)>>(8*(n-1)) {
		return 0, false
	}
	return uint32(out | last), true
}

func addr4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// addrPort is a parsed -t, -u, --sctp-service or -r value.
type addrPort struct {
	addr    netip.Addr
	port    uint16
	hasPort bool
}

// parseService parses an address as ipvsadm's parse_service does: "[IPv6]:port", a
// bare IPv6 address (no port), or an IPv4 address in any inet_aton form with an
// optional ":port". A value of digits only is refused. Host and service names are not
// looked up (ipvsctl is numeric only). ipvsadm drops the port of "[IPv4]:port" (it
// looks for the port in the bracketed part), and so does ipvsctl.
func parseService(s string) (addrPort, bool) {
	if allDigits(s) {
		return addrPort{}, false
	}
	host := s
	var port string
	bracketed := false
	if strings.HasPrefix(s, "[") {
		h, after, ok := strings.Cut(s[1:], "]")
		if !ok || !strings.HasPrefix(after, ":") {
			return addrPort{}, false
		}
		host, port, bracketed = h, after[1:], true
	}
	var ap addrPort
	// An IPv6 address has two colons at least; the test spares parsing "192.0.2.1:80"
	// as one (a failed netip.ParseAddr allocates its error).
	if a, err := parseIPv6(host); err == nil {
		ap.addr = a
		if bracketed {
			ap.hasPort = true
		}
	} else {
		port, ap.hasPort = "", false
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			if !bracketed {
				host, port, ap.hasPort = host[:i], host[i+1:], true
			} else {
				host = host[:i]
			}
		}
		v, ok := inetAton(host)
		if !ok {
			return addrPort{}, false
		}
		ap.addr = addr4(v)
	}
	if ap.hasPort {
		n, ok := cNumber(port, 0, 65535)
		if !ok {
			return addrPort{}, false
		}
		ap.port = uint16(n)
	}
	return ap, true
}

// allDigits reports whether s is empty or only decimal digits (ipvsadm's str_is_digit).
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var errNotIPv6 = errors.New("not an IPv6 address")

// parseIPv6 parses s as inet_pton(AF_INET6) does: an IPv6 address, IPv4-mapped and
// other embedded IPv4 forms included, without a zone.
func parseIPv6(s string) (netip.Addr, error) {
	if strings.Count(s, ":") < 2 {
		return netip.Addr{}, errNotIPv6
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return netip.Addr{}, errNotIPv6
	}
	return a, nil
}

func familyOf(a netip.Addr) ipvs.Family {
	if a.Is4() {
		return ipvs.IPv4
	}
	return ipvs.IPv6
}

// prefixLen converts an IPv4 netmask to a prefix length; ok is false for a mask that is
// not contiguous or is 0.0.0.0, which the ipvs package cannot express.
func prefixLen(m uint32) (int, bool) {
	n := 0
	for n < 32 && m&(1<<(31-n)) != 0 {
		n++
	}
	if n == 0 || n < 32 && m<<n != 0 {
		return 0, false
	}
	return n, true
}

func parseCommand(args []string) (*command, error) {
	var p parser
	return p.parse(args)
}

// parser parses command lines, reusing its memory from one line to the next: -R parses
// thousands.
type parser struct {
	opts []opt
	c    command
}

// parse parses one command line. The command it returns is valid until the next call.
func (p *parser) parse(args []string) (*command, error) {
	opts, rest, tokErr := tokenize(args, p.opts)
	p.opts = opts
	if tokErr != nil && len(opts) == 0 {
		return nil, tokErr
	}
	p.c = command{}
	c := &p.c
	if len(args) == 0 {
		c.cmd = "L" // ipvsadm lists the table when run without arguments
		return c, nil
	}
	if len(opts) == 0 {
		return nil, badSyntax("no command given")
	}
	// The first option is the command, as in ipvsadm; a later one is refused.
	switch first := opts[0]; first.name {
	case "A", "E", "D", "a", "e", "d", "C", "L", "Z", "R", "S", "set":
		c.cmd = first.name
	case "start-daemon", "stop-daemon":
		c.cmd = first.name
		switch first.val {
		case "master":
			c.daemonV.State = ipvs.DaemonMaster
		case "backup":
			c.daemonV.State = ipvs.DaemonBackup
		default:
			return nil, badUsage("--%s takes master or backup, not %q", first.name, first.val)
		}
	case "h", "v":
		// As in ipvsadm, help and version end the parsing: what follows is ignored.
		c.cmd = first.name
		return c, nil
	default:
		return nil, badSyntax("the first option must be a command, not -%s", first.name)
	}

	c.dst.Weight = 1
	c.dst.Forward = ipvs.DirectRoute
	var (
		given     optionSet
		netmask   uint32 = 0xffffffff // IPv4 mask, or an IPv6 prefix length
		schedArg  string
		svcPort   uint16
		svcFamily ipvs.Family
	)
	set := func(o option) error {
		if given&(1<<o) != 0 {
			return badUsage("the %s option is given twice", optionNames[o])
		}
		given |= 1 << o
		return nil
	}
	for _, o := range opts[1:] {
		var err error
		switch o.name {
		case "A", "E", "D", "a", "e", "d", "C", "L", "Z", "R", "S", "set", "start-daemon", "stop-daemon", "h", "v":
			return nil, badUsage("only one command at a time (-%s and -%s)", c.cmd, o.name)
		case "t", "u", "sctp-service":
			if err = set(oService); err != nil {
				return nil, err
			}
			ap, ok := parseService(o.val)
			if !ok {
				return nil, badUsage("bad virtual service address[:port] %q", o.val)
			}
			c.hasS = true
			c.svc.Protocol = serviceProtocols[o.name]
			c.svc.Address = ap.addr
			svcFamily = familyOf(ap.addr)
			if svcFamily == ipvs.IPv6 {
				netmask = 128
			}
			if ap.hasPort {
				svcPort = ap.port
			}
			c.svc.Port = svcPort
		case "f":
			if err = set(oService); err != nil {
				return nil, err
			}
			n, ok := cNumber(o.val, math.MinInt64, math.MaxInt64)
			// ipvsadm stores strtol's result in an unsigned long: zero and negative
			// numbers fail its range check.
			if !ok || n <= 0 || n > math.MaxUint32 {
				return nil, badUsage("bad fwmark %q (1 to 4294967295)", o.val)
			}
			c.hasS = true
			c.svc.FWMark = uint32(n)
			svcFamily = ipvs.IPv4
		case "6":
			if c.svc.FWMark == 0 {
				return nil, badUsage("-6 must follow -f")
			}
			svcFamily = ipvs.IPv6
			netmask = 128
		case "s":
			err = set(oScheduler)
			name := o.val
			if len(name) > schedNameMax {
				name = name[:schedNameMax]
			}
			c.svc.Scheduler = ipvs.Scheduler(name)
		case "p":
			if err = set(oPersistent); err != nil {
				return nil, err
			}
			timeout := int64(defaultPersistent)
			if o.hasVal {
				n, ok := cNumber(o.val, 1, maxTimeout)
				if !ok {
					return nil, badUsage("bad persistence timeout %q (1 to %d)", o.val, maxTimeout)
				}
				timeout = n
			}
			c.svc.Flags |= ipvs.FlagPersistent
			c.svc.Timeout = time.Duration(timeout) * time.Second
		case "M":
			if err = set(oNetmask); err != nil {
				return nil, err
			}
			// As in ipvsadm, the form depends on the service named before -M: a prefix
			// length (atoi) for IPv6, an IPv4 mask otherwise ("-M 24" is 0.0.0.24).
			if svcFamily == ipvs.IPv6 {
				n := cAtoi(o.val)
				if n < 1 || n > 128 {
					return nil, badUsage("bad IPv6 netmask %q (1 to 128)", o.val)
				}
				netmask = uint32(n)
			} else {
				m, ok := inetAton(o.val)
				if !ok {
					return nil, badUsage("bad netmask %q", o.val)
				}
				netmask = m
			}
		case "pe":
			err = set(oPE)
			c.svc.PersistenceEngine = o.val
		case "o":
			err = set(oOps)
			c.svc.Flags |= ipvs.FlagOnePacket
		case "b":
			err = set(oSchedFlags)
			schedArg = o.val
		case "r":
			if err = set(oServer); err != nil {
				return nil, err
			}
			ap, ok := parseService(o.val)
			if !ok {
				return nil, badUsage("bad real server address[:port] %q", o.val)
			}
			c.hasR = true
			c.dst.Address = ap.addr
			c.dst.Port = svcPort // the service's port so far, as ipvsadm copies it
			if ap.hasPort {
				c.dst.Port = ap.port
			}
		case "g", "i", "m":
			err = set(oForward)
			c.dst.Forward = forwardMethods[o.name]
		case "w":
			if err = set(oWeight); err != nil {
				return nil, err
			}
			n, ok := cNumber(o.val, 0, maxWeight)
			if !ok {
				return nil, badUsage("bad weight %q (0 to %d)", o.val, maxWeight)
			}
			c.dst.Weight = int32(n)
		case "x", "y":
			if err = set(thresholdOptions[o.name]); err != nil {
				return nil, err
			}
			n, ok := cNumber(o.val, 0, maxThreshold)
			if !ok {
				return nil, badUsage("bad threshold %q (0 to %d)", o.val, maxThreshold)
			}
			if o.name == "x" {
				c.dst.UpperThreshold = uint32(n)
			} else {
				c.dst.LowerThreshold = uint32(n)
			}
		case "tun-type":
			if err = set(oTunType); err != nil {
				return nil, err
			}
			t, ok := tunnelTypes[o.val]
			if !ok {
				return nil, badUsage("unknown tunnel type %q", o.val)
			}
			c.dst.TunnelType = t
		case "tun-port":
			if err = set(oTunPort); err != nil {
				return nil, err
			}
			n, ok := cNumber(o.val, 1, 65535)
			if !ok {
				return nil, badUsage("bad tunnel port %q (1 to 65535)", o.val)
			}
			c.dst.TunnelPort = uint16(n)
		case "tun-nocsum":
			err = set(oTunNoCsum)
		case "tun-csum":
			err = set(oTunCsum)
			c.dst.TunnelFlags |= ipvs.TunnelChecksum
		case "tun-remcsum":
			err = set(oTunRemCsum)
			c.dst.TunnelFlags |= ipvs.TunnelRemoteChecksum
		case "n":
			err = set(oNumeric)
			c.numeric = true
		case "c":
			err = set(oConnection)
			c.conns = true
		case "stats":
			err = set(oStats)
			c.stats = true
		case "rate":
			err = set(oRate)
			c.rate = true
		case "X":
			err = set(oExact)
			c.exact = true
		case "thresholds":
			err = set(oThresholds)
			c.thresholds = true
		case "persistent-conn":
			err = set(oPersistentConn)
			c.persistentConn = true
		case "tun-info":
			err = set(oTunInfo)
			c.tunInfo = true
		case "timeout":
			err = set(oTimeout)
			c.timeout = true
		case "daemon":
			err = set(oDaemon)
			c.daemon = true
		case "nosort":
			err = set(oNoSort)
			c.nosort = true
		case "sort": // the default; accepted for compatibility
		case "mcast-interface":
			err = set(oMcastInterface)
			name := o.val
			if len(name) > ifNameMax {
				name = name[:ifNameMax]
			}
			c.daemonV.Interface = name
		case "syncid":
			if err = set(oSyncID); err != nil {
				return nil, err
			}
			n, ok := cNumber(o.val, 0, 255)
			if !ok {
				return nil, badUsage("bad syncid %q (0 to 255)", o.val)
			}
			c.daemonV.SyncID = uint32(n)
		case "mcast-group":
			if err = set(oMcastGroup); err != nil {
				return nil, err
			}
			// An IPv6 group when the value has a colon, else an IPv4 one; multicast
			// either way.
			a, perr := netip.ParseAddr(o.val)
			v6 := strings.Contains(o.val, ":")
			if perr != nil || a.Zone() != "" || a.Is6() != v6 || v6 && a.As16()[0] != 0xff || !v6 && !a.IsMulticast() {
				return nil, badUsage("bad multicast group %q", o.val)
			}
			c.daemonV.Group = a
		case "mcast-port":
			if err = set(oMcastPort); err != nil {
				return nil, err
			}
			n, ok := cNumber(o.val, 1, 65535)
			if !ok {
				return nil, badUsage("bad mcast-port %q (1 to 65535)", o.val)
			}
			c.daemonV.Port = uint16(n)
		case "mcast-ttl":
			if err = set(oMcastTTL); err != nil {
				return nil, err
			}
			n, ok := cNumber(o.val, 1, 255)
			if !ok {
				return nil, badUsage("bad mcast-ttl %q (1 to 255)", o.val)
			}
			c.daemonV.TTL = uint8(n)
		case "sync-maxlen":
			if err = set(oSyncMaxLen); err != nil {
				return nil, err
			}
			n, ok := cNumber(o.val, 1, maxSyncMaxLen)
			if !ok {
				return nil, badUsage("bad sync-maxlen %q (1 to %d)", o.val, maxSyncMaxLen)
			}
			c.daemonV.MaxLen = uint16(n)
		default:
			return nil, badSyntax("unknown option %q", o.name)
		}
		if err != nil {
			return nil, err
		}
	}
	if tokErr != nil {
		if u, ok := tokErr.(*usageError); ok {
			u.inLine = true
		}
		return nil, tokErr
	}
	if c.cmd == "set" {
		if len(rest) < 3 {
			return nil, badUsage("--set needs 3 timeouts (tcp tcpfin udp)")
		}
		var ts [3]time.Duration
		for i, v := range rest[:3] {
			n, ok := cNumber(v, 0, maxTimeout)
			if !ok {
				return nil, badUsage("bad timeout %q (0 to %d)", v, maxTimeout)
			}
			ts[i] = time.Duration(n) * time.Second
		}
		c.timeouts = ipvs.Timeouts{TCP: ts[0], TCPFin: ts[1], UDP: ts[2]}
		rest = rest[3:]
	}
	if len(rest) > 0 {
		return nil, badUsage("unexpected argument %q", rest[0])
	}
	if schedArg != "" {
		f, err := parseSchedFlags(c.svc.Scheduler, schedArg)
		if err != nil {
			return nil, err
		}
		c.svc.Flags |= f
	}
	if err := rules[c.cmd].check(c.cmd, given); err != nil {
		return nil, err
	}
	if c.cmd == "L" && (given&setOf(oConnection, oTimeout, oDaemon) != 0 && given&setOf(oStats, oRate, oThresholds) != 0 ||
		given&setOf(oTimeout, oDaemon) != 0 && given&setOf(oPersistentConn) != 0) {
		return nil, badUsage("-L: these listing options exclude each other")
	}

	// The family is the address's as ipvsadm reads it: "[::ffff:192.0.2.1]:53" is an
	// IPv6 service, which the ipvs package would take as IPv4 from the address alone.
	c.svc.Family = svcFamily
	if c.hasR {
		c.dst.Family = familyOf(c.dst.Address)
	}
	if c.cmd == "A" || c.cmd == "E" {
		if c.svc.FWMark == 0 && c.svc.Port == 0 && c.svc.Flags&ipvs.FlagPersistent == 0 {
			return nil, badUsage("port zero is only allowed for a persistent service")
		}
		if c.svc.Flags&ipvs.FlagOnePacket != 0 && c.svc.FWMark == 0 && c.svc.Protocol != ipvs.UDP {
			return nil, badUsage("-o (one-packet scheduling) is for UDP and fwmark services only")
		}
		if c.svc.Scheduler == "" {
			c.svc.Scheduler = ipvs.DefaultScheduler
		}
	}
	// The netmask travels with every service; ipvsadm sends 255.255.255.255 (or 128)
	// unless -M changed it.
	if svcFamily == ipvs.IPv6 {
		if netmask != 128 {
			c.svc.Netmask = int(netmask)
		}
	} else if netmask != 0xffffffff {
		// Any mask, as ipvsadm: one that is no prefix (0.0.0.24 from "-M 24",
		// 0.0.0.0) travels as given.
		if n, ok := prefixLen(netmask); ok {
			c.svc.Netmask = n
		} else {
			c.svc.IPv4Mask = addr4(netmask)
		}
	}
	if c.cmd == "start-daemon" && c.daemonV.Interface == "" {
		c.daemonV.Interface = defaultMcastIf
	}
	if c.cmd == "a" || c.cmd == "e" {
		// Like ipvsadm: a direct-routing or tunnel server of an address service gets
		// the service's port whatever -r said.
		if c.svc.FWMark == 0 && (c.dst.Forward == ipvs.Tunnel || c.dst.Forward == ipvs.DirectRoute) {
			c.dst.Port = c.svc.Port
		}
		if familyOf(c.dst.Address) != svcFamily && c.dst.Forward != ipvs.Tunnel {
			return nil, badUsage("a real server of another address family must be a tunnel (-i)")
		}
		tun := setOf(oTunType, oTunPort, oTunNoCsum, oTunCsum, oTunRemCsum)
		if given&tun != 0 && c.dst.Forward != ipvs.Tunnel {
			return nil, badUsage("tunnel options need -i")
		}
		if err := tunnelRules[c.dst.TunnelType].check("-tun-type "+c.dst.TunnelType.String(), given&tun&^setOf(oTunType)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// tunnelRules are the options each tunnel type takes, as ipvsadm checks them.
var tunnelRules = map[ipvs.TunnelType]rule{
	ipvs.TunnelIPIP: {},
	ipvs.TunnelGUE:  {required: setOf(oTunPort), oneOf: setOf(oTunNoCsum, oTunCsum, oTunRemCsum)},
	ipvs.TunnelGRE:  {oneOf: setOf(oTunNoCsum, oTunCsum)},
}

// parseSchedFlags parses -b for the scheduler named (wlc when none is): flag-1 to
// flag-3 for any, sh-fallback and sh-port for sh only, mh-fallback and mh-port for mh
// only.
func parseSchedFlags(sched ipvs.Scheduler, arg string) (ipvs.ServiceFlags, error) {
	if sched == "" {
		sched = ipvs.DefaultScheduler
	}
	var flags ipvs.ServiceFlags
	for _, f := range strings.Split(arg, ",") {
		if f == "" {
			continue // strtok skips empty fields
		}
		var need ipvs.Scheduler
		switch f {
		case "flag-1":
			flags |= ipvs.FlagSched1
		case "flag-2":
			flags |= ipvs.FlagSched2
		case "flag-3":
			flags |= ipvs.FlagSched3
		case "sh-fallback", "sh-port":
			need = ipvs.SourceHashing
		case "mh-fallback", "mh-port":
			need = ipvs.MaglevHashing
		default:
			return 0, badUsage("unknown scheduler flag %q", f)
		}
		if need != "" {
			if sched != need {
				return 0, badUsage("scheduler flag %q needs -s %s", f, need)
			}
			if strings.HasSuffix(f, "-fallback") {
				flags |= ipvs.FlagSched1
			} else {
				flags |= ipvs.FlagSched2
			}
		}
	}
	return flags, nil
}
