package argv

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "", want: nil},
		{in: "  pidof   nginx ", want: []string{"pidof", "nginx"}},
		{in: `sh -c 'test -f "/run/x y"'`, want: []string{"sh", "-c", `test -f "/run/x y"`}},
		{in: `a "b \"c\" \\ \d" e`, want: []string{"a", `b "c" \ \d`, "e"}},
		{in: `a\ b c`, want: []string{"a b", "c"}},
		{in: `''`, want: []string{""}},
		{in: `x''y"z"`, want: []string{"xyz"}},
		{in: `'abc`, err: true},
		{in: `"abc`, err: true},
		{in: `abc\`, err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Split(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// quoteArgs quotes words so that Split gives them back.
func quoteArgs(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "a b", `sh -c 'x "y"'`, `"a\"b" c\ d`, `'`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Split(s)
		if err != nil {
			return
		}
		again, err := Split(quoteArgs(words))
		if err != nil {
			t.Fatalf("quoted %q: %v", words, err)
		}
		if len(words) == 0 {
			words = nil
		}
		if diff := cmp.Diff(words, again); diff != "" {
			t.Errorf("round trip of %q: (-want +got)\n%s", s, diff)
		}
	})
}

// Commands are split like a shell splits them, without running one.
func ExampleSplit() {
	argv, err := Split(`sh -c 'pidof nginx || exit 1'`)
	fmt.Printf("%q %v\n", argv, err)
	// Output:
	// ["sh" "-c" "pidof nginx || exit 1"] <nil>
}
