package vrrp

import (
	"fmt"
	"net"
	"net/netip"
)

// TransportConfig configures ListenIP, the kernel transport.
type TransportConfig struct {
	// Interface is the name of the link to speak VRRP on. Required.
	Interface string
	// IPv6 selects IPv6 (ff02::12, hop limit 255); zero means IPv4 (224.0.0.18, TTL 255).
	IPv6 bool
	// Peers are unicast peers. Empty means multicast: the transport joins the VRRP
	// group on Interface. When set, the transport joins nothing and discards packets
	// from any other source (counted in IPTransport.Filtered).
	Peers []netip.Addr
}

// InterfaceAddr returns the address a VRRP instance on the named interface should use
// as its primary address: the first IPv4 address, or for IPv6 the link-local one
// (RFC 9568 5.1.2.1 wants the IPv6 source link-local).
func InterfaceAddr(name string, ipv6 bool) (netip.Addr, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("vrrp: interface %q: %w", name, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("vrrp: addresses of %q: %w", name, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if !ipv6 && ip.Is4() {
			return ip, nil
		}
		if ipv6 && ip.Is6() && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
	}
	fam := "IPv4"
	if ipv6 {
		fam = "IPv6 link-local"
	}
	return netip.Addr{}, fmt.Errorf("vrrp: interface %q has no %s address", name, fam)
}
