package health

import (
	"fmt"
	"strconv"
	"strings"
)

// StatusRange is an inclusive range of HTTP status codes; a single code has Lo == Hi.
type StatusRange struct {
	Lo, Hi int // Lo and Hi are the lowest and highest accepted codes.
}

// StatusRanges is a set of accepted HTTP status codes, written like keepalived's
// status_code list: "200-299,301,302".
type StatusRanges []StatusRange

// DefaultStatus accepts 200-299, keepalived's default.
var defaultStatus = StatusRanges{{200, 299}}

// ParseStatusRanges parses a comma-separated list of codes and lo-hi ranges of HTTP
// status codes (100..999), e.g. "200-299,301". Spaces around items are ignored.
func ParseStatusRanges(s string) (StatusRanges, error) {
	var out StatusRanges
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		l, err := parseCode(lo)
		if err != nil {
			return nil, fmt.Errorf("health: status %q: %w", item, err)
		}
		h := l
		if isRange {
			if h, err = parseCode(hi); err != nil {
				return nil, fmt.Errorf("health: status %q: %w", item, err)
			}
			if h < l {
				return nil, fmt.Errorf("health: status %q: range ends before it starts", item)
			}
		}
		out = append(out, StatusRange{l, h})
	}
	return out, nil
}

func parseCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 3 {
		return 0, fmt.Errorf("want a three-digit code, got %q", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 {
		return 0, fmt.Errorf("want a code 100..999, got %q", s)
	}
	return n, nil
}

// String formats r the way ParseStatusRanges reads it.
func (r StatusRanges) String() string {
	var b strings.Builder
	for i, x := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		if x.Lo == x.Hi {
			fmt.Fprintf(&b, "%d", x.Lo)
		} else {
			fmt.Fprintf(&b, "%d-%d", x.Lo, x.Hi)
		}
	}
	return b.String()
}

// Contains reports whether code is in r.
func (r StatusRanges) Contains(code int) bool {
	for _, x := range r {
		if code >= x.Lo && code <= x.Hi {
			return true
		}
	}
	return false
}
