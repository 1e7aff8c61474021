//go:build !linux

package ipvs

import "github.com/mdlayher/netlink"

// newDumper returns nil: outside Linux, Snapshot takes the general path.
func newDumper(*netlink.Conn, uint16) *dumper { return nil }
