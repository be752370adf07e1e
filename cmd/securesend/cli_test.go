package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
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

// TestDispatch: one command tree, as every command is declared, shows
// what the one place that runs commands does: --help on stdout (exit 0),
// usage errors with the usage line on stderr (exit 2), flags after
// arguments and "--", the argument rules, errors with the command's name
// (exit 1) or without it (bare), and a group's list of subcommands.
func TestDispatch(t *testing.T) {
	var got []string
	var greeting *string
	tree := command{name: "demo", usage: "A group for the test.\n", subs: []command{
		{name: "hello", summary: "greet NAME", usage: "Usage: securesend demo hello NAME [--greeting WORD]\n", args: oneArg("give the NAME"), noDesk: true,
			flags: func(fs *flag.FlagSet) runFunc {
				greeting = fs.String("greeting", "kia ora", "the `WORD` to greet with")
				return func(_ context.Context, c *call) error {
					got = append(got, *greeting+" "+c.arg())
					switch c.arg() {
					case "fail":
						return errors.New("demo: no such person")
					case "bare":
						return bare(errors.New("the server said no\x1b[2J"))
					case "three":
						return exitCode(3)
					case "usage":
						return usagef("--greeting %q is not a greeting", *greeting)
					}
					return nil
				}
			}},
		{name: "list", summary: "list everyone", usage: "Usage: securesend demo list\n", noDesk: true, run: func(_ context.Context, c *call) error {
			got = append(got, "list")
			return nil
		}},
		{name: "sum", summary: "add numbers", usage: "Usage: securesend demo sum N...\n", args: someArgs("give a number"), noDesk: true, run: func(_ context.Context, c *call) error {
			got = append(got, strings.Join(c.args, "+"))
			return nil
		}},
	}}
	for _, c := range []struct {
		args           []string
		code           int
		ran            string // what ran, "" for nothing
		stdout, stderr string // each a substring, or "-" for empty
	}{
		{[]string{"hello", "Ana"}, 0, "kia ora Ana", "-", "-"},
		{[]string{"hello", "Ana", "--greeting", "hi"}, 0, "hi Ana", "-", "-"},
		{[]string{"hello", "--", "--greeting"}, 0, "kia ora --greeting", "-", "-"},
		{[]string{"hello", "--help"}, 0, "", "Usage: securesend demo hello NAME [--greeting WORD]\n\nGreet NAME.\n\nFlags:\n  -greeting WORD", "-"},
		{[]string{"hello"}, 2, "", "-", "securesend demo hello: give the NAME\nUsage: securesend demo hello NAME [--greeting WORD]\nRun 'securesend demo hello --help' for more.\n"},
		{[]string{"hello", "a", "b"}, 2, "", "-", `securesend demo hello: unexpected argument "b"`},
		{[]string{"hello", "--bogus", "a"}, 2, "", "-", "flag provided but not defined: -bogus\nUsage: securesend demo hello"},
		{[]string{"hello", "fail"}, 1, "kia ora fail", "-", "securesend: demo hello: no such person\n"},
		{[]string{"hello", "bare"}, 1, "kia ora bare", "-", "securesend: the server said no\\x1b[2J\n"},
		{[]string{"hello", "three"}, 3, "kia ora three", "-", "-"},
		{[]string{"hello", "usage"}, 2, "kia ora usage", "-", "securesend demo hello: --greeting \"kia ora\" is not a greeting\nUsage:"},
		{[]string{"list", "x"}, 2, "", "-", `securesend demo list: takes no arguments, not "x"`},
		{[]string{"sum"}, 2, "", "-", "securesend demo sum: give a number"},
		{[]string{"sum", "1", "2", "3"}, 0, "1+2+3", "-", "-"},
		{nil, 2, "", "-", "Usage: securesend demo SUBCOMMAND [flags]\n\nA group for the test.\n\nSubcommands:\n  hello NAME [--greeting WORD]    greet NAME\n  list                            list everyone\n"},
		{[]string{"--help"}, 0, "", "Subcommands:", "-"},
		{[]string{"frobnicate"}, 2, "", "-", `securesend demo: unknown subcommand "frobnicate" (one of: hello, list, sum)`},
	} {
		got = nil
		var out, errb bytes.Buffer
		code := dispatch(context.Background(), &env{stdout: &out, stderr: &errb}, nil, tree, "securesend demo", c.args)
		ran := strings.Join(got, ";")
		check := func(name, s, want string) {
			if want == "-" && s != "" || want != "-" && !strings.Contains(s, want) {
				t.Errorf("%q: %s %q, want %q", c.args, name, s, want)
			}
		}
		if code != c.code || ran != c.ran {
			t.Errorf("%q: exit %d, ran %q; want %d, %q", c.args, code, ran, c.code, c.ran)
		}
		check("stdout", out.String(), c.stdout)
		check("stderr", errb.String(), c.stderr)
	}
}
