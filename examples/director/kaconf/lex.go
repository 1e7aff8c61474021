package kaconf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// token is one word of a line. quoted is true when any part of it was inside quotes,
// so a quoted "{" or "#" is a word, not syntax. bol is true for the first word of a
// logical line.
type token struct {
	text   string
	line   int32
	quoted bool
	bol    bool
}

func (t token) isOpen() bool  { return !t.quoted && t.text == "{" }
func (t token) isClose() bool { return !t.quoted && t.text == "}" }

// lexer splits a file into tokens on demand, so that a file is never held as tokens
// all at once. A line ending in an unquoted backslash continues on the next. Comments
// start at an unquoted # or !. Braces are words of their own even when written against
// other characters. Unquoted words are substrings of src (no copy).
type lexer struct {
	file string
	src  string
	d    *decoder
	i    int
	line int
	// bol: the next token starts a logical line. key is the first word of the
	// current logical line, for error messages.
	bol bool
	key string
	b   strings.Builder
	// raw is an include line's path, returned next.
	raw *token
	// defs are the $NAME=VALUE definitions read so far, shared by every file of
	// the read. While a line with substitutions is lexed, src holds it and saved,
	// savedI the file and where to go on.
	defs   map[string]string
	saved  string
	savedI int
}

func newLexer(file, src string, d *decoder, defs map[string]string) *lexer {
	l := &lexer{file: file, src: src, d: d, line: 1, bol: true, defs: defs}
	l.checkLine()
	return l
}

func (l *lexer) bad(partial, msg string) {
	key := l.key
	if key == "" {
		key = partial
	}
	if key == "" {
		key = "(line)"
	}
	l.d.add(&Error{Pos: Pos{l.file, l.line}, Keyword: key, Err: fmt.Errorf("%w: %s", ErrSyntax, msg)})
}

// checkLine refuses a physical line, starting at l.i, longer than keepalived reads as
// one line; its text is skipped.
func (l *lexer) checkLine() {
	rest := l.src[l.i:]
	n := strings.IndexByte(rest, '\n')
	if n < 0 {
		n = len(rest)
	}
	if strings.HasSuffix(rest[:n], "\r") {
		n--
	}
	if n > maxLineBytes {
		l.d.add(&Error{Pos: Pos{l.file, l.line}, Keyword: "(line)", Err: fmt.Errorf(
			"%w: line of %d bytes: keepalived 2.2.7 reads at most %d bytes as one line and the rest as further lines", ErrLimit, n, maxLineBytes)})
		l.i += n
		return
	}
	l.params(rest[:n])
}

// params applies keepalived's parameters to the line at l.i (keepalived.conf(5)
// "parameter substitution"; lib/parser.c check_definition, replace_param): a line
// $NAME=VALUE defines NAME and reads as empty, and $NAME or ${NAME} elsewhere is
// replaced by its value, again and again while replacements happen.
func (l *lexer) params(line string) {
	trim := strings.TrimLeft(line, " \t")
	if name, value, ok := definition(trim); ok {
		l.i += len(line)
		if strings.HasSuffix(value, "\\") {
			l.bad(line, "multi-line parameter definitions are not supported")
			return
		}
		l.defs[name] = value
		return
	}
	if len(l.defs) == 0 || !strings.Contains(line, "$") || l.saved != "" {
		return
	}
	out := line
	for round := 0; ; round++ {
		next, changed := substitute(out, l.defs)
		if !changed {
			break
		}
		if round == 32 || len(next) > maxLineBytes {
			l.d.add(&Error{Pos: Pos{l.file, l.line}, Keyword: "(line)", Err: fmt.Errorf(
				"%w: parameter substitution does not end within 32 rounds and %d bytes", ErrLimit, maxLineBytes)})
			l.i += len(line)
			return
		}
		out = next
	}
	if out != line {
		l.saved, l.savedI = l.src, l.i+len(line)
		l.src, l.i = out, 0
	}
}

// definition reads "$NAME=VALUE" (blanks allowed before the =), VALUE without
// leading blanks, its comment and trailing blanks.
func definition(s string) (name, value string, ok bool) {
	if len(s) < 2 || s[0] != '$' || !isNameStart(s[1]) {
		return "", "", false
	}
	i := 2
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	name = s[1:i]
	rest := strings.TrimLeft(s[i:], " \t")
	if !strings.HasPrefix(rest, "=") {
		return "", "", false
	}
	return name, strings.TrimRight(stripComment(strings.TrimLeft(rest[1:], " \t")), " \t\r"), true
}

func isNameStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isNameChar(c byte) bool { return isNameStart(c) || '0' <= c && c <= '9' }

// stripComment cuts s at its first # or ! outside double quotes.
func stripComment(s string) string {
	quote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quote = !quote
		case '#', '!':
			if !quote {
				return s[:i]
			}
		}
	}
	return s
}

// substitute replaces each defined $NAME (followed by a blank, a comma, a ) or the
// end) and ${NAME} in s once.
func substitute(s string, defs map[string]string) (string, bool) {
	var b strings.Builder
	changed := false
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		braces := s[i+1] == '{'
		j := i + 1
		if braces {
			j++
		}
		k := j
		if k < len(s) && isNameStart(s[k]) {
			for k++; k < len(s) && isNameChar(s[k]); k++ {
			}
		}
		name := s[j:k]
		end := k
		switch {
		case name == "":
			end = -1
		case braces && (k == len(s) || s[k] != '}'):
			end = -1
		case braces:
			end = k + 1
		case k < len(s) && !strings.ContainsRune(" \t,)", rune(s[k])):
			end = -1
		}
		v, ok := defs[name]
		if end < 0 || !ok {
			b.WriteByte(s[i])
			continue
		}
		b.WriteString(v)
		changed = true
		i = end - 1
	}
	return b.String(), changed
}

// newline steps over the \n at l.i.
func (l *lexer) newline() {
	l.i++
	l.line++
	l.bol = true
	l.key = ""
	l.checkLine()
}

// continuation reports whether the backslash at l.i ends the line.
func (l *lexer) continuation() bool {
	src, i := l.src, l.i
	return i+1 == len(src) || src[i+1] == '\n' || (src[i+1] == '\r' && i+2 < len(src) && src[i+2] == '\n')
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' }

// next returns the next token, or false at the end of the file.
func (l *lexer) next() (token, bool) {
	if r := l.raw; r != nil {
		l.raw = nil
		return *r, true
	}
	for {
		if l.i == len(l.src) && l.saved != "" {
			// The end of a line with substitutions: back to the file.
			l.src, l.i, l.saved = l.saved, l.savedI, ""
		}
		if l.i >= len(l.src) {
			return token{}, false
		}
		src := l.src
		c := src[l.i]
		switch {
		case c == '\n':
			l.newline()
		case isBlank(c):
			l.i++
		case c == '#' || c == '!':
			for l.i < len(src) && src[l.i] != '\n' {
				l.i++
			}
		case c == '\\' && l.continuation():
			// The logical line goes on.
			for l.i < len(src) && src[l.i] != '\n' {
				l.i++
			}
			if l.i < len(src) {
				l.i++
				l.line++
				l.checkLine()
			}
		case c == '{' || c == '}':
			l.i++
			return l.emit(token{text: src[l.i-1 : l.i], line: int32(l.line)}), true
		case isControl(c):
			l.bad("", fmt.Sprintf("control character %#02x", c))
			l.i++
		default:
			bol := l.bol
			t := l.emit(l.word())
			if bol && !t.quoted && isInclude(t.text) && l.i < len(src) && isBlank(src[l.i]) {
				l.rawRest()
			}
			return t, true
		}
	}
}

// isInclude reports whether a line's first word is include or one of keepalived
// 2.2.7's stricter variants (includer, includem, includew, includeb, includea, which
// differ only in what keepalived logs for a missing file: the reader refuses one).
func isInclude(s string) bool {
	switch s {
	case "include", "includer", "includem", "includew", "includeb", "includea":
		return true
	}
	return false
}

// rawRest queues the rest of an include line as one word, as keepalived takes it:
// everything after the blanks up to an unquoted # or ! (a double-quoted part may hold
// them), without trailing blanks, braces and quotes included.
func (l *lexer) rawRest() {
	src := l.src
	for l.i < len(src) && isBlank(src[l.i]) && src[l.i] != '\r' {
		l.i++
	}
	start, end := l.i, l.i
	quote := false
	for ; l.i < len(src) && src[l.i] != '\n'; l.i++ {
		c := src[l.i]
		if c == '"' {
			quote = !quote
		}
		if !quote && (c == '#' || c == '!') {
			break
		}
		if !isBlank(c) {
			end = l.i + 1
		}
	}
	if end > start {
		l.raw = &token{text: src[start:end], line: int32(l.line), quoted: true}
	}
}

func (l *lexer) emit(t token) token {
	t.bol = l.bol
	if l.bol {
		l.key = t.text
	}
	l.bol = false
	return t
}

// word reads one word at l.i: unquoted text and quoted parts glued together.
func (l *lexer) word() token {
	src := l.src
	start := l.i
	t := token{line: int32(l.line)}
	// copied: the word is built in l.b (it has quotes or skipped bytes).
	copied := false
	cp := func() {
		if !copied {
			copied = true
			l.b.Reset()
			l.b.WriteString(src[start:l.i])
		}
	}
loop:
	for l.i < len(src) {
		c := src[l.i]
		switch {
		case c == '\n' || isBlank(c) || c == '#' || c == '!' || c == '{' || c == '}':
			break loop
		case c == '\\' && l.continuation():
			break loop
		case c == '"' || c == '\'':
			cp()
			t.quoted = true
			l.quoted(c)
		case isControl(c):
			cp()
			l.bad(l.b.String(), fmt.Sprintf("control character %#02x", c))
			l.i++
		default:
			if copied {
				l.b.WriteByte(c)
			}
			l.i++
		}
	}
	if copied {
		t.text = l.b.String()
	} else {
		t.text = src[start:l.i]
	}
	return t
}

// quoted reads a quoted part starting at the quote q at l.i into l.b. A newline ends
// it (an error: keepalived has no multi-line strings) and is left for the caller.
func (l *lexer) quoted(q byte) {
	src := l.src
	for l.i++; l.i < len(src); l.i++ {
		c := src[l.i]
		if c == q {
			l.i++
			return
		}
		if c == '\n' {
			break
		}
		if c == '\\' && q == '"' && l.i+1 < len(src) && src[l.i+1] != '\n' {
			l.i++
			e := src[l.i]
			if strings.IndexByte("abEfnrtv01234567xc", e) >= 0 {
				l.bad(l.b.String(), fmt.Sprintf("escape \\%c is not supported", e))
				continue
			}
			// An escaped control character is one all the same: a value never
			// holds one, escaped or not.
			if isControl(e) {
				l.bad(l.b.String(), fmt.Sprintf("control character %#02x", e))
				continue
			}
			l.b.WriteByte(e)
			continue
		}
		if isControl(c) {
			l.bad(l.b.String(), fmt.Sprintf("control character %#02x", c))
			continue
		}
		l.b.WriteByte(c)
	}
	l.bad(l.b.String(), "unterminated quoted string")
}

func isControl(c byte) bool { return c < 0x20 && c != '\t' || c == 0x7f }

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
	// readFile reads a regular file of at most limit bytes; anything else (a
	// device, a FIFO, a socket, a directory, an executable, a larger file) is an
	// error naming it, and no open may block.
	readFile(name string, limit int64) ([]byte, error)
	glob(pattern string) ([]string, error)
	join(dir, name string) string
	dir(name string) string
}

type osSource struct{}

func (osSource) readFile(name string, limit int64) ([]byte, error) { return readOSFile(name, limit) }
func (osSource) glob(p string) ([]string, error)                   { return filepath.Glob(p) }
func (osSource) dir(name string) string                            { return filepath.Dir(name) }
func (osSource) join(dir, name string) string {
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	return filepath.Join(dir, name)
}

type fsSource struct{ fsys fs.FS }

func (s fsSource) readFile(name string, limit int64) ([]byte, error) {
	// Stat first: opening a FIFO blocks until a writer comes.
	fi, err := fs.Stat(s.fsys, name)
	if err != nil {
		return nil, err
	}
	if err := checkFileInfo(name, fi, limit); err != nil {
		return nil, err
	}
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(name, f, limit)
}
func (s fsSource) glob(p string) ([]string, error) { return fs.Glob(s.fsys, p) }
func (fsSource) dir(name string) string            { return path.Dir(name) }
func (fsSource) join(dir, name string) string {
	if strings.HasPrefix(name, "/") {
		// Absolute include paths name files from the root of the fs.FS.
		return path.Clean(strings.TrimLeft(name, "/"))
	}
	return path.Join(dir, name)
}

// checkFileInfo refuses what keepalived 2.2.7 skips ("not a regular non-executable
// file - skipping", lib/parser.c check_glob_file) and what is over the size limit.
func checkFileInfo(name string, fi fs.FileInfo, limit int64) error {
	m := fi.Mode()
	if !m.IsRegular() {
		return fmt.Errorf("%s is not a regular file but %s (keepalived 2.2.7 skips it)", name, fileKind(m))
	}
	if m.Perm()&0o111 != 0 {
		return fmt.Errorf("%s is executable (keepalived 2.2.7 skips executable files)", name)
	}
	if fi.Size() > limit {
		return fmt.Errorf("%w: %s: %d bytes would take the configuration over %d bytes", ErrLimit, name, fi.Size(), maxTotalBytes)
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file (" + m.String() + ")"
}

// readLimited reads at most limit bytes of r; more is an error (the file grew since
// its size was checked, or reports no size).
func readLimited(name string, r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s takes the configuration over %d bytes", ErrLimit, name, maxTotalBytes)
	}
	return b, nil
}

// tree reads a file and returns its statements with includes expanded in place.
type tree struct {
	ctx   context.Context
	src   source
	d     *decoder
	seq   int
	stack []string
	// Counters for the limits, over the whole read.
	bytes, files, words, depth int
	// configID selects the @ID lines that are read.
	configID string
	// defs are the parameter definitions, in the order keepalived reads them.
	defs map[string]string
	// stop is set when reading cannot go on (a limit, the context); the
	// statements read so far are incomplete and are not decoded.
	stop bool
}

// halt records err at pos and stops the read.
func (t *tree) halt(pos Pos, key string, err error) {
	t.d.add(&Error{Pos: pos, Keyword: key, Err: err})
	t.stop = true
}

func (t *tree) stopped() bool { return t.stop || t.d.full }

func (t *tree) file(name string, from *node) []*node {
	errAt := func(err error) {
		if from == nil {
			t.d.add(&Error{Pos: Pos{name, 0}, Keyword: "(file)", Err: err})
		} else {
			t.d.errAt(from, err)
		}
	}
	if err := t.ctx.Err(); err != nil {
		t.halt(Pos{name, 0}, "(file)", fmt.Errorf("reading stopped: %w", err))
		return nil
	}
	if slices.Contains(t.stack, name) {
		errAt(fmt.Errorf("%w: %s includes itself (keepalived 2.2.7 would read it again and again until it runs out of file descriptors)", ErrInclude, name))
		return nil
	}
	if len(t.stack) >= maxIncludeDepth {
		t.halt(from.pos, from.key, fmt.Errorf("%w: %w: includes nest more than %d deep at %s", ErrInclude, ErrLimit, maxIncludeDepth, name))
		return nil
	}
	if t.files++; t.files > maxFiles {
		t.halt(from.pos, from.key, fmt.Errorf("%w: %w: more than %d files read", ErrInclude, ErrLimit, maxFiles))
		return nil
	}
	b, err := t.src.readFile(name, int64(maxTotalBytes-t.bytes))
	if err != nil {
		errAt(fmt.Errorf("%w: %w", ErrInclude, err))
		if errors.Is(err, ErrLimit) {
			t.stop = true
		}
		return nil
	}
	t.bytes += len(b)
	t.stack = append(t.stack, name)
	defer func() { t.stack = t.stack[:len(t.stack)-1] }()
	p := &parser{t: t, file: name, lx: newLexer(name, string(b), t.d, t.defs)}
	return p.block(nil)
}

// parser turns a file's tokens into statements, one token of lookahead.
type parser struct {
	t    *tree
	file string
	lx   *lexer
	tok  token
	has  bool
	eof  bool
	n    int // statements read, for the context check
}

func (p *parser) peek() (token, bool) {
	if !p.has && !p.eof {
		p.tok, p.has = p.lx.next()
		p.eof = !p.has
	}
	return p.tok, p.has
}

func (p *parser) take() { p.has = false }

// block reads statements until the closing brace of open (or the end of the file when
// open is nil).
func (p *parser) block(open *node) []*node {
	if open != nil {
		p.t.depth++
		defer func() { p.t.depth-- }()
		if p.t.depth > maxNesting {
			p.t.halt(open.pos, open.key, fmt.Errorf("%w: %w: blocks nest more than %d deep", ErrSyntax, ErrLimit, maxNesting))
			return nil
		}
	}
	var out []*node
	for !p.t.stopped() {
		tok, ok := p.peek()
		if !ok {
			if open != nil {
				p.t.d.errAt(open, fmt.Errorf("%w: block is not closed (missing })", ErrSyntax))
			}
			return out
		}
		if tok.isClose() {
			p.take()
			if open == nil {
				p.t.d.add(&Error{Pos: Pos{p.file, int(tok.line)}, Keyword: "}", Err: fmt.Errorf("%w: } without a block to close", ErrSyntax)})
				continue
			}
			return out
		}
		if tok.isOpen() {
			p.take()
			p.t.d.add(&Error{Pos: Pos{p.file, int(tok.line)}, Keyword: "{", Err: fmt.Errorf("%w: { without a keyword", ErrSyntax)})
			// Read and drop the stray block so that its braces stay balanced.
			p.block(&node{pos: Pos{p.file, int(tok.line)}, key: "{"})
			continue
		}
		if tok.bol && !tok.quoted && strings.HasPrefix(tok.text, "@") {
			p.conditional(tok)
			continue
		}
		n := p.statement()
		if n == nil {
			return out
		}
		if isInclude(n.key) && !n.hasBlock {
			out = append(out, p.include(n)...)
			continue
		}
		out = append(out, n)
	}
	return out
}

// conditional handles a line starting @ID or @^ID (keepalived 2.2.7 lib/parser.c
// read_line): the rest of the line is read when ID is (for @^, is not) the config ID,
// and dropped otherwise; a line with nothing after the @ID is dropped.
func (p *parser) conditional(at token) {
	p.take()
	id, rev := at.text[1:], false
	if strings.HasPrefix(id, "^") {
		id, rev = id[1:], true
	}
	next, ok := p.peek()
	if !ok || next.bol {
		return
	}
	if (id == p.t.configID) == rev {
		for {
			if next, ok := p.peek(); !ok || next.bol {
				return
			}
			p.take()
		}
	}
	// The rest of the line is a line of its own.
	p.tok.bol = true
}

// statement reads one statement; nil when a limit stopped the read.
func (p *parser) statement() *node {
	first, _ := p.peek()
	p.take()
	t := p.t
	t.seq++
	if t.seq > maxStatements {
		t.halt(Pos{p.file, int(first.line)}, first.text, fmt.Errorf("%w: more than %d statements", ErrLimit, maxStatements))
		return nil
	}
	if p.n++; p.n%4096 == 0 {
		if err := t.ctx.Err(); err != nil {
			t.halt(Pos{p.file, int(first.line)}, first.text, fmt.Errorf("reading stopped: %w", err))
			return nil
		}
	}
	n := &node{pos: Pos{p.file, int(first.line)}, key: first.text, seq: t.seq}
	for {
		tok, ok := p.peek()
		if !ok {
			return n
		}
		if tok.bol {
			// End of line: a { alone at the start of the next line opens this
			// statement's block, as keepalived allows.
			if tok.isOpen() {
				p.take()
				n.hasBlock = true
				n.children = p.block(n)
			}
			return n
		}
		if tok.isClose() {
			return n
		}
		p.take()
		if tok.isOpen() {
			n.hasBlock = true
			n.children = p.block(n)
			return n
		}
		if t.words++; t.words > maxWords {
			t.halt(n.pos, n.key, fmt.Errorf("%w: more than %d words", ErrLimit, maxWords))
			return nil
		}
		n.args = append(n.args, tok)
	}
}

func (p *parser) include(n *node) []*node {
	if len(n.args) != 1 {
		p.t.d.errAt(n, fmt.Errorf("%w: include takes one file name or pattern", ErrSyntax))
		return nil
	}
	src := p.t.src
	var names []string
	// keepalived 2.2.7 globs every include with GLOB_BRACE: {a,b} alternatives
	// expand in order, each one's matches sorted.
	alts, ok := expandBraces(n.arg(0))
	if !ok {
		p.t.d.errAt(n, fmt.Errorf("%w: %w: %q expands to more than %d patterns", ErrInclude, ErrLimit, n.arg(0), maxFiles))
		return nil
	}
	for _, alt := range alts {
		pattern := src.join(src.dir(p.file), alt)
		if !strings.ContainsAny(alt, "*?[") {
			names = append(names, pattern)
			continue
		}
		m, err := src.glob(pattern)
		if err != nil {
			p.t.d.errAt(n, fmt.Errorf("%w: %w", ErrInclude, err))
			return nil
		}
		if len(m) == 0 {
			p.t.d.warn(n, fmt.Sprintf("pattern %s matches no files; nothing included", pattern))
		}
		names = append(names, m...)
	}
	var out []*node
	for _, name := range names {
		if p.t.stopped() {
			break
		}
		out = append(out, p.t.file(name, n)...)
	}
	return out
}

// expandBraces expands {a,b} alternatives as glob(3) does with GLOB_BRACE (which
// keepalived 2.2.7 passes for every include): the first brace expression is expanded
// first, braces nest, {x} is x, and a first { without its } leaves the pattern as it is. ok is
// false when there would be more than maxFiles alternatives.
func expandBraces(s string) (out []string, ok bool) {
	work := []string{s}
	for len(work) > 0 {
		s := work[len(work)-1]
		work = work[:len(work)-1]
		i, end, alts := braceAt(s)
		if i < 0 {
			if len(out) >= maxFiles {
				return nil, false
			}
			out = append(out, s)
			continue
		}
		// Push in reverse so that the alternatives come out in order.
		for k := len(alts) - 1; k >= 0; k-- {
			if len(work) >= maxFiles {
				return nil, false
			}
			work = append(work, s[:i]+alts[k]+s[end+1:])
		}
	}
	return out, true
}

// braceAt finds the first brace expression of s: its {, its } and its
// comma-separated alternatives; i < 0 when there is none. As in glibc, a first { with
// no matching } turns brace expansion off for the whole pattern.
func braceAt(s string) (i, end int, alts []string) {
	i = strings.IndexByte(s, '{')
	if i < 0 {
		return -1, -1, nil
	}
	depth, from := 0, i+1
	for k := i + 1; k < len(s); k++ {
		switch s[k] {
		case '{':
			depth++
		case ',':
			if depth == 0 {
				alts = append(alts, s[from:k])
				from = k + 1
			}
		case '}':
			if depth == 0 {
				return i, k, append(alts, s[from:k])
			}
			depth--
		}
	}
	return -1, -1, nil
}
