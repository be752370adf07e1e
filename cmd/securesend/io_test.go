package main

import (
	"strings"
	"testing"
)

// TestReadSecret: every secret piped on standard input is read by one
// function that names its flag when it fails and refuses an empty line
// (nothing was piped), instead of taking "" as the password.
func TestReadSecret(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{"s3cret\nrest\n", "s3cret", ""},
		{"s3cret", "s3cret", ""},
		{"\n", "", "--passphrase-stdin: standard input is empty"},
		{"", "", "--passphrase-stdin: standard input is empty"},
		{strings.Repeat("x", maxLine+1), "", "--passphrase-stdin: cannot read standard input: the line is longer than"},
	} {
		got, err := readSecret(strings.NewReader(c.in), "--passphrase-stdin")
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.HasPrefix(err.Error(), c.err) {
			t.Errorf("readSecret(%.12q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.err)
		}
	}
}
