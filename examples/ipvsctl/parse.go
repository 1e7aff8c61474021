package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/ipvs"
)

// command is one parsed ipvsadm command line.
type command struct {
	cmd  string // "A", "E", "D", "a", "e", "d", "C", "L", "Z", "S", "R", "set", "start-daemon", "stop-daemon"
	svc  ipvs.Service
	hasS bool // a service was named
	dst  ipvs.Destination
	hasR bool
	fwd  bool // a forwarding option was given

	// listing
	numeric, stats, rate, exact, thresholds, persistentConn, tunInfo, timeout, daemon, nosort bool

	timeouts ipvs.Timeouts
	daemonV  ipvs.Daemon
	state    string
}

// valued lists the options that take a value (short and long).
var valued = map[string]bool{
	"t": true, "u": true, "f": true, "s": true, "M": true, "b": true, "r": true, "w": true, "x": true, "y": true,
	"tcp-service": true, "udp-service": true, "sctp-service": true, "fwmark-service": true, "scheduler": true,
	"netmask": true, "sched-flags": true, "real-server": true, "weight": true, "u-threshold": true, "l-threshold": true,
	"pe": true, "tun-type": true, "tun-port": true, "mcast-interface": true, "syncid": true, "sync-maxlen": true,
	"mcast-group": true, "mcast-port": true, "mcast-ttl": true,
}

// long names of short options.
var longName = map[string]string{
	"add-service": "A", "edit-service": "E", "delete-service": "D", "clear": "C", "restore": "R", "save": "S",
	"add-server": "a", "edit-server": "e", "delete-server": "d", "list": "L", "zero": "Z",
	"tcp-service": "t", "udp-service": "u", "fwmark-service": "f", "scheduler": "s", "persistent": "p",
	"netmask": "M", "sched-flags": "b", "real-server": "r", "gatewaying": "g", "ipip": "i", "masquerading": "m",
	"weight": "w", "u-threshold": "x", "l-threshold": "y", "numeric": "n", "ops": "o", "ipv6": "6",
}

type opt struct{ name, val string }

// tokenize splits argv into options, expanding clusters like -Ln and handling
// -p's optional value.
func tokenize(args []string) ([]opt, error) {
	var out []opt
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func(name string) (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %s needs a value", name)
			}
			i++
			return args[i], nil
		}
		switch {
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			if s, ok := longName[name]; ok {
				name = s
			}
			switch {
			case hasVal:
			case valued[name]:
				v, err := next("--" + name)
				if err != nil {
					return nil, err
				}
				val = v
			case name == "p" || name == "set" || name == "start-daemon" || name == "stop-daemon":
				// values handled below
			}
			out = append(out, opt{name, val})
			if name == "set" {
				for k := 0; k < 3; k++ {
					v, err := next("--set")
					if err != nil {
						return nil, err
					}
					out[len(out)-1].val += v + " "
				}
			}
			if name == "start-daemon" || name == "stop-daemon" {
				v, err := next("--" + name)
				if err != nil {
					return nil, err
				}
				out[len(out)-1].val = v
			}
			if name == "p" && !hasVal && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				out[len(out)-1].val = args[i]
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				name := string(a[j])
				if valued[name] {
					val := a[j+1:]
					if val == "" {
						v, err := next("-" + name)
						if err != nil {
							return nil, err
						}
						val = v
					}
					out = append(out, opt{name, val})
					break
				}
				o := opt{name: name}
				if name == "p" {
					if j+1 < len(a) {
						o.val = a[j+1:]
						out = append(out, o)
						break
					}
					if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
						i++
						o.val = args[i]
					}
				}
				out = append(out, o)
			}
		default:
			return nil, fmt.Errorf("unexpected argument %q", a)
		}
	}
	return out, nil
}

func parseAddrPort(s string, defPort uint16) (netip.Addr, uint16, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), ap.Port(), nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("bad address %q (numeric addresses only)", s)
	}
	return a, defPort, nil
}

func parseCommand(args []string) (*command, error) {
	opts, err := tokenize(args)
	if err != nil {
		return nil, err
	}
	c := &command{}
	c.dst.Weight = 1
	c.dst.Forward = ipvs.DirectRoute
	var ipv6, persistent bool
	var timeout uint64 = 300
	var mask string
	setCmd := func(name string) error {
		if c.cmd != "" && c.cmd != name {
			return fmt.Errorf("only one command at a time (-%s and -%s)", c.cmd, name)
		}
		c.cmd = name
		return nil
	}
	num := func(o opt, bits int) (uint64, error) {
		v, err := strconv.ParseUint(o.val, 10, bits)
		if err != nil {
			return 0, fmt.Errorf("bad value %q for -%s", o.val, o.name)
		}
		return v, nil
	}
	for _, o := range opts {
		switch o.name {
		case "A", "E", "D", "a", "e", "d", "C", "Z", "S", "R":
			if err := setCmd(o.name); err != nil {
				return nil, err
			}
		case "L", "l":
			if err := setCmd("L"); err != nil {
				return nil, err
			}
		case "set":
			if err := setCmd("set"); err != nil {
				return nil, err
			}
			f := strings.Fields(o.val)
			var ts [3]time.Duration
			for i, v := range f {
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil {
					return nil, fmt.Errorf("bad --set value %q", v)
				}
				ts[i] = time.Duration(n) * time.Second
			}
			c.timeouts = ipvs.Timeouts{TCP: ts[0], TCPFin: ts[1], UDP: ts[2]}
		case "start-daemon", "stop-daemon":
			if err := setCmd(o.name); err != nil {
				return nil, err
			}
			c.state = o.val
			switch o.val {
			case "master":
				c.daemonV.State = ipvs.DaemonMaster
			case "backup":
				c.daemonV.State = ipvs.DaemonBackup
			default:
				return nil, fmt.Errorf("daemon state must be master or backup, not %q", o.val)
			}
		case "t", "u", "sctp-service":
			c.hasS = true
			c.svc.Protocol = map[string]ipvs.Protocol{"t": ipvs.TCP, "u": ipvs.UDP, "sctp-service": ipvs.SCTP}[o.name]
			a, p, err := parseAddrPort(o.val, 0)
			if err != nil {
				return nil, err
			}
			c.svc.Address, c.svc.Port = a, p
		case "f":
			v, err := num(o, 32)
			if err != nil {
				return nil, err
			}
			c.hasS = true
			c.svc.FWMark = uint32(v)
		case "6":
			ipv6 = true
		case "s":
			c.svc.Scheduler = ipvs.Scheduler(o.val)
		case "p":
			persistent = true
			if o.val != "" {
				v, err := num(o, 32)
				if err != nil {
					return nil, err
				}
				timeout = v
			}
		case "M":
			mask = o.val
		case "pe":
			c.svc.PersistenceEngine = o.val
		case "o":
			c.svc.Flags |= ipvs.FlagOnePacket
		case "b":
			for _, f := range strings.Split(o.val, ",") {
				switch f {
				case "sh-fallback", "mh-fallback", "flag-1":
					c.svc.Flags |= ipvs.FlagSched1
				case "sh-port", "mh-port", "flag-2":
					c.svc.Flags |= ipvs.FlagSched2
				case "flag-3":
					c.svc.Flags |= ipvs.FlagSched3
				default:
					return nil, fmt.Errorf("unknown scheduler flag %q", f)
				}
			}
		case "r":
			a, p, err := parseAddrPort(o.val, 0xffff)
			if err != nil {
				return nil, err
			}
			c.hasR = true
			c.dst.Address, c.dst.Port = a, p
		case "g", "i", "m":
			c.fwd = true
			c.dst.Forward = map[string]ipvs.ForwardMethod{"g": ipvs.DirectRoute, "i": ipvs.Tunnel, "m": ipvs.Masquerade}[o.name]
		case "w":
			v, err := strconv.ParseInt(o.val, 10, 32)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("bad weight %q", o.val)
			}
			c.dst.Weight = int32(v)
		case "x", "y":
			v, err := num(o, 32)
			if err != nil {
				return nil, err
			}
			if o.name == "x" {
				c.dst.UpperThreshold = uint32(v)
			} else {
				c.dst.LowerThreshold = uint32(v)
			}
		case "tun-type":
			t, ok := map[string]ipvs.TunnelType{"ipip": ipvs.TunnelIPIP, "gue": ipvs.TunnelGUE, "gre": ipvs.TunnelGRE}[o.val]
			if !ok {
				return nil, fmt.Errorf("unknown tunnel type %q", o.val)
			}
			c.dst.TunnelType = t
		case "tun-port":
			v, err := num(o, 16)
			if err != nil {
				return nil, err
			}
			c.dst.TunnelPort = uint16(v)
		case "tun-nocsum":
			c.dst.TunnelFlags = 0
		case "tun-csum":
			c.dst.TunnelFlags = ipvs.TunnelChecksum
		case "tun-remcsum":
			c.dst.TunnelFlags = ipvs.TunnelRemoteChecksum
		case "n":
			c.numeric = true
		case "stats":
			c.stats = true
		case "rate":
			c.rate = true
		case "exact":
			c.exact = true
		case "thresholds":
			c.thresholds = true
		case "persistent-conn":
			c.persistentConn = true
		case "tun-info":
			c.tunInfo = true
		case "timeout":
			c.timeout = true
		case "daemon":
			c.daemon = true
		case "nosort":
			c.nosort = true
		case "mcast-interface":
			c.daemonV.Interface = o.val
		case "syncid":
			v, err := num(o, 8)
			if err != nil {
				return nil, err
			}
			c.daemonV.SyncID = uint32(v)
		case "sync-maxlen":
			v, err := num(o, 16)
			if err != nil {
				return nil, err
			}
			c.daemonV.MaxLen = uint16(v)
		case "mcast-group":
			a, err := netip.ParseAddr(o.val)
			if err != nil {
				return nil, fmt.Errorf("bad multicast group %q", o.val)
			}
			c.daemonV.Group = a
		case "mcast-port":
			v, err := num(o, 16)
			if err != nil {
				return nil, err
			}
			c.daemonV.Port = uint16(v)
		case "mcast-ttl":
			v, err := num(o, 8)
			if err != nil {
				return nil, err
			}
			c.daemonV.TTL = uint8(v)
		default:
			return nil, fmt.Errorf("unknown option %q", o.name)
		}
	}
	if c.cmd == "" {
		if c.timeout || c.daemon {
			c.cmd = "L"
		} else {
			return nil, fmt.Errorf("no command given")
		}
	}
	if c.svc.FWMark != 0 && ipv6 {
		c.svc.Family = ipvs.IPv6
	}
	if c.dst.Port == 0xffff && c.hasR {
		c.dst.Port = c.svc.Port
	}
	if persistent {
		c.svc.Flags |= ipvs.FlagPersistent
		c.svc.Timeout = time.Duration(timeout) * time.Second
	}
	if mask != "" {
		if a, err := netip.ParseAddr(mask); err == nil && a.Is4() {
			b := a.As4()
			m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			n := 0
			for n < 32 && m&(1<<(31-n)) != 0 {
				n++
			}
			c.svc.Netmask = n
		} else if n, err := strconv.Atoi(mask); err == nil {
			c.svc.Netmask = n
		} else {
			return nil, fmt.Errorf("bad netmask %q", mask)
		}
	}
	switch c.cmd {
	case "A", "E", "D", "a", "e", "d":
		if !c.hasS {
			return nil, fmt.Errorf("-%s needs a service (-t, -u, --sctp-service or -f)", c.cmd)
		}
	}
	switch c.cmd {
	case "a", "e", "d":
		if !c.hasR {
			return nil, fmt.Errorf("-%s needs a real server (-r)", c.cmd)
		}
	}
	return c, nil
}
