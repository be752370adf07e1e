package main

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
)

// TestRunLeafBadFlagTermSafe: a bad flag (say a file name that starts
// with "-" and carries an escape sequence) is named on stderr escaped,
// with the usage line, exit 2; nothing runs.
func TestRunLeafBadFlagTermSafe(t *testing.T) {
	ran := false
	c := command{name: "hello", usage: "Usage: securesend demo hello NAME\n", args: oneArg("give the NAME"), noDesk: true,
		flags: func(fs *flag.FlagSet) runFunc {
			fs.Bool("quiet", false, "say less")
			return func(context.Context, *call) error { ran = true; return nil }
		}}
	for _, args := range [][]string{
		{"-\x1b[2J\rVERIFIED.pdf"},
		{"--quiet=\x1b[31mx", "a"},
	} {
		var out, errb bytes.Buffer
		code := runLeaf(context.Background(), &env{stdout: &out, stderr: &errb}, nil, c, "securesend demo hello", args)
		if code != 2 || ran || out.Len() != 0 {
			t.Errorf("%q: exit %d, ran %v, stdout %q; want 2, false, empty", args, code, ran, out.String())
		}
		if s := errb.String(); strings.ContainsAny(s, "\x1b\r") || !strings.Contains(s, `\x1b`) || !strings.Contains(s, "Usage: securesend demo hello NAME") {
			t.Errorf("%q: stderr %q, want the flag escaped and the usage line", args, s)
		}
	}
}

// TestErrorfTermSafe: every error the command prints passes termsafe,
// whatever text its caller put in (a file name, a server reply).
func TestErrorfTermSafe(t *testing.T) {
	var errb bytes.Buffer
	if code := errorf(&env{stderr: &errb}, "open %s: %v", "\x1b]0;pwned\a.pdf", "reply \u202eFDP.exe\r\n"); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	s := errb.String()
	if strings.ContainsAny(s, "\x1b\a\u202e\r") || !strings.HasPrefix(s, `securesend: open \x1b]0;pwned\x07.pdf: reply <U+202E>FDP.exe`) || !strings.HasSuffix(s, "\n") {
		t.Errorf("stderr %q", s)
	}
}
