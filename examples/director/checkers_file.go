package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/examples/director/kaconf"
	"github.com/lvskit/lvskit/health"
)

// fileCheckInterval is how often FILE_CHECK reads its file. keepalived watches the
// file with inotify; the director reads it every second.
const fileCheckInterval = time.Second

// fileChecker is FILE_CHECK: it reads a track_file's integer (a missing, empty or
// unreadable file reads as 0, as keepalived's process_track_file) and turns it into
// the real server's state. With weight 0 a non-zero value means down (with reverse, a
// zero value); otherwise the check stays up and sets the real server's weight to
// base + value*weight (negated with reverse), clamped to 0..2^31-1.
type fileChecker struct {
	path    string
	weight  int
	reverse bool
	// base is the real server's configured weight.
	base int
}

// Check implements health.Checker.
func (f *fileChecker) Check(ctx context.Context) (health.Result, error) {
	v, err := readTrackFile(f.path)
	if err != nil {
		return health.Result{}, err
	}
	if f.weight == 0 {
		if (v != 0) != f.reverse {
			return health.Result{}, fmt.Errorf("director: FILE_CHECK %s: value %d: %w", f.path, v, health.ErrMismatch)
		}
		return health.Result{Detail: fmt.Sprintf("value %d", v)}, nil
	}
	mult := int64(1)
	if f.reverse {
		mult = -1
	}
	w := int64(f.base) + v*int64(f.weight)*mult
	w = max(0, min(w, math.MaxInt32))
	return health.Result{Weight: int(w), WeightSet: true, Detail: fmt.Sprintf("value %d, weight %d", v, w)}, nil
}

// readTrackFile reads the integer at the start of a track file as strtol(buf, NULL,
// 0) does: decimal, 0x hex or 0 octal, leading white space and sign allowed,
// trailing text ignored; no digits read as 0. A value outside the int32 range is an
// error (keepalived ignores it and keeps the last value).
func readTrackFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	buf := make([]byte, 127)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, nil
	}
	return parseTrackValue(string(buf[:n]))
}

func parseTrackValue(s string) (int64, error) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") && isDigit(s[2], 16):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	end := 0
	for end < len(s) && isDigit(s[end], base) {
		end++
	}
	if end == 0 {
		return 0, nil
	}
	v, err := strconv.ParseInt(s[:end], base, 64)
	if neg {
		v = -v
	}
	if err != nil || v < math.MinInt32 || v > math.MaxInt32+1 {
		return 0, fmt.Errorf("director: track file value %q is out of range", s[:end])
	}
	return v, nil
}

func isDigit(c byte, base int) bool {
	switch {
	case c >= '0' && c <= '9':
		return int(c-'0') < base
	case base == 16 && c >= 'a' && c <= 'f', base == 16 && c >= 'A' && c <= 'F':
		return true
	}
	return false
}

// fileCheck is the scheduler's Check of a FILE_CHECK; tf is the track_file it
// names, base the real server's weight.
func fileCheck(c *kaconf.Check, tf *kaconf.TrackFile, base int) health.Check {
	fc := &fileChecker{weight: c.FileWeight, reverse: c.FileReverse, base: base}
	if tf != nil {
		fc.path = tf.File
	}
	return health.Check{Checker: fc, Interval: fileCheckInterval, Timeout: fileCheckInterval, RetryDelay: time.Millisecond}
}

// initTrackFiles writes init_file's value into the track files that do not exist
// (or, with overwrite, into every one that is a regular file or absent), as
// keepalived does when it reads its configuration.
func initTrackFiles(log interface{ Warn(string, ...any) }, tfs []kaconf.TrackFile) {
	for _, tf := range tfs {
		if !tf.InitFile {
			continue
		}
		fi, err := os.Stat(tf.File)
		if err == nil && (!tf.InitOverwrite || !fi.Mode().IsRegular()) {
			continue
		}
		if err := os.WriteFile(tf.File, []byte(strconv.Itoa(tf.InitValue)+"\n"), 0o644); err != nil {
			log.Warn("track_file init_file", "track_file", tf.Name, "err", err)
		}
	}
}
