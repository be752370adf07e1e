package pgpmime_test

import (
	"io"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgpmime"
)

// TestRawReaderAmbiguous: Ambiguous reports a boundary line a reader that
// takes a lone CR for a line end splits otherwise: a CR in a delimiter
// line's transport padding, or the boundary after a bare CR in the
// preamble, also where a preamble line longer than the reader's buffer
// is split between the CR and the dashes. The parts RawReader returns are
// unchanged.
func TestRawReaderAmbiguous(t *testing.T) {
	long := strings.Repeat("x", 64<<10-1) // the CR is the last byte of the first buffer
	for _, c := range []struct {
		name, body string
		want       bool
	}{
		{"plain", "--b\r\none\r\n--b--\r\n", false},
		{"padding of spaces and tabs", "--b \t\r\none\r\n--b-- \r\n", false},
		{"preamble", "This is a multi-part message in MIME format.\r\n--b\r\none\r\n--b--\r\n", false},
		{"line break LF only", "--b\none\n--b--\n", false},
		{"CR doubled", "--b\r\r\none\r\n--b--\r\n", true},
		{"CR in the padding", "--b \r \r\none\r\n--b--\r\n", true},
		{"close delimiter CR doubled", "--b\r\none\r\n--b--\r\r\n", true},
		{"preamble with a bare CR before the boundary", "text\r--b\r\nhidden\r\n--b\r\none\r\n--b--\r\n", true},
		{"long preamble line split at the CR", long + "\r--b\r\nhidden\r\n--b\r\none\r\n--b--\r\n", true},
		{"long preamble line without it", long + "\r-b\r\n--b\r\none\r\n--b--\r\n", false},
	} {
		rr := pgpmime.NewRawReader(strings.NewReader(c.body), "b")
		var parts []string
		for {
			p, err := rr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			b, err := io.ReadAll(p)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			parts = append(parts, string(b))
		}
		if rr.Ambiguous() != c.want {
			t.Errorf("%s: Ambiguous() = %v, want %v", c.name, rr.Ambiguous(), c.want)
		}
		if strings.Join(parts, "|") != "one" {
			t.Errorf("%s: parts %q, want [one]", c.name, parts)
		}
	}
}
