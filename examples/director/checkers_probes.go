package main

import (
	"bytes"
	"net"
	"strconv"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/health"
	"golang.org/x/net/dns/dnsmessage"
)

// dnsTypeOf maps DNS_CHECK's type names onto query types (RRSIG 46 and DNSKEY 48
// have no constant in dnsmessage).
var dnsTypeOf = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "NS": dnsmessage.TypeNS, "CNAME": dnsmessage.TypeCNAME,
	"SOA": dnsmessage.TypeSOA, "MX": dnsmessage.TypeMX, "TXT": dnsmessage.TypeTXT,
	"AAAA": dnsmessage.TypeAAAA, "RRSIG": dnsmessage.Type(46), "DNSKEY": dnsmessage.Type(48),
}

// probeChecker builds the health probe of DNS_CHECK, UDP_CHECK, PING_CHECK and
// SMTP_CHECK, or nil for another type.
//
// What differs from keepalived 2.2.7 (documented in the migration guide):
// DNS_CHECK needs an answer of the type asked for, where keepalived accepts any
// NOERROR reply; UDP_CHECK's require_reply data must be a prefix of the reply
// (keepalived also accepts a shorter reply that matches as far as it goes), and its
// X wildcards and reply lengths are not checked (the reader warns).
func probeChecker(c *kaconf.Check) health.Checker {
	dial := health.DialConfig{Source: c.BindTo}
	addr := net.JoinHostPort(c.ConnectIP.String(), strconv.Itoa(int(c.ConnectPort)))
	switch c.Type {
	case kaconf.CheckDNS:
		return &health.DNSChecker{Address: addr, Dial: dial, Name: c.DNSName, Type: dnsTypeOf[c.DNSType]}
	case kaconf.CheckUDP:
		u := &health.UDPChecker{Address: addr, Dial: dial, Payload: bytes.Clone(c.UDPPayload), RequireReply: c.UDPRequireReply}
		if c.UDPReply != nil {
			u.Expect = &health.Expect{Prefix: bytes.Clone(c.UDPReply)}
		}
		return u
	case kaconf.CheckPing:
		return &health.ICMPChecker{Address: c.ConnectIP.String(), Dial: dial}
	case kaconf.CheckSMTP:
		return &health.SMTPChecker{Address: addr, Dial: dial, HeloName: c.HeloName}
	}
	return nil
}
