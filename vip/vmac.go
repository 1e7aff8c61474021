package vip

import (
	"errors"
	"net"
)

// MACVLAN describes a macvlan interface in private mode, the "virtual MAC"
// interface that a VRRP router can own its addresses on (keepalived's use_vmac):
// frames to MAC arrive on it and frames it sends leave with MAC as their source.
type MACVLAN struct {
	// Name is the macvlan's interface name, at most 15 bytes.
	Name string
	// Parent is the interface the macvlan sits on.
	Parent string
	// MAC is the macvlan's hardware address, usually VirtualMAC(vrid, ipv6).
	MAC net.HardwareAddr
	// Alias is the interface alias (IFLA_IFALIAS, which ip link shows as "alias")
	// that EnsureMACVLAN gives the macvlan, created or reused, so that its owner can
	// tell its own macvlans from others' after a crash (MACVLANs lists it). Empty
	// leaves the alias as it is. It is not compared: a macvlan that matches in
	// name, parent, mode and MAC is reused whatever its alias.
	Alias string
}

// ErrNotMACVLAN means an interface of the requested name exists but is not a
// private-mode macvlan on the requested parent with the requested MAC, so it was
// neither reused nor deleted.
var ErrNotMACVLAN = errors.New("interface exists and is not the requested macvlan")

// ErrMACVLANUnsupported is returned by the macvlan functions on systems other than
// Linux.
var ErrMACVLANUnsupported = errors.New("macvlan interfaces are supported only on Linux")

// VirtualMAC returns the VRRP virtual router MAC address of RFC 5798 section 7.3:
// 00-00-5E-00-01-{vrid} for IPv4 and 00-00-5E-00-02-{vrid} for IPv6.
func VirtualMAC(vrid uint8, ipv6 bool) net.HardwareAddr {
	fam := byte(0x01)
	if ipv6 {
		fam = 0x02
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, fam, vrid}
}
