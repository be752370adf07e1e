package main

import (
	"io"
	"slices"
	"testing"
)

// TestParseFlags: flags may come before, between and after the
// positional arguments, and "--" ends them: what follows is positional
// even when it looks like a flag (a file named "-x", or "--json" meant as
// a name), as 'send' always did and the other commands now do too.
func TestParseFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		pos  []string
		json bool
		code int
	}{
		{"mixed", []string{"a", "--json", "b"}, []string{"a", "b"}, true, -1},
		{"none", nil, nil, false, -1},
		{"dash dash ends the flags", []string{"a", "--", "-b", "--json"}, []string{"a", "-b", "--json"}, false, -1},
		{"dash dash first", []string{"--", "--json"}, []string{"--json"}, false, -1},
		{"help", []string{"a", "--help"}, nil, false, 0},
		{"unknown flag", []string{"--bogus"}, nil, false, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &env{stdout: io.Discard, stderr: io.Discard}
			fs := newFlags(e, "test")
			asJSON := fs.Bool("json", false, "")
			pos, code := parseFlags(e, fs, c.args)
			if code != c.code || !slices.Equal(pos, c.pos) || *asJSON != c.json {
				t.Errorf("got %q, code %d, json %t; want %q, code %d, json %t", pos, code, *asJSON, c.pos, c.code, c.json)
			}
		})
	}
}
