package arpctl

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

const renderedBy = " (written by lvskit arpctl)"

// ParseSysctlD reads a sysctl.d(5) file that sets only the settings arpctl knows, such
// as one that Profile.SysctlD wrote, back into a Profile. Both the dotted and the
// slashed forms of names are accepted; a leading "-" marks the entry Optional. Lines
// starting with "#" or ";" are comments; a first comment of the form SysctlD writes
// gives the profile its Name. Unknown settings and out-of-range values are errors.
func ParseSysctlD(text string) (Profile, error) {
	var p Profile
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if line[0] == '#' || line[0] == ';' {
			if n == 1 && strings.HasSuffix(line, renderedBy) {
				p.Name = strings.TrimSpace(strings.TrimSuffix(line[1:], renderedBy))
			}
			continue
		}
		e := Entry{}
		if line[0] == '-' {
			e.Optional = true
			line = line[1:]
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			return Profile{}, fmt.Errorf("arpctl: sysctl.d line %d: no '='", n)
		}
		s, err := parseName(strings.TrimSpace(name))
		if err != nil {
			return Profile{}, fmt.Errorf("arpctl: sysctl.d line %d: %w", n, err)
		}
		v, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			return Profile{}, fmt.Errorf("arpctl: sysctl.d line %d: %w", n, err)
		}
		if err := s.Validate(v); err != nil {
			return Profile{}, fmt.Errorf("sysctl.d line %d: %w", n, err)
		}
		e.Setting, e.Value = s, v
		p.Entries = append(p.Entries, e)
	}
	return p, sc.Err()
}

// parseName turns net.ipv4.conf.SCOPE.KEY, net/ipv4/conf/SCOPE/KEY, or the dotted or
// slashed name of a global key (net.ipv4.ip_forward, net.ipv4.vs.sloppy_tcp, ...) into
// a Setting.
func parseName(name string) (Setting, error) {
	sep := "."
	if strings.Contains(name, "/") {
		sep = "/"
	}
	parts := strings.Split(name, sep)
	switch {
	case len(parts) == 3 && parts[0] == "net" && parts[1] == "ipv4" && parts[2] == string(IPForward):
		return Setting{Key: IPForward}, nil
	case Key(strings.Join(parts, ".")).Global() && Key(strings.Join(parts, ".")).known():
		return Setting{Key: Key(strings.Join(parts, "."))}, nil
	case len(parts) == 5 && parts[0] == "net" && parts[1] == "ipv4" && parts[2] == "conf":
		s := Setting{Scope: Scope(parts[3]), Key: Key(parts[4])}
		if s.Key.Global() {
			return Setting{}, fmt.Errorf("%w: %q", ErrUnknownKey, name)
		}
		return s, s.check()
	}
	return Setting{}, fmt.Errorf("%w: %q", ErrUnknownKey, name)
}
