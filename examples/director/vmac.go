package main

import (
	"fmt"

	"github.com/lvskit/lvskit/examples/director/kaconf"
)

// refuseVMAC refuses use_vmac: kaconf reads it and package vip can make the
// macvlan (vip.Client.EnsureMACVLAN), but the director does not yet put the
// instance's addresses on it nor send adverts from it. Running the instance on its
// interface instead would answer ARP with the interface's MAC, not the virtual
// MAC the configuration asks for, so the configuration is refused rather than run
// differently.
func refuseVMAC(in *kaconf.Instance) error {
	if in.VMAC == nil {
		return nil
	}
	return fmt.Errorf("%s: use_vmac is not supported by the director yet (the virtual addresses would sit on %s with its own MAC): remove use_vmac and vmac_xmit_base", in.VMAC.Pos, in.Interface)
}
