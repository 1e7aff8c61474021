package kaconf

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// decoder collects errors and warnings while the statements are turned into a Config.
// It keeps at most maxErrors errors and maxWarnings warnings; full is set when the
// errors ran over, and reading stops.
type decoder struct {
	errs  []error
	warns []Warning
	full  bool
	// more counts the warnings not kept.
	more int
	// overflow is the "too many errors" error, reported last.
	overflow *Error
	// tables holds each block's keyword table, built once per read rather than
	// once per block (a file with 100,000 real servers built 100,000 maps).
	tables map[string]any
	// rulePrio4 and rulePrio6 count the rules given a preference, per family
	// (vrules.go).
	rulePrio4, rulePrio6 uint32
}

// cachedTable returns the table for block, building it with mk the first time.
func cachedTable[T any](d *decoder, block string, mk func() table[T]) table[T] {
	if tb, ok := d.tables[block]; ok {
		return tb.(table[T])
	}
	if d.tables == nil {
		d.tables = map[string]any{}
	}
	tb := mk()
	d.tables[block] = tb
	return tb
}

func (d *decoder) add(e *Error) {
	if d.full {
		return
	}
	if len(d.errs) >= maxErrors {
		d.full = true
		d.overflow = &Error{Pos: e.Pos, Keyword: "(file)", Err: fmt.Errorf("%w: more than %d errors; reading stopped here", ErrLimit, maxErrors)}
		return
	}
	d.errs = append(d.errs, e)
}

func (d *decoder) errAt(n *node, err error) {
	d.add(&Error{Pos: n.pos, Keyword: n.key, Err: err})
}

func (d *decoder) errf(n *node, sentinel error, format string, a ...any) {
	d.errAt(n, fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, a...)))
}

func (d *decoder) warn(n *node, msg string) {
	if len(d.warns) >= maxWarnings {
		d.more++
		return
	}
	d.warns = append(d.warns, Warning{Pos: n.pos, Keyword: clip(n.key, maxKeywordBytes), Message: clip(msg, maxMessageBytes)})
}

// entry describes one keyword of a block: how many arguments it takes, whether it
// opens a block, and what it does.
type entry[T any] struct {
	min, max int // argument count bounds; max < 0 means unbounded
	block    bool
	fn       func(d *decoder, n *node, t *T)
}

// table maps the keywords of one block to their entries.
type table[T any] map[string]entry[T]

func (tb table[T]) keywords() []string {
	ks := make([]string, 0, len(tb))
	for k := range tb {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// seen records which keywords a block set (last occurrence), for defaults that depend
// on whether something was written.
type seen map[string]*node

// decode runs each statement of a block through its table.
func decode[T any](d *decoder, block string, nodes []*node, t *T, tb table[T]) seen {
	s := seen{}
	for _, n := range nodes {
		if d.full {
			break
		}
		e, ok := tb[n.key]
		if !ok {
			d.errf(n, ErrUnknownKeyword, "not a keyword of %s", block)
			continue
		}
		if e.block && !n.hasBlock {
			d.errf(n, ErrSyntax, "needs a { } block")
			continue
		}
		if !e.block && n.hasBlock {
			d.errf(n, ErrSyntax, "takes no { } block")
			continue
		}
		if len(n.args) < e.min || e.max >= 0 && len(n.args) > e.max {
			d.errf(n, ErrSyntax, "takes %s, got %d", argCount(e.min, e.max), len(n.args))
			continue
		}
		s[n.key] = n
		e.fn(d, n, t)
	}
	return s
}

func argCount(lo, hi int) string {
	switch {
	case hi < 0:
		return fmt.Sprintf("at least %d arguments", lo)
	case lo == hi && lo == 1:
		return "1 argument"
	case lo == hi:
		return fmt.Sprintf("%d arguments", lo)
	default:
		return fmt.Sprintf("%d to %d arguments", lo, hi)
	}
}

// Value parsers. Each reports its own error and returns ok=false on a bad value.

func (d *decoder) integer(n *node, s string, lo, hi int) (int, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		d.errf(n, ErrValue, "%q is not an integer", s)
		return 0, false
	}
	if v < int64(lo) || v > int64(hi) {
		d.errf(n, ErrValue, "%d is out of range %d..%d", v, lo, hi)
		return 0, false
	}
	return int(v), true
}

// seconds parses keepalived's <TIMER>: decimal seconds with up to nine fractional
// digits, converted exactly (no float rounding) and bounded by hi seconds.
func (d *decoder) seconds(n *node, s string, lo, hi time.Duration) (time.Duration, bool) {
	v, ok := parseSeconds(s)
	if !ok {
		d.errf(n, ErrValue, "%q is not a number of seconds", s)
		return 0, false
	}
	if v < lo || v > hi {
		d.errf(n, ErrValue, "%s s is out of range %s..%s s", s, fmtSeconds(lo), fmtSeconds(hi))
		return 0, false
	}
	return v, true
}

// wholeSeconds is seconds for keywords keepalived reads as integers.
func (d *decoder) wholeSeconds(n *node, s string, lo, hi int) (time.Duration, bool) {
	v, ok := d.integer(n, s, lo, hi)
	return time.Duration(v) * time.Second, ok
}

func parseSeconds(s string) (time.Duration, bool) {
	ip, fp, hasDot := strings.Cut(s, ".")
	if ip == "" && (!hasDot || fp == "") || len(fp) > 9 || len(ip) > 10 {
		return 0, false
	}
	for _, c := range ip + fp {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	var whole int64
	if ip != "" {
		whole, _ = strconv.ParseInt(ip, 10, 64)
	}
	if whole > math.MaxInt64/int64(time.Second)-1 {
		return 0, false
	}
	frac := int64(0)
	if fp != "" {
		f, _ := strconv.ParseInt(fp+strings.Repeat("0", 9-len(fp)), 10, 64)
		frac = f
	}
	return time.Duration(whole)*time.Second + time.Duration(frac), true
}

// fmtSeconds writes d as keepalived's decimal seconds, exact to the nanosecond.
func fmtSeconds(d time.Duration) string {
	s := strconv.FormatInt(int64(d/time.Second), 10)
	if f := int64(d % time.Second); f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%09d", f), "0")
	}
	return s
}

func (d *decoder) boolean(n *node, s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	d.errf(n, ErrValue, "%q is not on|off|true|false|yes|no", s)
	return false, false
}

// optBool reads a flag with an optional <BOOL> argument.
func (d *decoder) optBool(n *node) (bool, bool) {
	if len(n.args) == 0 {
		return true, true
	}
	return d.boolean(n, n.arg(0))
}

func (d *decoder) addr(n *node, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		d.errf(n, ErrValue, "%q is not an IP address", s)
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// addrMask is addr for unicast_src_ip and unicast_peer, where keepalived 2.2.7 also
// takes ADDR/LEN and ignores the length.
func (d *decoder) addrMask(n *node, s string) (netip.Addr, bool) {
	if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Zone() == "" {
		return p.Addr().Unmap(), true
	}
	return d.addr(n, s)
}

func (d *decoder) port(n *node, s string) (uint16, bool) {
	v, ok := d.integer(n, s, 0, 65535)
	return uint16(v), ok
}

// command reads "<STRING>|<QUOTED-STRING> [username [groupname]]".
func (d *decoder) command(n *node, args []token) (*Command, bool) {
	if len(args) == 0 || len(args) > 3 {
		d.errf(n, ErrSyntax, "takes a command and optionally a user and group")
		return nil, false
	}
	words, err := splitCommand(args[0].text)
	if err != nil {
		d.errf(n, ErrValue, "%v", err)
		return nil, false
	}
	if len(words) == 0 {
		d.errf(n, ErrValue, "empty command")
		return nil, false
	}
	c := &Command{Args: words}
	if len(args) > 1 {
		c.User = args[1].text
	}
	if len(args) > 2 {
		c.Group = args[2].text
	}
	return c, true
}

// splitCommand splits a command line the way keepalived does for scripts: white space
// separates words, '...' and "..." group, a backslash outside quotes escapes.
func splitCommand(s string) ([]string, error) {
	var words []string
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if in {
				words = append(words, b.String())
				b.Reset()
				in = false
			}
		case c == '\'' || c == '"':
			in = true
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated %c in command %q", c, s)
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '\\' && i+1 < len(s):
			in = true
			i++
			b.WriteByte(s[i])
		default:
			in = true
			b.WriteByte(c)
		}
	}
	if in {
		words = append(words, b.String())
	}
	return words, nil
}

// simpleWord reports whether s can be written unquoted in a file.
func simpleWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '"', '\'', '\\', '#', '!', '{', '}':
			return false
		}
	}
	return true
}
