package kaconf

import (
	"fmt"
	"strings"
)

// VMAC is a vrrp_instance's use_vmac: the instance owns a private-mode macvlan on
// its interface whose MAC is the VRRP virtual MAC (00:00:5e:00:01:VRID for IPv4,
// 00:00:5e:00:02:VRID for IPv6), and its virtual addresses live on that macvlan.
type VMAC struct {
	// Pos is where use_vmac is.
	Pos Pos
	// Name is the macvlan's interface name; empty means keepalived's default, a name
	// made from "vrrp" and the VRID.
	Name string
	// XmitBase is vmac_xmit_base: adverts are sent and received on the instance's
	// interface rather than on the macvlan (keepalived opens the instance's socket
	// there); the virtual addresses stay on the macvlan.
	XmitBase bool
}

// useVMAC reads use_vmac [[name] NAME]. keepalived also takes a MAC address, a
// route group and netlink_notify_msg; those are refused by name.

// maxIfNameLen is the longest interface name Linux takes (IFNAMSIZ - 1).
const maxIfNameLen = 15

func useVMAC(d *decoder, n *node, t *instRaw) {
	v := &VMAC{Pos: n.pos}
	for i := 0; i < len(n.args); i++ {
		a := n.arg(i)
		switch {
		case strings.Contains(a, ":"):
			d.errf(n, ErrValue, "a MAC address (%s) is not supported: the macvlan takes the VRRP virtual MAC", a)
			return
		case a == "netlink_notify_msg" || a == "group":
			d.errf(n, ErrValue, "%s is not supported", a)
			return
		case a == "name":
			if i+1 >= len(n.args) {
				d.errf(n, ErrValue, "name without an interface name")
				return
			}
			i++
			a = n.arg(i)
		}
		if v.Name != "" {
			d.errf(n, ErrValue, "interface name given twice (%s and %s)", v.Name, a)
			return
		}
		if why := badIfname(a); why != "" {
			d.errf(n, ErrValue, "%q is not a valid interface name: %s", a, why)
			return
		}
		v.Name = a
	}
	t.in.VMAC = v
}

// badIfname says why s cannot be a Linux interface name (dev_valid_name), or "".
func badIfname(s string) string {
	switch {
	case s == "":
		return "it is empty"
	case len(s) > maxIfNameLen:
		return fmt.Sprintf("%d bytes, more than 15", len(s))
	case s == "." || s == "..":
		return "it is . or .."
	case strings.ContainsAny(s, "/: \t\n\v\f\r"):
		return "it contains /, : or white space"
	}
	return ""
}

// resolveVMAC applies vmac_xmit_base to use_vmac and keepalived 2.2.7's
// corrections, as warnings: vmac_xmit_base without use_vmac or in strict mode is
// dropped, and unicast peers imply it.
func resolveVMAC(d *decoder, r *instRaw) {
	in, s := &r.in, r.seen
	xn, xmit := s["vmac_xmit_base"]
	if in.VMAC == nil {
		if xmit {
			d.warn(xn, "vmac_xmit_base is only valid with use_vmac: keepalived 2.2.7 ignores it (read the same way)")
		}
		return
	}
	in.VMAC.XmitBase = xmit
	if xmit && in.StrictMode {
		d.warn(xn, fmt.Sprintf("vmac_xmit_base is incompatible with strict mode (%s): keepalived 2.2.7 resets it (read the same way)", strictWhy(s)))
		in.VMAC.XmitBase = false
	}
	if len(in.UnicastPeers) > 0 && !in.VMAC.XmitBase {
		d.warn(&node{pos: in.VMAC.Pos, key: "use_vmac"}, "unicast peers with use_vmac require vmac_xmit_base: keepalived 2.2.7 sets it (read the same way)")
		in.VMAC.XmitBase = true
	}
}

// checkVMACNames refuses two instances naming the same macvlan.
func checkVMACNames(d *decoder, insts []*instRaw) {
	byName := map[string]*Instance{}
	for _, r := range insts {
		v := r.in.VMAC
		if v == nil || v.Name == "" {
			continue
		}
		if prev, dup := byName[v.Name]; dup {
			d.errf(&node{pos: v.Pos, key: "use_vmac"}, ErrValue, "vrrp_instance %s already uses interface %s (at %s)", prev.Name, v.Name, prev.VMAC.Pos)
			continue
		}
		byName[v.Name] = &r.in
	}
}

// formatVMAC writes use_vmac and vmac_xmit_base.
func formatVMAC(w *writer, v *VMAC) {
	if v == nil {
		return
	}
	if v.Name != "" {
		w.line("use_vmac", word(v.Name))
	} else {
		w.line("use_vmac")
	}
	w.flag("vmac_xmit_base", v.XmitBase)
}
