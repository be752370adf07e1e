package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
)

// TestParseArgs: flags may come before, between and after the
// positional arguments, and "--" ends them: what follows is positional
// even when it looks like a flag (a file named "-x", or "--json" meant as
// a name), for every command.
func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		pos  []string
		json bool
		err  string // "", "help" or "usage"
	}{
		{"mixed", []string{"a", "--json", "b"}, []string{"a", "b"}, true, ""},
		{"none", nil, nil, false, ""},
		{"dash dash ends the flags", []string{"a", "--", "-b", "--json"}, []string{"a", "-b", "--json"}, false, ""},
		{"dash dash first", []string{"--", "--json"}, []string{"--json"}, false, ""},
		{"help", []string{"a", "--help"}, nil, false, "help"},
		{"unknown flag", []string{"--bogus"}, nil, false, "usage"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			asJSON := fs.Bool("json", false, "")
			pos, err := parseArgs(fs, c.args)
			got := ""
			switch {
			case errors.Is(err, flag.ErrHelp):
				got = "help"
			case err != nil:
				got = "usage"
			}
			if got != c.err || !slices.Equal(pos, c.pos) || *asJSON != c.json {
				t.Errorf("got %q, %q, json %t; want %q, %q, json %t", pos, got, *asJSON, c.pos, c.err, c.json)
			}
		})
	}
}
