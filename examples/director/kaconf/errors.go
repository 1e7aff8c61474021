package kaconf

import (
	"errors"
	"fmt"
	"strconv"
)

// Pos is a place in a configuration file: the file name as it was read (the name given
// to Read or ReadFile, or an include path joined to its including file's directory)
// and a 1-based line number.
type Pos struct {
	File string
	Line int
}

// String returns "file:line", the form every error and warning starts with.
func (p Pos) String() string { return p.File + ":" + strconv.Itoa(p.Line) }

// Sentinel errors. Every *Error wraps exactly one of them (or, for a missing include,
// the fs error, which itself wraps fs.ErrNotExist), so callers can branch with errors.Is.
var (
	// ErrUnknownKeyword: a keyword that keepalived does not know in that block, or one
	// this reader does not support (both are errors: nothing runs half-configured).
	ErrUnknownKeyword = errors.New("unknown or unsupported keyword")
	// ErrSyntax: an unterminated block or quoted string, a stray brace, a block where
	// none is allowed (or none where one is required), a wrong number of arguments.
	ErrSyntax = errors.New("syntax error")
	// ErrValue: a value out of range or of the wrong form (a VRID of 256, a bad
	// address, a number that is not a number).
	ErrValue = errors.New("bad value")
	// ErrReference: a cross-reference that does not resolve or conflicts: a
	// track_script naming no vrrp_script, a sync group naming no instance, two
	// instances with one VRID on one interface, a duplicate name.
	ErrReference = errors.New("bad reference")
	// ErrInclude: an include that cannot be read (a missing file, a bad pattern, a
	// loop); the underlying fs error is wrapped too.
	ErrInclude = errors.New("include failed")
	// ErrLimit: the input is over one of the reader's limits (a line over 1023
	// bytes, 16 MiB in all, 10,000 files, includes 1000 deep, blocks 32 deep,
	// 200,000 statements, 1,000,000 words, 100 errors). Reading stops there.
	ErrLimit = errors.New("limit exceeded")
)

// Error is one problem found while reading: where it is, the keyword it concerns and
// what is wrong. Read returns all of them joined with errors.Join; use errors.As on
// the joined error's Unwrap() []error, or errors.Is with the sentinels.
type Error struct {
	Pos     Pos
	Keyword string
	Err     error
}

// Error returns "kaconf: file:line: keyword: message", the keyword and message cut
// short when they are long (a hostile file's word can be 1023 bytes).
func (e *Error) Error() string {
	return fmt.Sprintf("kaconf: %s: %s: %s", e.Pos, clip(e.Keyword, maxKeywordBytes), clip(e.Err.Error(), maxMessageBytes))
}

// Unwrap returns the wrapped sentinel or fs error.
func (e *Error) Unwrap() error { return e.Err }

// Warning is something the reader accepted but where keepalived 2.2.7 would read the
// same text differently from what its author evidently meant (or would reject it), or
// where keepalived silently adjusts a value. The Config follows the meaning stated in
// Message.
type Warning struct {
	Pos     Pos
	Keyword string
	Message string
}

// String returns "file:line: keyword: message".
func (w Warning) String() string {
	return fmt.Sprintf("%s: %s: %s", w.Pos, w.Keyword, w.Message)
}
