package manpage

import (
	"bytes"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// usageOf is what a program built with fs prints for -h.
func usageOf(fs *flag.FlagSet) string {
	var b bytes.Buffer
	fs.SetOutput(&b)
	fmt.Fprintf(&b, "Usage of %s:\n", fs.Name())
	fs.PrintDefaults()
	return b.String()
}

func TestParseUsage(t *testing.T) {
	tests := []struct {
		name  string
		flags func(fs *flag.FlagSet)
		extra string // appended after the usage, as realserver's "flag: help requested"
		want  []Option
	}{
		{
			name: "director's kinds",
			flags: func(fs *flag.FlagSet) {
				fs.String("f", "/etc/keepalived/keepalived.conf", "keepalived.conf to run")
				fs.Bool("t", false, "check the configuration file and exit (0 valid, 1 not)")
				fs.String("metrics", "", "listen address; empty means none")
			},
			want: []Option{
				{Name: "f", Arg: "string", Usage: "keepalived.conf to run", Default: "/etc/keepalived/keepalived.conf"},
				{Name: "metrics", Arg: "string", Usage: "listen address; empty means none"},
				{Name: "t", Usage: "check the configuration file and exit (0 valid, 1 not)"},
			},
		},
		{
			name: "value flag and trailing error line",
			flags: func(fs *flag.FlagSet) {
				fs.Func("vip", "a virtual IP address to serve (repeat for several)", func(string) error { return nil })
				fs.String("mode", "dr", "dr or tun (default is dr)")
			},
			extra: "realserver: flag: help requested\n",
			want: []Option{
				{Name: "mode", Arg: "string", Usage: "dr or tun (default is dr)", Default: "dr"},
				{Name: "vip", Arg: "value", Usage: "a virtual IP address to serve (repeat for several)"},
			},
		},
		{
			name: "backquoted argument name, duration, int and multi-line usage",
			flags: func(fs *flag.FlagSet) {
				fs.Duration("timeout", 3*time.Second, "give up after `d`")
				fs.Int("n", 0, "count")
				fs.Bool("long-bool", true, "first line\nsecond line")
			},
			want: []Option{
				{Name: "long-bool", Usage: "first line\nsecond line", Default: "true"},
				{Name: "n", Arg: "int", Usage: "count"},
				{Name: "timeout", Arg: "d", Usage: "give up after d", Default: "3s"},
			},
		},
		{
			name: "quoted default holding the default marker",
			flags: func(fs *flag.FlagSet) {
				fs.String("s", `x (default "y")`, "odd default")
			},
			want: []Option{{Name: "s", Arg: "string", Usage: "odd default", Default: `x (default "y")`}},
		},
		{
			// Found by FuzzParseUsage: the output cannot tell this usage from a
			// flag with a default, and ParseUsage reads it as a default.
			name: "usage ending in a default of its own",
			flags: func(fs *flag.FlagSet) {
				fs.Bool("0", false, "0 (default )")
			},
			want: []Option{{Name: "0", Usage: "0"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("prog", flag.ContinueOnError)
			tt.flags(fs)
			got, err := ParseUsage(usageOf(fs) + tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseUsage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseUsageRejects(t *testing.T) {
	for name, in := range map[string]string{
		"no options":       "Usage of prog:\n",
		"ipvsctl's answer": `ipvsctl: unknown option "h"` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := ParseUsage(in); err == nil {
				t.Errorf("ParseUsage(%q) = %+v, want an error", in, got)
			}
		})
	}
}

// FuzzParseUsage checks the round trip: a flag defined with any name, usage and
// default is read back from PrintDefaults as it was defined. Usages are one line
// without backquotes and without " (default " of their own (see the table case
// "usage ending in a default of its own"; PrintDefaults gives backquotes a meaning, and a line of a
// multi-line usage that starts with "-" is indistinguishable from a flag).
func FuzzParseUsage(f *testing.F) {
	f.Add("f", "keepalived.conf to run", "/etc/keepalived/keepalived.conf", false)
	f.Add("t", "check and exit", "", true)
	f.Add("status-file", "file (default x)", `a"b`, false)
	f.Fuzz(func(t *testing.T, name, usage, def string, isBool bool) {
		if name == "" || strings.HasPrefix(name, "-") || strings.ContainsAny(name, "= \t\n`") ||
			strings.ContainsAny(usage, "\n`") || strings.Contains(usage, " (default ") || strings.TrimSpace(usage) != usage || !printable(name+usage+def) {
			t.Skip()
		}
		fs := flag.NewFlagSet("prog", flag.ContinueOnError)
		want := Option{Name: name, Usage: usage}
		if isBool {
			fs.Bool(name, false, usage)
		} else {
			fs.String(name, def, usage)
			want.Arg, want.Default = "string", def
		}
		got, err := ParseUsage(usageOf(fs))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]Option{want}, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
}

func printable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}
