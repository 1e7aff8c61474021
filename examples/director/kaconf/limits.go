package kaconf

import "unicode/utf8"

// Limits on one read, so that no file, however hostile, exhausts memory, the stack or
// the log of the process that reads it (the director reads on SIGHUP while it runs).
// Each limit is far above what a keepalived.conf needs; going over one is an error
// wrapping ErrLimit that names the file and line, and reading stops there.
const (
	// maxLineBytes is the longest line, without its line ending. keepalived 2.2.7
	// reads lines with fgets into a 1024-byte buffer (MAXBUF in lib/parser.h) and
	// reads the rest of a longer line as a new line, so a longer line never means
	// what it says there.
	maxLineBytes = 1023
	// maxTotalBytes bounds the bytes read, summed over the main file and every
	// include (a file included twice counts twice).
	maxTotalBytes = 16 << 20
	// maxFiles bounds the files opened, so that includes that fan out (a file that
	// includes a glob twice, whose files do the same) stop.
	maxFiles = 10000
	// maxIncludeDepth bounds include nesting. keepalived 2.2.7 has no limit of its
	// own: it keeps every including file open and fails at the open-file limit
	// (1024 by default, about 1017 levels), then skips the deeper file with a
	// message and runs without it. The reader refuses a deeper chain instead.
	maxIncludeDepth = 1000
	// maxNesting bounds how deep { } blocks nest, counted across includes. The
	// deepest block keepalived knows (virtual_server, real_server, HTTP_GET, url)
	// nests 4 deep.
	maxNesting = 32
	// maxStatements and maxWords bound the statements and words of one read:
	// they, with maxTotalBytes, keep the reader's memory under 256 MB for any input
	// (TestReadMemory). 200,000 statements are, for example, 2,400 virtual servers
	// of 20 real servers with a TCP_CHECK each.
	maxStatements = 200_000
	maxWords      = 1_000_000
	// maxErrors and maxWarnings bound what one read reports; the rest is summed up
	// in one last error or warning.
	maxErrors   = 100
	maxWarnings = 100
	// maxMessageBytes bounds the text of one error or warning, and maxKeywordBytes
	// the keyword it names.
	maxMessageBytes = 400
	maxKeywordBytes = 64
)

// clip shortens s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
