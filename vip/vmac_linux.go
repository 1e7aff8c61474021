package vip

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/mdlayher/netlink"
)

// rtnetlink numbers for macvlan links, from linux/if_link.h.
const (
	iflaLink     = 5
	iflaLinkinfo = 18
	iflaIfalias  = 20
	iflaAFSpec   = 26

	iflaInfoKind = 1
	iflaInfoData = 2

	iflaMacvlanMode    = 1
	macvlanModePrivate = 1

	iflaInet6AddrGenMode = 8
	in6AddrGenModeNone   = 1
)

// linkDetail is a link message with what a macvlan check needs.
type linkDetail struct {
	link
	parent uint32 // IFLA_LINK, 0 when absent
	kind   string // IFLA_INFO_KIND
	mode   uint32 // IFLA_MACVLAN_MODE, for kind "macvlan"
	alias  string // IFLA_IFALIAS
}

func (l *linkDetail) unmarshal(b []byte) error {
	*l = linkDetail{}
	return l.link.unmarshalWith(b, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case iflaLink:
			l.parent = ad.Uint32()
		case iflaIfalias:
			l.alias = ad.String()
		case iflaLinkinfo:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					switch nad.Type() {
					case iflaInfoKind:
						l.kind = nad.String()
					case iflaInfoData:
						if l.kind != "macvlan" {
							continue
						}
						nad.Nested(func(dad *netlink.AttributeDecoder) error {
							for dad.Next() {
								if dad.Type() == iflaMacvlanMode {
									l.mode = dad.Uint32()
								}
							}
							return nil
						})
					}
				}
				return nil
			})
		}
	})
}

// linkDetails lists the namespace's links. c.mu is held.
func (c *Client) linkDetails() ([]linkDetail, error) {
	msgs, err := c.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: rtmGetLink, Flags: netlink.Request | netlink.Dump},
		Data:   make([]byte, 16),
	})
	if err != nil {
		return nil, fmt.Errorf("vip: list links: %w", err)
	}
	out := make([]linkDetail, 0, len(msgs))
	for _, m := range msgs {
		if m.Header.Type != rtmNewLink {
			continue
		}
		var l linkDetail
		if err := l.unmarshal(m.Data); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// findMACVLAN returns the link named m.Name (nil when there is none) and the index
// of m.Parent, and reports an ErrNotMACVLAN error when the named link is not the
// macvlan m describes. c.mu is held.
func (c *Client) findMACVLAN(m MACVLAN) (*linkDetail, uint32, error) {
	ls, err := c.linkDetails()
	if err != nil {
		return nil, 0, err
	}
	var self *linkDetail
	var parent uint32
	for i := range ls {
		switch ls[i].name {
		case m.Name:
			self = &ls[i]
		case m.Parent:
			parent = ls[i].index
		}
	}
	if parent == 0 {
		return nil, 0, fmt.Errorf("vip: macvlan %q: parent %w %q", m.Name, ErrUnknownInterface, m.Parent)
	}
	if self == nil {
		return nil, parent, nil
	}
	var why string
	switch {
	case self.kind != "macvlan":
		kind := self.kind
		if kind == "" {
			kind = "a physical or unknown"
		}
		why = fmt.Sprintf("it is %s link", kind)
	case self.mode != macvlanModePrivate:
		why = fmt.Sprintf("its macvlan mode is %d, not private", self.mode)
	case self.parent != parent:
		why = fmt.Sprintf("its parent is not %s", m.Parent)
	case !bytes.Equal(self.mac, m.MAC):
		why = fmt.Sprintf("its MAC is %s, not %s", self.mac, m.MAC)
	}
	if why != "" {
		return self, parent, fmt.Errorf("vip: interface %q: %w: %s", m.Name, ErrNotMACVLAN, why)
	}
	return self, parent, nil
}

func validMACVLAN(m MACVLAN) error {
	if m.Name == "" || len(m.Name) > 15 {
		return fmt.Errorf("vip: macvlan name %q must be 1 to 15 bytes", m.Name)
	}
	if m.Parent == "" {
		return fmt.Errorf("vip: macvlan %q: no parent interface", m.Name)
	}
	if len(m.MAC) != 6 {
		return fmt.Errorf("vip: macvlan %q: MAC %q is not 6 bytes", m.Name, m.MAC)
	}
	return nil
}

// EnsureMACVLAN creates the private-mode macvlan m on m.Parent with m.MAC, stops
// the kernel from giving it an IPv6 link-local address of its own (RFC 5798
// section 7.4 wants none derived from the virtual MAC), and brings it up. An
// existing macvlan that already matches m (kind, private mode, parent and MAC) is
// reused and brought up; a link named m.Name that does not match is left alone and
// the error wraps ErrNotMACVLAN and says what differs. A missing parent wraps
// ErrUnknownInterface.
//
// The kernel sysctls that keepalived also sets on the macvlan and its parent
// (arp_ignore, arp_filter, accept_local, rp_filter) are not the Client's concern;
// they are files under /proc/sys/net/ipv4/conf in the same namespace.
func (c *Client) EnsureMACVLAN(ctx context.Context, m MACVLAN) (err error) {
	if err := validMACVLAN(m); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	disarm, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer disarm()
	defer func() { err = ctxErr(ctx, err) }()

	self, parent, err := c.findMACVLAN(m)
	if err != nil {
		return err
	}
	if self == nil {
		ae := netlink.NewAttributeEncoder()
		ae.String(iflaIfname, m.Name)
		ae.Uint32(iflaLink, parent)
		ae.Bytes(iflaAddress, m.MAC)
		ae.Nested(iflaLinkinfo, func(nae *netlink.AttributeEncoder) error {
			nae.String(iflaInfoKind, "macvlan")
			nae.Nested(iflaInfoData, func(dae *netlink.AttributeEncoder) error {
				dae.Uint32(iflaMacvlanMode, macvlanModePrivate)
				return nil
			})
			return nil
		})
		attrs, err := ae.Encode()
		if err != nil {
			return fmt.Errorf("vip: macvlan %q: %w", m.Name, err)
		}
		_, err = c.conn.Execute(netlink.Message{
			Header: netlink.Header{Type: rtmNewLink, Flags: netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl},
			Data:   append(make([]byte, 16), attrs...),
		})
		if err != nil {
			return fmt.Errorf("vip: create macvlan %q on %s: %w", m.Name, m.Parent, err)
		}
		if self, _, err = c.findMACVLAN(m); err != nil {
			return err
		}
		if self == nil {
			return fmt.Errorf("vip: macvlan %q vanished after it was created", m.Name)
		}
	}

	// No link-local address from the virtual MAC. This must come before the link
	// goes up, which is when the kernel would add one; kernels without IPv6 refuse it
	// and have nothing to stop.
	ae := netlink.NewAttributeEncoder()
	ae.Nested(iflaAFSpec, func(nae *netlink.AttributeEncoder) error {
		nae.Nested(afInet6, func(iae *netlink.AttributeEncoder) error {
			iae.Uint8(iflaInet6AddrGenMode, in6AddrGenModeNone)
			return nil
		})
		return nil
	})
	attrs, err := ae.Encode()
	if err != nil {
		return fmt.Errorf("vip: macvlan %q: %w", m.Name, err)
	}
	if err := c.setLink(self.index, 0, 0, attrs); err != nil &&
		!errors.Is(err, syscall.EAFNOSUPPORT) && !errors.Is(err, syscall.EOPNOTSUPP) {
		return fmt.Errorf("vip: macvlan %q: stop IPv6 link-local address: %w", m.Name, err)
	}
	if m.Alias != "" && self.alias != m.Alias {
		ae := netlink.NewAttributeEncoder()
		ae.String(iflaIfalias, m.Alias)
		attrs, err := ae.Encode()
		if err != nil {
			return fmt.Errorf("vip: macvlan %q: %w", m.Name, err)
		}
		if err := c.setLink(self.index, 0, 0, attrs); err != nil {
			return fmt.Errorf("vip: macvlan %q: set alias: %w", m.Name, err)
		}
	}
	if self.flags&iffUp == 0 {
		if err := c.setLink(self.index, iffUp, iffUp, nil); err != nil {
			return fmt.Errorf("vip: bring up macvlan %q: %w", m.Name, err)
		}
	}
	return nil
}

// MACVLANs lists the private-mode macvlans in the namespace, with their parent
// (empty when it is in another namespace), MAC and alias: the kind EnsureMACVLAN
// makes, whoever made them. An owner finds its own by their Alias.
func (c *Client) MACVLANs(ctx context.Context) (_ []MACVLAN, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	disarm, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer disarm()
	defer func() { err = ctxErr(ctx, err) }()
	ls, err := c.linkDetails()
	if err != nil {
		return nil, err
	}
	names := make(map[uint32]string, len(ls))
	for _, l := range ls {
		names[l.index] = l.name
	}
	var out []MACVLAN
	for _, l := range ls {
		if l.kind != "macvlan" || l.mode != macvlanModePrivate {
			continue
		}
		out = append(out, MACVLAN{Name: l.name, Parent: names[l.parent], MAC: l.mac, Alias: l.alias})
	}
	return out, nil
}

// setLink sends RTM_NEWLINK for the link at index, changing the flags in change
// to those in flags, with attrs. c.mu is held.
func (c *Client) setLink(index, flags, change uint32, attrs []byte) error {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint32(b[4:], index)
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	_, err := c.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: rtmNewLink, Flags: netlink.Request | netlink.Acknowledge},
		Data:   append(b, attrs...),
	})
	return err
}

// DeleteMACVLAN deletes the macvlan m. Nothing to delete is no error; a link named
// m.Name that is not the macvlan m describes is not deleted, and the error wraps
// ErrNotMACVLAN. A missing parent is no error either: the kernel removes a
// macvlan along with its parent.
func (c *Client) DeleteMACVLAN(ctx context.Context, m MACVLAN) (err error) {
	if err := validMACVLAN(m); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	disarm, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer disarm()
	defer func() { err = ctxErr(ctx, err) }()

	self, _, err := c.findMACVLAN(m)
	if errors.Is(err, ErrUnknownInterface) {
		// The kernel deletes a macvlan with its parent: none is left on it.
		return nil
	}
	if err != nil || self == nil {
		return err
	}
	b := make([]byte, 16)
	binary.NativeEndian.PutUint32(b[4:], self.index)
	_, err = c.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: rtmDelLink, Flags: netlink.Request | netlink.Acknowledge},
		Data:   b,
	})
	if err != nil && !errors.Is(err, syscall.ENODEV) {
		return fmt.Errorf("vip: delete macvlan %q: %w", m.Name, err)
	}
	return nil
}
