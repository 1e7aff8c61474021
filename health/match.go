package health

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// defaultMaxRead caps how much of a reply TCP, UDP and SMTP probes read.
const defaultMaxRead = 64 << 10

// Expect describes the reply a TCP or UDP probe waits for. Exactly one of Exact, Prefix
// or Regexp is normally set; when several are, all must hold. The zero Expect accepts any
// reply, including none (for TCP: the peer may close at once).
type Expect struct {
	// Exact requires the whole reply to equal these bytes. TCP reads exactly
	// len(Exact) bytes and then stops, so the peer need not close.
	Exact []byte
	// Prefix requires the reply to start with these bytes.
	Prefix []byte
	// Regexp requires the reply (as read so far) to match. TCP keeps reading until it
	// matches, the peer closes, MaxRead bytes arrived or the deadline passes.
	Regexp *regexp.Regexp
}

func (e *Expect) isZero() bool {
	return e == nil || (e.Exact == nil && e.Prefix == nil && e.Regexp == nil)
}

// match reports whether b satisfies e, and whether more bytes could change the answer.
func (e *Expect) match(b []byte) (ok, needMore bool) {
	if e.Exact != nil {
		if len(b) < len(e.Exact) {
			return false, bytes.HasPrefix(e.Exact, b)
		}
		if !bytes.Equal(b, e.Exact) {
			return false, false
		}
	}
	if e.Prefix != nil {
		if len(b) < len(e.Prefix) {
			return false, bytes.HasPrefix(e.Prefix, b)
		}
		if !bytes.HasPrefix(b, e.Prefix) {
			return false, false
		}
	}
	if e.Regexp != nil && !e.Regexp.Match(b) {
		return false, true
	}
	return true, false
}

// readExpect reads from r until e is satisfied, impossible, or r ends.
func readExpect(r io.Reader, e *Expect, maxRead int) error {
	if maxRead <= 0 {
		maxRead = defaultMaxRead
	}
	if n := len(e.Exact); n > maxRead {
		maxRead = n
	}
	buf := make([]byte, 0, min(maxRead, 4096))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		limit := min(cap(buf), maxRead)
		if e.Exact != nil {
			limit = min(limit, len(e.Exact))
		}
		n, err := r.Read(buf[len(buf):limit])
		buf = buf[:len(buf)+n]
		ok, more := e.match(buf)
		if ok {
			return nil
		}
		if !more || len(buf) >= maxRead || (e.Exact != nil && len(buf) >= len(e.Exact)) {
			return mismatch("reply %q does not match %s", clip(buf), e)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return mismatch("reply %q ended before matching %s", clip(buf), e)
			}
			return err
		}
	}
}

// String describes e for error messages.
func (e *Expect) String() string {
	var parts []string
	if e.Exact != nil {
		parts = append(parts, fmt.Sprintf("exact %q", clip(e.Exact)))
	}
	if e.Prefix != nil {
		parts = append(parts, fmt.Sprintf("prefix %q", clip(e.Prefix)))
	}
	if e.Regexp != nil {
		parts = append(parts, fmt.Sprintf("regexp %q", e.Regexp.String()))
	}
	if len(parts) == 0 {
		return "anything"
	}
	return fmt.Sprint(parts)
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
