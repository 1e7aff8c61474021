package kaconf

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// token is one word of a line. quoted is true when any part of it was inside quotes,
// so a quoted "{" or "#" is a word, not syntax.
type token struct {
	text   string
	quoted bool
	line   int
}

func (t token) isOpen() bool  { return !t.quoted && t.text == "{" }
func (t token) isClose() bool { return !t.quoted && t.text == "}" }

// lexFile splits src into tokens, one slice per logical line (a line ending in an
// unquoted backslash continues on the next). Comments start at an unquoted # or !.
// Braces are words of their own even when written against other characters.
func lexFile(file string, src []byte, d *decoder) [][]token {
	var lines [][]token
	var cur []token
	var b strings.Builder
	inWord, quoted := false, false
	lineNo := 1
	wordLine := 1
	flush := func() {
		if inWord {
			cur = append(cur, token{text: b.String(), quoted: quoted, line: wordLine})
		}
		b.Reset()
		inWord, quoted = false, false
	}
	endLine := func() {
		flush()
		if len(cur) > 0 {
			lines = append(lines, cur)
		}
		cur = nil
	}
	start := func() {
		if !inWord {
			inWord = true
			wordLine = lineNo
		}
	}
	bad := func(msg string) {
		d.errs = append(d.errs, &Error{Pos: Pos{file, lineNo}, Keyword: lineKeyword(cur, b.String()), Err: fmt.Errorf("%w: %s", ErrSyntax, msg)})
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\n':
			lineNo++
			endLine()
		case c == '\r' && (i+1 == len(src) || src[i+1] == '\n'):
			// CRLF line ending.
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			flush()
		case c == '#' || c == '!':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case c == '\\' && (i+1 == len(src) || src[i+1] == '\n' || (src[i+1] == '\r' && i+2 < len(src) && src[i+2] == '\n')):
			// Line continuation: the logical line goes on.
			flush()
			for i < len(src) && src[i] != '\n' {
				i++
			}
			lineNo++
		case c == '{' || c == '}':
			flush()
			cur = append(cur, token{text: string(c), line: lineNo})
		case c == '"' || c == '\'':
			start()
			quoted = true
			q := c
			closed := false
			for i++; i < len(src); i++ {
				c := src[i]
				if c == q {
					closed = true
					break
				}
				if c == '\n' {
					break
				}
				if c == '\\' && q == '"' && i+1 < len(src) && src[i+1] != '\n' {
					i++
					e := src[i]
					if strings.IndexByte("abEfnrtv01234567xc", e) >= 0 {
						bad(fmt.Sprintf("escape \\%c is not supported", e))
						continue
					}
					b.WriteByte(e)
					continue
				}
				if isControl(c) {
					bad(fmt.Sprintf("control character %#02x", c))
					continue
				}
				b.WriteByte(c)
			}
			if !closed {
				bad("unterminated quoted string")
				i-- // let the newline end the line
			}
		case isControl(c):
			bad(fmt.Sprintf("control character %#02x", c))
		default:
			start()
			b.WriteByte(c)
		}
	}
	endLine()
	return lines
}

func isControl(c byte) bool { return c < 0x20 && c != '\t' || c == 0x7f }

func lineKeyword(cur []token, partial string) string {
	if len(cur) > 0 {
		return cur[0].text
	}
	if partial != "" {
		return partial
	}
	return "(line)"
}

// node is one statement: a keyword, its arguments and, for a block, its children.
type node struct {
	pos      Pos
	key      string
	args     []token
	hasBlock bool
	children []*node
	// seq orders statements across includes, as keepalived reads them.
	seq int
}

func (n *node) arg(i int) string { return n.args[i].text }

// source opens files for the reader: the OS or an fs.FS.
type source interface {
	readFile(name string) ([]byte, error)
	glob(pattern string) ([]string, error)
	join(dir, name string) string
	dir(name string) string
}

type osSource struct{}

func (osSource) readFile(name string) ([]byte, error) { return readOSFile(name) }
func (osSource) glob(p string) ([]string, error)      { return filepath.Glob(p) }
func (osSource) dir(name string) string               { return filepath.Dir(name) }
func (osSource) join(dir, name string) string {
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	return filepath.Join(dir, name)
}

type fsSource struct{ fsys fs.FS }

func (s fsSource) readFile(name string) ([]byte, error) { return fs.ReadFile(s.fsys, name) }
func (s fsSource) glob(p string) ([]string, error)      { return fs.Glob(s.fsys, p) }
func (fsSource) dir(name string) string                 { return path.Dir(name) }
func (fsSource) join(dir, name string) string {
	if strings.HasPrefix(name, "/") {
		// Absolute include paths name files from the root of the fs.FS.
		return path.Clean(strings.TrimLeft(name, "/"))
	}
	return path.Join(dir, name)
}

// maxIncludeDepth bounds include nesting (keepalived's own limit is lower still).
const maxIncludeDepth = 16

// tree reads a file and returns its statements with includes expanded in place.
type tree struct {
	src   source
	d     *decoder
	seq   int
	stack []string
}

func (t *tree) file(name string, from *node) []*node {
	if slices.Contains(t.stack, name) || len(t.stack) >= maxIncludeDepth {
		t.d.errAt(from, fmt.Errorf("%w: %s includes itself or nests more than %d deep", ErrInclude, name, maxIncludeDepth))
		return nil
	}
	src, err := t.src.readFile(name)
	if err != nil {
		if from == nil {
			t.d.errs = append(t.d.errs, &Error{Pos: Pos{name, 0}, Keyword: "(file)", Err: fmt.Errorf("%w: %w", ErrInclude, err)})
		} else {
			t.d.errAt(from, fmt.Errorf("%w: %w", ErrInclude, err))
		}
		return nil
	}
	t.stack = append(t.stack, name)
	defer func() { t.stack = t.stack[:len(t.stack)-1] }()
	p := &parser{t: t, file: name, lines: lexFile(name, src, t.d)}
	return p.block(nil)
}

// parser turns a file's token lines into statements.
type parser struct {
	t     *tree
	file  string
	lines [][]token
	li    int // current line
	ti    int // current token in that line
}

func (p *parser) peek() (token, bool) {
	for p.li < len(p.lines) {
		if p.ti < len(p.lines[p.li]) {
			return p.lines[p.li][p.ti], true
		}
		p.li++
		p.ti = 0
	}
	return token{}, false
}

// block reads statements until the closing brace of open (or the end of the file when
// open is nil).
func (p *parser) block(open *node) []*node {
	var out []*node
	for {
		tok, ok := p.peek()
		if !ok {
			if open != nil {
				p.t.d.errAt(open, fmt.Errorf("%w: block is not closed (missing })", ErrSyntax))
			}
			return out
		}
		if tok.isClose() {
			p.ti++
			if open == nil {
				p.t.d.errs = append(p.t.d.errs, &Error{Pos: Pos{p.file, tok.line}, Keyword: "}", Err: fmt.Errorf("%w: } without a block to close", ErrSyntax)})
				continue
			}
			return out
		}
		if tok.isOpen() {
			p.ti++
			p.t.d.errs = append(p.t.d.errs, &Error{Pos: Pos{p.file, tok.line}, Keyword: "{", Err: fmt.Errorf("%w: { without a keyword", ErrSyntax)})
			// Read and drop the stray block so that its braces stay balanced.
			p.block(&node{pos: Pos{p.file, tok.line}, key: "{"})
			continue
		}
		n := p.statement()
		if n.key == "include" && !n.hasBlock {
			out = append(out, p.include(n)...)
			continue
		}
		out = append(out, n)
	}
}

func (p *parser) statement() *node {
	line := p.li
	toks := p.lines[line]
	first := toks[p.ti]
	p.t.seq++
	n := &node{pos: Pos{p.file, first.line}, key: first.text, seq: p.t.seq}
	p.ti++
	for p.ti < len(toks) {
		tok := toks[p.ti]
		if tok.isClose() {
			return n
		}
		if tok.isOpen() {
			p.ti++
			n.hasBlock = true
			n.children = p.block(n)
			return n
		}
		n.args = append(n.args, tok)
		p.ti++
	}
	// End of line: a { alone at the start of the next line opens this statement's
	// block, as keepalived allows.
	if line+1 < len(p.lines) && p.lines[line+1][0].isOpen() {
		p.li, p.ti = line+1, 1
		n.hasBlock = true
		n.children = p.block(n)
	}
	return n
}

func (p *parser) include(n *node) []*node {
	if len(n.args) != 1 {
		p.t.d.errAt(n, fmt.Errorf("%w: include takes one file name or pattern", ErrSyntax))
		return nil
	}
	pattern := p.t.src.join(p.t.src.dir(p.file), n.arg(0))
	var names []string
	if strings.ContainsAny(n.arg(0), "*?[") {
		m, err := p.t.src.glob(pattern)
		if err != nil {
			p.t.d.errAt(n, fmt.Errorf("%w: %w", ErrInclude, err))
			return nil
		}
		if len(m) == 0 {
			p.t.d.warn(n, fmt.Sprintf("pattern %s matches no files; nothing included", pattern))
		}
		names = m
	} else {
		names = []string{pattern}
	}
	var out []*node
	for _, name := range names {
		out = append(out, p.t.file(name, n)...)
	}
	return out
}
