package main

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/ipvs"
)

// A "virtual_server group NAME" is one model (one vsRun: its real servers, their
// health checks, its quorum) whose table entry is repeated for every service of
// the group, as keepalived does: a real server is checked once and its state
// applies to every member.

// groupServices returns the IPVS services of a virtual server using a
// virtual_server_group, one per address and port and one per fwmark, in the
// group's order; nil for a virtual server without a group.
func groupServices(vs *kaconf.VirtualServer, g *kaconf.VirtualServerGroup) []ipvs.Service {
	if vs.Group == "" || g == nil {
		return nil
	}
	var out []ipvs.Service
	for _, m := range g.Members {
		c := *vs
		c.Group = ""
		if m.FWMark != 0 {
			c.FWMark = m.FWMark
			s := serviceOf(&c)
			switch m.Family {
			case "inet":
				s.Family = ipvs.IPv4
			case "inet6":
				s.Family = ipvs.IPv6
			}
			out = append(out, s)
			continue
		}
		for _, a := range m.Addrs() {
			c.Addr = netip.AddrPortFrom(a, m.Addr.Port())
			out = append(out, serviceOf(&c))
		}
	}
	return out
}

// setGroup gives a virtual server using a group its member services; the first
// stands for the group where one service is named (logs, status).
func (v *vsRun) setGroup(cfg *kaconf.Config, scaleOut bool) {
	v.members = groupServices(&v.cfg, cfg.VirtualServerGroup(v.cfg.Group))
	if len(v.members) == 0 {
		v.members = nil
		return
	}
	if scaleOut {
		for i := range v.members {
			v.members[i] = scaleOutService(v.members[i])
		}
	}
	v.svc = v.members[0]
}

// services returns the IPVS services the virtual server stands for.
func (v *vsRun) services() []ipvs.Service {
	if v.members != nil {
		return v.members
	}
	return []ipvs.Service{v.svc}
}

// expand repeats a virtual server's table entry for each service of its group.
// As keepalived (ipvswrapper.c ipvs_group_cmd), a DR or TUN destination takes the
// member's port (0 for a fwmark), a NAT destination keeps the port written (0 means
// the service's port to the kernel).
func (v *vsRun) expand(vs ipvs.VirtualServer) []ipvs.VirtualServer {
	if v.members == nil {
		return []ipvs.VirtualServer{vs}
	}
	out := make([]ipvs.VirtualServer, 0, len(v.members))
	for _, s := range v.members {
		c := ipvs.VirtualServer{Service: s, Destinations: slices.Clone(vs.Destinations)}
		for i := range c.Destinations {
			if c.Destinations[i].Forward != ipvs.Masquerade {
				c.Destinations[i].Port = s.Port
			}
		}
		out = append(out, c)
	}
	return out
}

// groupECMPErr refuses, in the scale-out mode, a virtual server whose group has a
// fwmark: as a fwmark virtual server, it has no address to announce.
func groupECMPErr(cfg *kaconf.Config, vs *kaconf.VirtualServer) error {
	g := cfg.VirtualServerGroup(vs.Group)
	if vs.Group == "" || g == nil {
		return nil
	}
	for _, m := range g.Members {
		if m.FWMark != 0 {
			return fmt.Errorf("director: -ecmp-table: virtual_server group %s (%s) has fwmark %d (%s), which has no address to announce",
				vs.Group, vs.Pos, m.FWMark, m.Pos)
		}
	}
	return nil
}
