package health

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStatusRanges(t *testing.T) {
	tests := []struct {
		in      string
		want    StatusRanges
		wantErr bool
	}{
		{in: "200-299", want: StatusRanges{{200, 299}}},
		{in: "200, 301-302 ,404", want: StatusRanges{{200, 200}, {301, 302}, {404, 404}}},
		{in: "", wantErr: true},
		{in: "20", wantErr: true},
		{in: "299-200", wantErr: true},
		{in: "200-", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "099", wantErr: true},
		{in: "+20", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStatusRanges(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseStatusRanges(%q) error %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	r := StatusRanges{{200, 299}, {404, 404}}
	for code, want := range map[int]bool{199: false, 200: true, 299: true, 300: false, 404: true} {
		if r.Contains(code) != want {
			t.Errorf("Contains(%d) = %v, want %v", code, !want, want)
		}
	}
}

// FuzzParseStatusRanges checks the round trip: whatever parses formats to a string that
// parses to the same ranges.
func FuzzParseStatusRanges(f *testing.F) {
	for _, s := range []string{"200-299", "200,301-302", " 204 ", "100-999", "5xx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseStatusRanges(s)
		if err != nil {
			return
		}
		again, err := ParseStatusRanges(r.String())
		if err != nil {
			t.Fatalf("reparse %q (from %q): %v", r.String(), s, err)
		}
		if diff := cmp.Diff(r, again); diff != "" {
			t.Fatalf("round trip of %q (-first +second):\n%s", s, diff)
		}
	})
}
