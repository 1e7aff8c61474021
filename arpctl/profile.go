package arpctl

import (
	"errors"
	"fmt"
	"strings"
)

// Entry is one setting and its value.
type Entry struct {
	// Setting is the sysctl and its scope.
	Setting Setting
	// Value is what the profile sets it to.
	Value int
	// Optional marks an entry that is skipped when its interface does not exist (such
	// as tunl0 before the ipip module is loaded). It is rendered with a leading "-"
	// in sysctl.d, which systemd-sysctl reads as "ignore a failure".
	Optional bool
}

// Profile is an ordered list of settings that together make a role.
type Profile struct {
	// Name says what the profile is for; SysctlD prints it as a comment.
	Name string
	// Entries are applied in order, and restored in reverse.
	Entries []Entry
}

// DRRealServer is the direct-routing real server: it never answers ARP for the VIPs
// it holds on lo, and never announces them as ARP sources. It sets arp_ignore=1 and
// arp_announce=2 on all and on lo, as the classic LVS-DR setup does (the kernel
// applies the maximum of all and the interface, so all alone would do; lo is set too
// so the intent survives someone lowering all).
func DRRealServer() Profile {
	return Profile{
		Name: "LVS-DR real server",
		Entries: []Entry{
			{Setting: Setting{All, ARPIgnore}, Value: 1},
			{Setting: Setting{All, ARPAnnounce}, Value: 2},
			{Setting: Setting{"lo", ARPIgnore}, Value: 1},
			{Setting: Setting{"lo", ARPAnnounce}, Value: 2},
		},
	}
}

// TUNRealServer is the IP-in-IP tunnel real server: DRRealServer plus reverse path
// filtering off on all and tunl0, since decapsulated packets arrive on tunl0 with a
// source the kernel would route elsewhere (rp_filter is the maximum of all and the
// interface, so both must be 0). tunl0 exists only once the ipip module is loaded;
// its entry is Optional and skipped when it is absent.
func TUNRealServer() Profile {
	p := DRRealServer()
	p.Name = "LVS-TUN real server"
	p.Entries = append(p.Entries,
		Entry{Setting: Setting{All, RPFilter}, Value: 0},
		Entry{Setting: Setting{"tunl0", RPFilter}, Value: 0, Optional: true},
	)
	return p
}

// Director is an LVS director that forwards (needed for LVS-NAT) and sends no ICMP
// redirects on iface, the interface facing the real servers: ip_forward=1 and
// send_redirects=0 on all, default and iface (send_redirects is an OR of all and the
// interface). Writing ip_forward also sets forwarding on every interface and clears
// all.accept_redirects; Apply records those so that Restore undoes them too.
func Director(iface string) Profile {
	return Profile{
		Name: "LVS director on " + iface,
		Entries: []Entry{
			{Setting: Setting{Key: IPForward}, Value: 1},
			{Setting: Setting{All, SendRedirects}, Value: 0},
			{Setting: Setting{Default, SendRedirects}, Value: 0},
			{Setting: Setting{Scope(iface), SendRedirects}, Value: 0},
		},
	}
}

// ScaleOutDirector is an LVS director that is one of several active behind a
// router's ECMP, each scheduling with mh (Maglev hashing) so that every director picks
// the same real server for a flow:
//
//   - sloppy_tcp=1 and sloppy_sctp=1: a flow that ECMP moves to this director
//     arrives without its SYN (INIT); without sloppy mode IPVS would not schedule it
//     and the connection would be reset.
//   - conntrack=0: no netfilter state for IPVS connections. A moved flow's packets
//     would be INVALID to a connection tracker that never saw the handshake, and a
//     firewall rule dropping INVALID would break exactly the flows scale-out keeps.
//     Hosts that need iptables NAT on IPVS traffic must not use this profile as is.
//   - expire_nodest_conn=1: a connection whose real server was deleted expires at
//     its next packet, so the client reconnects and is scheduled anew.
//   - expire_quiescent_template=1: persistence templates of a real server drained to
//     weight 0 expire, so persistent clients move off it as mh moves new flows.
//
// The keys exist only while the ip_vs module is loaded: Apply fails with ErrNoIPVS,
// naming the missing sysctl and changing nothing, when it is not. Load the module
// (or create the first virtual service) before applying.
func ScaleOutDirector() Profile {
	return Profile{
		Name: "LVS scale-out director (ECMP, mh)",
		Entries: []Entry{
			{Setting: Setting{Key: VSSloppyTCP}, Value: 1},
			{Setting: Setting{Key: VSSloppySCTP}, Value: 1},
			{Setting: Setting{Key: VSConntrack}, Value: 0},
			{Setting: Setting{Key: VSExpireNodestConn}, Value: 1},
			{Setting: Setting{Key: VSExpireQuiescentTemplate}, Value: 1},
		},
	}
}

// ECMPRouter is the router in front of scale-out directors: it forwards
// (ip_forward=1, with the side effects Director describes, undone by Restore) and
// hashes IPv4 and IPv6 flows over the next hops of an ECMP route by addresses, ports
// and protocol (fib_multipath_hash_policy=1 for both), so that one client's flows
// spread over the directors instead of all following one L3 hash. It is for the
// router (the lab's, or a Linux box acting as one), never for a director.
func ECMPRouter() Profile {
	return Profile{
		Name: "ECMP router in front of LVS directors",
		Entries: []Entry{
			{Setting: Setting{Key: IPForward}, Value: 1},
			{Setting: Setting{Key: FIBMultipathHashPolicy}, Value: 1},
			{Setting: Setting{Key: FIB6MultipathHashPolicy}, Value: 1},
		},
	}
}

// Validate checks every entry's setting and range.
func (p Profile) Validate() error {
	for _, e := range p.Entries {
		if err := e.Setting.Validate(e.Value); err != nil {
			return err
		}
	}
	return nil
}

// SysctlD renders the profile as a sysctl.d(5) file, for those who persist settings
// in /etc/sysctl.d. Names holding a dot (eth0.100) use the slash form, which both
// sysctl and systemd-sysctl accept.
func (p Profile) SysctlD() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s (written by lvskit arpctl)\n", p.Name)
	for _, e := range p.Entries {
		name := e.Setting.String()
		if strings.Contains(string(e.Setting.Scope), ".") {
			name = e.Setting.path()
		}
		if e.Optional {
			b.WriteString("-")
		}
		fmt.Fprintf(&b, "%s = %d\n", name, e.Value)
	}
	return b.String()
}

// Change is one setting that Apply changed, with its old and new values.
type Change struct {
	// Setting is the sysctl that changed.
	Setting Setting
	// Old is its value before Apply, New the value Apply wrote.
	Old, New int
}

// Snapshot is what a profile's Apply found, so that Restore puts it back.
type Snapshot struct {
	c *Client
	// written lists the profile's entries in the order written, with old values.
	written []Change
	// side holds values that a forwarding write changes as a side effect, restored
	// after the written entries.
	side []Entry
	// Skipped lists Optional entries that were not applied because their interface
	// does not exist.
	Skipped []Entry
}

// Changes lists the settings whose value Apply changed, in the order written.
func (s *Snapshot) Changes() []Change {
	var out []Change
	for _, ch := range s.written {
		if ch.Old != ch.New {
			out = append(out, ch)
		}
	}
	return out
}

// Apply validates p, records every value it will touch (including what a write of
// ip_forward or all.forwarding changes on every interface), then writes the profile in
// order. If a write fails, what was already written is restored before the error is
// returned, so a profile is never left half applied.
func (c *Client) Apply(p Profile) (*Snapshot, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	s := &Snapshot{c: c}
	err := c.do(func() error {
		var todo []Entry
		sideEffects := false
		for _, e := range p.Entries {
			old, err := c.read(e.Setting)
			if e.Optional && errors.Is(err, ErrUnknownInterface) {
				s.Skipped = append(s.Skipped, e)
				continue
			}
			if err != nil {
				return err
			}
			todo = append(todo, e)
			s.written = append(s.written, Change{Setting: e.Setting, Old: old, New: e.Value})
			if e.Setting.Key == IPForward || e.Setting == (Setting{All, Forwarding}) {
				sideEffects = true
			}
		}
		if sideEffects {
			side, err := c.forwardingState()
			if err != nil {
				return err
			}
			s.side = side
		}
		for i, e := range todo {
			if err := c.write(e.Setting, e.Value); err != nil {
				part := &Snapshot{c: c, written: s.written[:i], side: s.side}
				if rerr := part.restore(); rerr != nil {
					return fmt.Errorf("%w (and rolling back failed: %w)", err, rerr)
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// forwardingState records what a write of all.forwarding changes: forwarding on
// default and every interface, and all.accept_redirects. It runs inside do.
func (c *Client) forwardingState() ([]Entry, error) {
	var out []Entry
	add := func(s Setting) error {
		v, err := c.read(s)
		if err != nil {
			return err
		}
		out = append(out, Entry{Setting: s, Value: v})
		return nil
	}
	// all.forwarding itself first: restoring it resets the others, which follow.
	if err := add(Setting{All, Forwarding}); err != nil {
		return nil, err
	}
	if err := add(Setting{Default, Forwarding}); err != nil {
		return nil, err
	}
	ifs, err := c.interfacesLocked()
	if err != nil {
		return nil, err
	}
	for _, n := range ifs {
		if err := add(Setting{Scope(n), Forwarding}); err != nil {
			return nil, err
		}
	}
	if err := add(Setting{All, AcceptRedirects}); err != nil {
		return nil, err
	}
	return out, nil
}

// interfacesLocked is Interfaces for use inside do.
func (c *Client) interfacesLocked() ([]string, error) {
	var names []string
	des, err := readDir(c.root)
	if err != nil {
		return nil, fmt.Errorf("arpctl: list interfaces: %w", err)
	}
	for _, n := range des {
		if n != string(All) && n != string(Default) {
			names = append(names, n)
		}
	}
	return names, nil
}

// Restore writes back every value Apply found, in reverse order, then the values a
// forwarding write changed as a side effect. It keeps going after a failure and
// returns every error joined.
func (s *Snapshot) Restore() error {
	return s.c.do(s.restore)
}

func (s *Snapshot) restore() error {
	var errs []error
	for i := len(s.written) - 1; i >= 0; i-- {
		ch := s.written[i]
		if err := s.c.write(ch.Setting, ch.Old); err != nil {
			errs = append(errs, err)
		}
	}
	for _, e := range s.side {
		// An interface that vanished since Apply has nothing left to restore.
		if err := s.c.write(e.Setting, e.Value); err != nil && !errors.Is(err, ErrUnknownInterface) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
