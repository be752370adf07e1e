package nhi

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and what it accepts is 7 characters of
// the NHI alphabet that Parse accepts again unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"ZZZ0016", "ZZZ00AC", "zsc21tn", "ZIZ0016", "", "ZZZ00A1", "ÄÖÜ0016"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(n.Value) != 7 || strings.ContainsAny(n.Value, "IO") {
			t.Fatalf("accepted %q as %q", s, n.Value)
		}
		again, err := Parse(n.Value)
		if err != nil || again != n {
			t.Fatalf("%q: reparse %v, %v", n.Value, again, err)
		}
	})
}
