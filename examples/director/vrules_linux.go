package main

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nlRules is the rtnetlink ruleBackend: RTM_NEWRULE, RTM_DELRULE and a dump of
// RTM_GETRULE on one socket, one call at a time.
type nlRules struct{ *rtnlConn }

// dialKRules opens an rtnetlink socket in the namespace of the calling thread.
func dialKRules() (ruleBackend, error) {
	c, err := dialRTNL()
	if err != nil {
		return nil, err
	}
	return &nlRules{c}, nil
}

// sizeofFibRuleHdr is struct fib_rule_hdr: family, dst_len, src_len, tos, table,
// res1, res2, action, then u32 flags.
const sizeofFibRuleHdr = 12

var ruleActionNums = map[string]uint8{"table": unix.FR_ACT_TO_TBL, "goto": unix.FR_ACT_GOTO, "nop": unix.FR_ACT_NOP,
	"blackhole": unix.FR_ACT_BLACKHOLE, "unreachable": unix.FR_ACT_UNREACHABLE, "prohibit": unix.FR_ACT_PROHIBIT}

// encodeRule writes r as a struct fib_rule_hdr and its attributes, marked with
// kroutesProtocol.
func encodeRule(r ruleKey) ([]byte, error) {
	b := make([]byte, sizeofFibRuleHdr)
	b[0] = unix.AF_INET
	if r.V6 {
		b[0] = unix.AF_INET6
	}
	b[3] = r.TOS
	b[7] = ruleActionNums[r.Action]
	if r.Not {
		binary.NativeEndian.PutUint32(b[8:], unix.FIB_RULE_INVERT)
	}
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.NativeEndian
	if r.Action == "table" {
		if r.Table < 256 {
			b[4] = uint8(r.Table)
		} else {
			b[4] = unix.RT_TABLE_UNSPEC
		}
		ae.Uint32(unix.FRA_TABLE, r.Table)
	}
	if r.From.IsValid() && r.From.Bits() > 0 {
		b[2] = uint8(r.From.Bits())
		ae.Bytes(unix.FRA_SRC, r.From.Addr().AsSlice())
	}
	if r.To.IsValid() && r.To.Bits() > 0 {
		b[1] = uint8(r.To.Bits())
		ae.Bytes(unix.FRA_DST, r.To.Addr().AsSlice())
	}
	ae.Uint32(unix.FRA_PRIORITY, r.Priority)
	if r.FwMark != 0 || r.FwMask != 0 {
		ae.Uint32(unix.FRA_FWMARK, r.FwMark)
		if r.FwMask != 0 {
			ae.Uint32(unix.FRA_FWMASK, r.FwMask)
		}
	}
	if r.HasSuppressPrefixLen {
		ae.Uint32(unix.FRA_SUPPRESS_PREFIXLEN, r.SuppressPrefixLen)
	}
	if r.Iif != "" {
		ae.String(unix.FRA_IIFNAME, r.Iif)
	}
	if r.Oif != "" {
		ae.String(unix.FRA_OIFNAME, r.Oif)
	}
	if r.HasUIDRange {
		u := make([]byte, 8)
		binary.NativeEndian.PutUint32(u, r.UIDRange[0])
		binary.NativeEndian.PutUint32(u[4:], r.UIDRange[1])
		ae.Bytes(unix.FRA_UID_RANGE, u)
	}
	ae.Uint8(unix.FRA_PROTOCOL, kroutesProtocol)
	if r.IPProto != 0 {
		ae.Uint8(unix.FRA_IP_PROTO, r.IPProto)
	}
	for _, p := range []struct {
		typ uint16
		v   [2]uint16
	}{{unix.FRA_SPORT_RANGE, r.SPort}, {unix.FRA_DPORT_RANGE, r.DPort}} {
		if p.v[0] != 0 {
			u := make([]byte, 4)
			binary.NativeEndian.PutUint16(u, p.v[0])
			binary.NativeEndian.PutUint16(u[2:], p.v[1])
			ae.Bytes(p.typ, u)
		}
	}
	if r.Action == "goto" {
		ae.Uint32(unix.FRA_GOTO, r.Goto)
	}
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(b, attrs...), nil
}

// decodeRule reads one RTM_NEWRULE body into a rule and its protocol; ok is false
// for a rule the director's rules cannot be (another family, an action or an
// attribute the reader does not take), which is then never the director's.
func decodeRule(b []byte) (r ruleKey, proto uint8, ok bool, err error) {
	if len(b) < sizeofFibRuleHdr {
		return r, 0, false, errors.New("short fib_rule_hdr")
	}
	switch b[0] {
	case unix.AF_INET:
	case unix.AF_INET6:
		r.V6 = true
	default:
		return r, 0, false, nil
	}
	dstLen, srcLen := int(b[1]), int(b[2])
	r.TOS = b[3]
	table := uint32(b[4])
	ok = true
	for name, num := range ruleActionNums {
		if num == b[7] {
			r.Action = name
		}
	}
	if r.Action == "" {
		ok = false
	}
	r.Not = binary.NativeEndian.Uint32(b[8:])&unix.FIB_RULE_INVERT != 0
	ad, err := netlink.NewAttributeDecoder(b[sizeofFibRuleHdr:])
	if err != nil {
		return r, 0, false, err
	}
	ad.ByteOrder = binary.NativeEndian
	prefix := func(bits int) netip.Prefix {
		a, _ := netip.AddrFromSlice(ad.Bytes())
		return netip.PrefixFrom(a, bits)
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.FRA_TABLE:
			table = ad.Uint32()
		case unix.FRA_SRC:
			r.From = prefix(srcLen)
		case unix.FRA_DST:
			r.To = prefix(dstLen)
		case unix.FRA_PRIORITY:
			r.Priority = ad.Uint32()
		case unix.FRA_FWMARK:
			r.FwMark = ad.Uint32()
		case unix.FRA_FWMASK:
			if m := ad.Uint32(); m != 0xffffffff {
				r.FwMask = m
			}
		case unix.FRA_SUPPRESS_PREFIXLEN:
			if v := ad.Uint32(); v != 0xffffffff { // -1: unset
				r.SuppressPrefixLen, r.HasSuppressPrefixLen = v, true
			}
		case unix.FRA_IIFNAME:
			r.Iif = ad.String()
		case unix.FRA_OIFNAME:
			r.Oif = ad.String()
		case unix.FRA_UID_RANGE:
			if u := ad.Bytes(); len(u) == 8 {
				r.UIDRange = [2]uint32{binary.NativeEndian.Uint32(u), binary.NativeEndian.Uint32(u[4:])}
				r.HasUIDRange = true
			}
		case unix.FRA_PROTOCOL:
			proto = ad.Uint8()
		case unix.FRA_IP_PROTO:
			r.IPProto = ad.Uint8()
		case unix.FRA_SPORT_RANGE, unix.FRA_DPORT_RANGE:
			if u := ad.Bytes(); len(u) == 4 {
				v := [2]uint16{binary.NativeEndian.Uint16(u), binary.NativeEndian.Uint16(u[2:])}
				if ad.Type() == unix.FRA_SPORT_RANGE {
					r.SPort = v
				} else {
					r.DPort = v
				}
			}
		case unix.FRA_GOTO:
			r.Goto = ad.Uint32()
		case unix.FRA_FLOW, unix.FRA_L3MDEV, unix.FRA_TUN_ID, unix.FRA_SUPPRESS_IFGROUP:
			ok = false // not one the reader makes
		}
	}
	if err := ad.Err(); err != nil {
		return r, 0, false, err
	}
	if r.Action == "table" {
		r.Table = table
	}
	return r, proto, ok, nil
}

// Add creates r exclusively; the director's identical rule already there is not
// an error (the kernel answers EEXIST only for a rule of the same protocol).
func (n *nlRules) Add(ctx context.Context, r ruleKey) error {
	body, err := encodeRule(r)
	if err != nil {
		return err
	}
	_, err = n.execute(ctx, unix.RTM_NEWRULE, netlink.Acknowledge|netlink.Create|netlink.Excl, body)
	if errors.Is(err, syscall.EEXIST) {
		return nil
	}
	return err
}

// Delete deletes the director's rule r: the kernel matches the protocol, so an
// administrator's identical rule stays.
func (n *nlRules) Delete(ctx context.Context, r ruleKey) error {
	body, err := encodeRule(r)
	if err != nil {
		return err
	}
	_, err = n.execute(ctx, unix.RTM_DELRULE, netlink.Acknowledge, body)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// List dumps the IPv4 and IPv6 rules.
func (n *nlRules) List(ctx context.Context) ([]listedRule, error) {
	var out []listedRule
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		req := make([]byte, sizeofFibRuleHdr)
		req[0] = fam
		msgs, err := n.execute(ctx, unix.RTM_GETRULE, netlink.Dump, req)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Header.Type != unix.RTM_NEWRULE {
				continue
			}
			r, proto, ok, err := decodeRule(m.Data)
			if err != nil {
				return nil, err
			}
			if ok || proto == kroutesProtocol {
				out = append(out, listedRule{r: keyOfRule(r), ours: proto == kroutesProtocol})
			}
		}
	}
	return out, nil
}
