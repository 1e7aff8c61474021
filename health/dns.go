package health

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSChecker sends one DNS query over UDP (keepalived's DNS_CHECK) and requires a
// NOERROR reply with at least one answer of the asked type.
type DNSChecker struct {
	// Address is the server's host:port. Required.
	Address string
	// Dial binds the socket (source, interface, fwmark).
	Dial DialConfig
	// Name is the name to query, e.g. "www.example.com."; a missing final dot is added.
	// Required.
	Name string
	// Type is the query type; zero means A. A, AAAA, CNAME, NS, MX, PTR, SOA and TXT
	// answers can be compared with Expect.
	Type dnsmessage.Type
	// Expect, when non-empty, requires at least one answer equal to one of these:
	// an address ("192.0.2.1", "2001:db8::1") for A and AAAA, a name with final dot
	// for CNAME, NS, PTR, MX (the exchange) and SOA (the primary NS), and the
	// concatenated strings for TXT.
	Expect []string
}

// Check implements Checker.
func (c *DNSChecker) Check(ctx context.Context) (Result, error) {
	ctx, cancel, deadline := withDeadline(ctx)
	defer cancel()
	res, err := c.check(ctx, deadline)
	if err != nil {
		return Result{}, wrapErr(ctx, "dns "+c.Address, err)
	}
	return res, nil
}

func (c *DNSChecker) query(id uint16) ([]byte, dnsmessage.Question, error) {
	name := c.Name
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, dnsmessage.Question{}, fmt.Errorf("name %q: %w", c.Name, err)
	}
	typ := c.Type
	if typ == 0 {
		typ = dnsmessage.TypeA
	}
	q := dnsmessage.Question{Name: n, Type: typ, Class: dnsmessage.ClassINET}
	msg := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{q},
	}
	b, err := msg.Pack()
	return b, q, err
}

func (c *DNSChecker) check(ctx context.Context, deadline time.Time) (Result, error) {
	id := uint16(rand.Uint32())
	req, q, err := c.query(id)
	if err != nil {
		return Result{}, err
	}
	conn, err := c.Dial.dial(ctx, "udp", c.Address, deadline)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	defer closeOnDone(ctx, conn)()
	if _, err := conn.Write(req); err != nil {
		return Result{}, fmt.Errorf("send query: %w", err)
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return Result{}, fmt.Errorf("read reply: %w", err)
		}
		answers, err := parseDNSReply(buf[:n], id, q)
		if err == errNotOurs {
			continue // a stray or spoofed datagram: keep waiting until the deadline
		}
		if err != nil {
			return Result{}, err
		}
		if len(answers) == 0 {
			return Result{}, mismatch("no %v answer for %v", q.Type, q.Name)
		}
		if len(c.Expect) == 0 {
			return Result{Detail: strings.Join(answers, " ")}, nil
		}
		for _, a := range answers {
			if slices.ContainsFunc(c.Expect, func(e string) bool { return dnsEqual(q.Type, e, a) }) {
				return Result{Detail: a}, nil
			}
		}
		return Result{}, mismatch("answers %v, want one of %v", answers, c.Expect)
	}
}

var errNotOurs = fmt.Errorf("not a reply to our query")

// parseDNSReply checks that b answers question q with id, and returns the answers of
// q's type as text (see DNSChecker.Expect).
func parseDNSReply(b []byte, id uint16, q dnsmessage.Question) ([]string, error) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil || !h.Response || h.ID != id {
		return nil, errNotOurs
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 || !strings.EqualFold(qs[0].Name.String(), q.Name.String()) || qs[0].Type != q.Type {
		return nil, errNotOurs
	}
	if h.RCode != dnsmessage.RCodeSuccess {
		return nil, mismatch("rcode %v", h.RCode)
	}
	var out []string
	for {
		rh, err := p.AnswerHeader()
		if err == dnsmessage.ErrSectionDone {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse answer: %w", err)
		}
		if rh.Type != q.Type {
			if err := p.SkipAnswer(); err != nil {
				return nil, fmt.Errorf("parse answer: %w", err)
			}
			continue
		}
		s, err := answerText(&p, rh.Type)
		if err != nil {
			return nil, fmt.Errorf("parse %v answer: %w", rh.Type, err)
		}
		out = append(out, s)
	}
}

// answerText parses the current answer's body as text (see DNSChecker.Expect).
func answerText(p *dnsmessage.Parser, t dnsmessage.Type) (string, error) {
	switch t {
	case dnsmessage.TypeA:
		r, err := p.AResource()
		return netip.AddrFrom4(r.A).String(), err
	case dnsmessage.TypeAAAA:
		r, err := p.AAAAResource()
		return netip.AddrFrom16(r.AAAA).String(), err
	case dnsmessage.TypeCNAME:
		r, err := p.CNAMEResource()
		return r.CNAME.String(), err
	case dnsmessage.TypeNS:
		r, err := p.NSResource()
		return r.NS.String(), err
	case dnsmessage.TypePTR:
		r, err := p.PTRResource()
		return r.PTR.String(), err
	case dnsmessage.TypeMX:
		r, err := p.MXResource()
		return r.MX.String(), err
	case dnsmessage.TypeSOA:
		r, err := p.SOAResource()
		return r.NS.String(), err
	case dnsmessage.TypeTXT:
		r, err := p.TXTResource()
		return strings.Join(r.TXT, ""), err
	}
	r, err := p.UnknownResource()
	return fmt.Sprintf("%x", r.Data), err
}

// dnsEqual compares an expected answer with a received one.
func dnsEqual(t dnsmessage.Type, want, got string) bool {
	switch t {
	case dnsmessage.TypeA, dnsmessage.TypeAAAA:
		w, err1 := netip.ParseAddr(want)
		g, err2 := netip.ParseAddr(got)
		return err1 == nil && err2 == nil && w == g
	case dnsmessage.TypeTXT:
		return want == got
	}
	if !strings.HasSuffix(want, ".") {
		want += "."
	}
	return strings.EqualFold(want, got)
}
