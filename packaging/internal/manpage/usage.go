package manpage

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Option is one command-line option of a program.
type Option struct {
	// Name is the option without its dash: "f", "status-file"; empty means the
	// option has only a Long spelling.
	Name string
	// Long is another, long spelling of the same option ("add-service" for "A"),
	// written with two dashes; empty means none.
	Long string
	// Arg names the option's value ("string", "value"); empty means the option
	// takes none (a boolean flag).
	Arg string
	// Usage is the option's help text, without the default.
	Usage string
	// Default is the value the option has when it is not given, as the program
	// printed it; empty means the zero value (not printed).
	Default string
}

// ParseUsage reads the output of a Go program's -h, the format that
// flag.PrintDefaults writes, and returns its options in the order printed. Lines
// before the first option (the "Usage of prog:" header) and after the last (the
// "flag: help requested" a program may add) are ignored. A usage that itself ends in
// "(default X)" cannot be told from a default in that format and is read as one.
func ParseUsage(out string) ([]Option, error) {
	var opts []Option
	var usage []string
	flush := func() {
		if len(opts) == 0 {
			return
		}
		o := &opts[len(opts)-1]
		text := strings.Join(usage, "\n")
		o.Usage, o.Default = splitDefault(text)
		usage = nil
	}
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "  -"):
			flush()
			head, rest, sameLine := strings.Cut(line[3:], "\t")
			name, arg, _ := strings.Cut(head, " ")
			if name == "" || strings.ContainsAny(name, " =") {
				return nil, fmt.Errorf("manpage: bad option line %q", line)
			}
			opts = append(opts, Option{Name: name, Arg: arg})
			if sameLine {
				usage = append(usage, rest)
			}
			in = true
		case in && strings.HasPrefix(line, "    \t"):
			usage = append(usage, line[len("    \t"):])
		default:
			in = false
		}
	}
	flush()
	if len(opts) == 0 {
		return nil, errors.New("manpage: no options in the usage text")
	}
	return opts, nil
}

// splitDefault takes the " (default X)" that flag.PrintDefaults appends off a usage
// text, unquoting X when it is a quoted string.
func splitDefault(text string) (usage, def string) {
	const open = " (default "
	if !strings.HasSuffix(text, ")") {
		return text, ""
	}
	// Try the last "(default " first: a usage may mention "(default" itself, and a
	// quoted default may contain it too, in which case only an earlier one unquotes.
	// A default that ends in a quote is a quoted string (flag quotes string
	// defaults with %q): only a candidate that unquotes is it.
	quoted := strings.HasSuffix(text, `")`)
	last := -1
	for i := strings.LastIndex(text, open); i >= 0; i = strings.LastIndex(text[:i], open) {
		if last < 0 {
			last = i
		}
		def = text[i+len(open) : len(text)-1]
		if !quoted {
			return text[:i], def
		}
		if u, err := strconv.Unquote(def); err == nil && strings.HasPrefix(def, `"`) {
			return text[:i], u
		}
	}
	if last >= 0 {
		return text[:last], text[last+len(open) : len(text)-1]
	}
	return text, ""
}
