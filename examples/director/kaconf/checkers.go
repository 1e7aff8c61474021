package kaconf

import (
	"fmt"
	"strings"
)

// The checkers beyond TCP_CHECK, HTTP_GET, SSL_GET and MISC_CHECK: DNS_CHECK,
// UDP_CHECK, PING_CHECK, SMTP_CHECK (keepalived 2.2.7 check_dns.c, check_udp.c,
// check_ping.c, check_smtp.c) and FILE_CHECK with the top-level track_file it reads
// (check_file.c, track_file.c).

const (
	defaultDNSType  = "SOA"
	defaultHeloName = "smtpchecker.keepalived.org"
	defaultUDPMax   = 255
	// maxUDPReplyLen bounds min_reply_length and max_reply_length as keepalived does.
	maxUDPReplyLen = 65535
)

// dnsTypes are the query types keepalived 2.2.7's DNS_CHECK knows.
var dnsTypes = []string{"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY"}

// extraCheckTable adds the keywords of the checker types of this file to tb, which
// holds the common connection keywords already.
func extraCheckTable(ct CheckType, tb table[checkRaw]) table[checkRaw] {
	switch ct {
	case CheckDNS:
		tb["type"] = entry[checkRaw]{min: 1, max: 1, fn: func(d *decoder, n *node, t *checkRaw) {
			u := strings.ToUpper(n.arg(0))
			if !contains(dnsTypes, u) {
				d.errf(n, ErrValue, "DNS_CHECK type %q is not one of %s", n.arg(0), strings.Join(dnsTypes, " "))
				return
			}
			t.c.DNSType = u
		}}
		tb["name"] = entry[checkRaw]{min: 1, max: 1, fn: func(d *decoder, n *node, t *checkRaw) {
			name := n.arg(0)
			if (strings.HasPrefix(name, ".") && name != ".") || strings.Contains(name, "..") {
				d.errf(n, ErrValue, "DNS_CHECK name %q has an empty label", name)
				return
			}
			t.c.DNSName = name
		}}
	case CheckUDP:
		tb["payload"] = entry[checkRaw]{min: 1, max: -1, fn: func(d *decoder, n *node, t *checkRaw) {
			if b, _, ok := hexBytes(d, n, false); ok {
				t.c.UDPPayload = b
			}
		}}
		tb["require_reply"] = entry[checkRaw]{max: -1, fn: func(d *decoder, n *node, t *checkRaw) {
			t.c.UDPRequireReply = true
			if len(n.args) == 0 {
				return
			}
			if b, m, ok := hexBytes(d, n, true); ok {
				t.c.UDPReply, t.c.UDPReplyMask = b, m
			}
		}}
		tb["min_reply_length"] = intEntry(0, maxUDPReplyLen, func(t *checkRaw, v int) { t.c.UDPMinReply = v })
		tb["max_reply_length"] = intEntry(0, maxUDPReplyLen, func(t *checkRaw, v int) { t.c.UDPMaxReply = v })
	case CheckSMTP:
		tb["helo_name"] = strEntry(func(t *checkRaw, s string) { t.c.HeloName = s })
		tb["host"] = smtpHostEntry()
	}
	return tb
}

// fileCheckTable is FILE_CHECK's: it has no connection or timing keywords.
func fileCheckTable() table[checkRaw] {
	return table[checkRaw]{
		"track_file": strEntry(func(t *checkRaw, s string) { t.c.TrackFile = s }),
		"weight": {min: 1, max: 2, fn: func(d *decoder, n *node, t *checkRaw) {
			w, ok := d.integer(n, n.arg(0), -(1<<31 - 1), 1<<31-1)
			if !ok {
				return
			}
			rev := false
			if len(n.args) == 2 {
				switch n.arg(1) {
				case "reverse":
					rev = true
				case "noreverse":
				default:
					d.errf(n, ErrValue, "%q is not reverse or noreverse", n.arg(1))
					return
				}
			}
			t.c.FileWeight, t.c.FileReverse = w, rev
			t.fileWeight = true
		}},
	}
}

// hexBytes reads a line's arguments as keepalived's hex strings: bytes of two hex
// digits (a lone digit before a space is one byte), spaces anywhere between bytes;
// with wildcards an X nibble matches anything and sets the mask's bits.
func hexBytes(d *decoder, n *node, wildcards bool) (data, mask []byte, ok bool) {
	var parts []string
	for _, a := range n.args {
		parts = append(parts, a.text)
	}
	s := strings.Join(parts, " ")
	masked := false
	nibble := func(c byte) (v, m byte, ok bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', 0, true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, 0, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, 0, true
		case wildcards && (c == 'x' || c == 'X'):
			masked = true
			return 0, 0xf, true
		}
		return 0, 0, false
	}
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		v, m, good := nibble(s[i])
		i++
		if good && i < len(s) && s[i] != ' ' && s[i] != '\t' {
			v2, m2, good2 := nibble(s[i])
			i++
			v, m, good = v<<4|v2, m<<4|m2, good2
		}
		if !good {
			d.errf(n, ErrValue, "%q is not a hex string", s)
			return nil, nil, false
		}
		data = append(data, v)
		mask = append(mask, m)
	}
	if len(data) == 0 {
		d.errf(n, ErrValue, "%q is not a hex string", s)
		return nil, nil, false
	}
	if !masked {
		mask = nil
	}
	return data, mask, true
}

// trackFileTable is a track_file block's.
func trackFileTable() table[TrackFile] {
	return table[TrackFile]{
		"file": strEntry(func(t *TrackFile, s string) { t.File = s }),
		"weight": {min: 1, max: 2, fn: func(d *decoder, n *node, t *TrackFile) {
			w, ok := d.integer(n, n.arg(0), -254, 254)
			if !ok {
				return
			}
			t.Weight, t.Reverse = w, false
			if len(n.args) == 2 {
				if n.arg(1) != "reverse" {
					d.errf(n, ErrValue, "%q is not reverse", n.arg(1))
					return
				}
				t.Reverse = true
			}
		}},
		"init_file": {max: 2, fn: func(d *decoder, n *node, t *TrackFile) {
			t.InitFile = true
			for _, a := range n.args {
				if a.text == "overwrite" {
					t.InitOverwrite = true
					continue
				}
				v, ok := d.integer(n, a.text, -254, 254)
				if !ok {
					return
				}
				t.InitValue = v
			}
		}},
	}
}

// readTrackFile reads a track_file or vrrp_track_file block.
func readTrackFile(d *decoder, n *node) (TrackFile, bool) {
	tf := TrackFile{Pos: n.pos, Name: n.arg(0), Weight: 1}
	s := decode(d, n.key, n.children, &tf, cachedTable(d, "track_file", trackFileTable))
	if _, ok := s["file"]; !ok {
		d.errf(n, ErrValue, "track_file %s without file", tf.Name)
		return tf, false
	}
	if n.key == "vrrp_track_file" {
		d.warn(n, "vrrp_track_file is the old name of track_file (keepalived 2.2.7 reads it the same way but calls it deprecated)")
	}
	return tf, true
}

// resolveExtraCheck fills the defaults of the checkers of this file. It returns
// false when the common connection defaults do not apply (FILE_CHECK).
func resolveExtraCheck(d *decoder, tfs map[string]*TrackFile, cr *checkRaw) bool {
	c := &cr.c
	switch c.Type {
	case CheckDNS:
		if c.DNSType == "" {
			c.DNSType = defaultDNSType
		}
	case CheckUDP:
		if _, set := cr.seen["max_reply_length"]; !set {
			c.UDPMaxReply = defaultUDPMax
		}
		_, minSet := cr.seen["min_reply_length"]
		_, maxSet := cr.seen["max_reply_length"]
		if c.UDPReplyMask != nil || ((minSet || maxSet) && c.UDPReply != nil) {
			d.warn(cr.node, "the director checks only that a UDP_CHECK reply starts with the require_reply bytes: X wildcards (matched as 0) and min_reply_length/max_reply_length are not checked")
		}
		if c.UDPMinReply > c.UDPMaxReply {
			d.warn(cr.node, fmt.Sprintf("min_reply_length %d > max_reply_length %d: keepalived accepts it and the check always fails (read the same way)", c.UDPMinReply, c.UDPMaxReply))
		}
	case CheckSMTP:
		if _, set := cr.seen["helo_name"]; !set {
			c.HeloName = defaultHeloName
		}
	case CheckFile:
		if c.TrackFile == "" {
			d.errf(cr.node, ErrValue, "FILE_CHECK without track_file")
			return false
		}
		tf := tfs[c.TrackFile]
		if tf == nil {
			d.errf(cr.node, ErrReference, "FILE_CHECK track_file %s is not defined", c.TrackFile)
			return false
		}
		if !cr.fileWeight {
			c.FileWeight, c.FileReverse = tf.Weight, tf.Reverse
		}
		return false
	}
	return true
}
