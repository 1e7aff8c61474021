package kaconf

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// errorTexts returns every error of a joined read error, in order.
func errorTexts(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
	} else if err != nil {
		out = append(out, err.Error())
	}
	return out
}

const hostileInstance = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n"

// chain returns files c0.conf .. c<n>.conf where each includes the next and the last
// holds an instance.
func chain(n int) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := range n {
		fsys[fmt.Sprintf("c%d.conf", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, "include c%d.conf\n", i+1)}
	}
	fsys[fmt.Sprintf("c%d.conf", n)] = &fstest.MapFile{Data: []byte(hostileInstance)}
	return fsys
}

// TestReadHostileText feeds the reader text built to exhaust the stack, memory or the
// log: each case must end with an error that names the file and line where reading
// stopped, and report a bounded number of errors.
func TestReadHostileText(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		// want are substrings of the first error; limit says whether the read must
		// end with ErrLimit.
		want      []string
		limit     bool
		maxErrors int
	}{
		{
			name:      "ten million { on separate lines",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte(strings.Repeat("{\n", 5_000_000))}},
			want:      []string{"kaconf: k.conf:1: {: syntax error: { without a keyword", "k.conf:33: {: syntax error: limit exceeded: blocks nest more than 32 deep"},
			limit:     true,
			maxErrors: 34, // one per stray level, then the limit
		},
		{
			name:      "ten million { on one line",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte(strings.Repeat("{", 10_000_000))}},
			want:      []string{"kaconf: k.conf:1: (line): limit exceeded: line of 10000000 bytes: keepalived 2.2.7 reads at most 1023 bytes"},
			limit:     true,
			maxErrors: 1,
		},
		{
			// Found by FuzzRead: accepted, then Format wrote the character raw and
			// reading that back failed.
			name:      "escaped control character in quotes",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte("vrrp_instance 0{interface 0\nvirtual_router_id 1\nnotify \"\\\x7f\"}")}},
			want:      []string{"kaconf: k.conf:3: notify: syntax error: control character 0x7f"},
			maxErrors: 2,
		},
		{
			name:      "deep keyword blocks",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte(strings.Repeat("a {\n", 1_000_000))}},
			want:      []string{"k.conf:33: a: syntax error: limit exceeded: blocks nest more than 32 deep"},
			limit:     true,
			maxErrors: 1,
		},
		{
			name:      "ten million }",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte(strings.Repeat("}\n", 5_000_000))}},
			want:      []string{"kaconf: k.conf:1: }: syntax error: } without a block to close", "k.conf:101: (file): limit exceeded: more than 100 errors; reading stopped here"},
			limit:     true,
			maxErrors: 101,
		},
		{
			name:      "control characters",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte(strings.Repeat("\x00\n", 1_000_000))}},
			want:      []string{"kaconf: k.conf:1: (line): syntax error: control character 0x00", "more than 100 errors"},
			limit:     true,
			maxErrors: 101,
		},
		{
			name:      "too many statements",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte("global_defs {\n" + strings.Repeat("router_id r\n", 300_000) + "}\n")}},
			want:      []string{"k.conf:200001: router_id: limit exceeded: more than 200000 statements"},
			limit:     true,
			maxErrors: 1,
		},
		{
			name:      "too many words",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte(strings.Repeat("a"+strings.Repeat(" b", 500)+"\n", 5000))}},
			want:      []string{"k.conf:2001: a: limit exceeded: more than 1000000 words"},
			limit:     true,
			maxErrors: 1,
		},
		{
			name:      "a file over 16 MiB",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte("include big.conf\n")}, "big.conf": {Data: make([]byte, 17<<20)}},
			want:      []string{"kaconf: k.conf:1: include: include failed: limit exceeded: big.conf: 17825792 bytes would take the configuration over 16777216 bytes"},
			limit:     true,
			maxErrors: 1,
		},
		{
			name: "includes over 16 MiB in total",
			fsys: fstest.MapFS{
				"k.conf":   {Data: []byte("include a.conf\ninclude a.conf\n")},
				"a.conf":   {Data: []byte("# " + strings.Repeat("x", 1000) + "\n" + strings.Repeat("\n", 9<<20))},
				"big.conf": {Data: make([]byte, 17<<20)},
			},
			want:      []string{"kaconf: k.conf:2: include: include failed: limit exceeded: a.conf: 9438187 bytes would take the configuration over 16777216 bytes"},
			limit:     true,
			maxErrors: 1,
		},
		{
			name:      "include chain deeper than 1000",
			fsys:      chain(1001),
			want:      []string{"kaconf: c999.conf:1: include: include failed: limit exceeded: includes nest more than 1000 deep at c1000.conf"},
			limit:     true,
			maxErrors: 1,
		},
		{
			name: "includes that fan out",
			fsys: func() fstest.MapFS {
				fsys := fstest.MapFS{}
				for i := range 30 {
					fsys[fmt.Sprintf("f%d.conf", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, "include f%d.conf\ninclude f%[1]d.conf\n", i+1)}
				}
				fsys["f30.conf"] = &fstest.MapFile{}
				return fsys
			}(),
			want:      []string{"include: include failed: limit exceeded: more than 10000 files read"},
			limit:     true,
			maxErrors: 1,
		},
		{
			name:      "brace expansion that explodes",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte("include " + strings.Repeat("{a,b}", 20) + "\n")}},
			want:      []string{"kaconf: k.conf:1: include: include failed: limit exceeded:", "expands to more than 10000 patterns"},
			limit:     true,
			maxErrors: 1,
		},
		{
			name:      "include loop",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte("include k.conf\n" + hostileInstance)}},
			want:      []string{"kaconf: k.conf:1: include: include failed: k.conf includes itself"},
			maxErrors: 1,
		},
		{
			name:      "long keyword",
			fsys:      fstest.MapFS{"k.conf": {Data: []byte(strings.Repeat("k", 1000) + "\n")}},
			want:      []string{"kaconf: k.conf:1: " + strings.Repeat("k", maxKeywordBytes) + "...: unknown or unsupported keyword"},
			maxErrors: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Read(tt.fsys, strings.TrimSuffix(firstName(tt.fsys), "\n"))
			if c != nil || err == nil {
				t.Fatalf("Read returned a Config (%v) and error %v, want only an error", c != nil, err)
			}
			got := errorTexts(err)
			if len(got) > tt.maxErrors {
				t.Errorf("%d errors, want at most %d; first: %q", len(got), tt.maxErrors, got[0])
			}
			all := strings.Join(got, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("errors do not contain %q; got:\n%s", w, clip(all, 2000))
				}
			}
			if errors.Is(err, ErrLimit) != tt.limit {
				t.Errorf("errors.Is(err, ErrLimit) = %v, want %v", !tt.limit, tt.limit)
			}
			for _, e := range got {
				if len(e) > 1000 {
					t.Errorf("an error of %d bytes: %.200s...", len(e), e)
				}
			}
		})
	}
}

// firstName is the file a test reads: k.conf, c0.conf or f0.conf.
func firstName(fsys fstest.MapFS) string {
	for _, n := range []string{"k.conf", "c0.conf", "f0.conf"} {
		if _, ok := fsys[n]; ok {
			return n
		}
	}
	panic("no main file")
}

// TestReadIncludeChainDeeperThan16 reads a chain of 100 includes, which keepalived
// 2.2.7 runs (it has no depth limit short of its open-file limit).
func TestReadIncludeChainDeeperThan16(t *testing.T) {
	c, _, err := Read(chain(100), "c0.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Instances) != 1 || c.Instances[0].Pos != at("c100.conf", 1) {
		t.Errorf("instances %+v, want V from c100.conf:1", c.Instances)
	}
}

// TestReadIncludeBraces checks keepalived's GLOB_BRACE expansion: alternatives in
// order, each one's glob matches sorted, nested braces, and a lone { taken literally.
func TestReadIncludeBraces(t *testing.T) {
	inst := func(name string, vrid int) *fstest.MapFile {
		return &fstest.MapFile{Data: fmt.Appendf(nil, "vrrp_instance %s {\n interface eth0\n virtual_router_id %d\n virtual_ipaddress {\n  192.0.2.%[2]d\n }\n}\n", name, vrid)}
	}
	fsys := fstest.MapFS{
		"k.conf":         {Data: []byte("include conf.d/{z,a*,m{1,2}}.conf\ninclude {x.conf\n")},
		"conf.d/z.conf":  inst("Z", 1),
		"conf.d/a2.conf": inst("A2", 2),
		"conf.d/a1.conf": inst("A1", 3),
		"conf.d/m1.conf": inst("M1", 4),
		"conf.d/m2.conf": inst("M2", 5),
		"{x.conf":        inst("X", 6),
	}
	c, _, err := Read(fsys, "k.conf")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range c.Instances {
		got = append(got, in.Name)
	}
	want := []string{"Z", "A1", "A2", "M1", "M2", "X"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("instances in order %v, want %v", got, want)
	}
}

func TestExpandBraces(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a.conf", "a.conf"},
		{"{a,b}.conf", "a.conf b.conf"},
		{"x{a,b{1,2}}y", "xay xb1y xb2y"},
		{"{a}", "a"},
		{"{}x", "x"},
		{"{a,b", "{a,b"},
		{"{a,b}{1,2}", "a1 a2 b1 b2"},
	}
	for _, tt := range tests {
		got, ok := expandBraces(tt.in)
		if !ok || strings.Join(got, " ") != tt.want {
			t.Errorf("expandBraces(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

// TestReadContext checks that a read stops when its context is done.
func TestReadContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := ReadContext(ctx, chain(3), "c0.conf")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "c0.conf:0: (file): reading stopped: context canceled") {
		t.Errorf("err = %v, want it to name c0.conf", err)
	}
	// A context that ends during a long read stops it within a few thousand
	// statements.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	src := "global_defs {\n" + strings.Repeat("router_id r\n", 150_000) + "}\n"
	fsys := fstest.MapFS{"k.conf": {Data: []byte(src)}}
	s := fsSource{fsys}
	_, _, err = read(ctx, cancelOnRead{s, cancel}, "k.conf", "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "k.conf:4096: router_id: reading stopped") {
		t.Errorf("err = %v, want it to stop at k.conf:4096", err)
	}
}

// cancelOnRead cancels a context once the file is read, as a signal arriving while
// the reader works would.
type cancelOnRead struct {
	fsSource
	cancel context.CancelFunc
}

func (s cancelOnRead) readFile(name string, limit int64) ([]byte, error) {
	defer s.cancel()
	return s.fsSource.readFile(name, limit)
}
