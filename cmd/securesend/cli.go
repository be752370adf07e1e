package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
)

// command is a node of the command tree: a group of subcommands ("keys"),
// a command that runs ("keys pin"), or both ("relay", with "relay device").
type command struct {
	name    string // as typed after its parent: "pin"; "profile sign" under admin
	summary string // one line, for its group's list of subcommands
	// usage is a command's help: its "Usage: securesend ..." lines, then
	// (after a blank line) what it does, which is its summary when left
	// out. A group's usage is what the group is for, before the list of
	// its subcommands.
	usage string
	args  argRule
	// flags defines the command's flags on fs and returns what it does; a
	// command without flags sets run instead.
	flags func(fs *flag.FlagSet) runFunc
	run   runFunc
	// noDesk: the command opens no desk (admin's, demo): it may run
	// without a securesend home or keychain.
	noDesk bool
	subs   []command
}

// runFunc runs a command with its flags parsed, its arguments counted and,
// unless the command says noDesk, its desk open.
type runFunc func(ctx context.Context, c *call) error

// call is one run of a command: what it may touch, its positional
// arguments, its desk and its flags.
type call struct {
	*env
	args []string
	desk *desk.Desk
	fs   *flag.FlagSet
}

// arg is the first positional argument, "" when there is none.
func (c *call) arg() string {
	if len(c.args) == 0 {
		return ""
	}
	return c.args[0]
}

// given reports whether the flag name was given on the command line.
func (c *call) given(name string) bool {
	set := false
	c.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// argRule is how many positional arguments a command takes: none (the
// zero argRule), exactly one, or one or more. missing is what is said
// when there are too few.
type argRule struct {
	min, max int // max < 0: no limit
	missing  string
}

// oneArg: exactly one positional argument; missing says what to give.
func oneArg(missing string) argRule { return argRule{1, 1, missing} }

// someArgs: one or more positional arguments.
func someArgs(missing string) argRule { return argRule{1, -1, missing} }

// usageError is a command called wrongly: it prints the message, the
// command's usage lines and where the help is, and exits 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

// usagef returns a *usageError.
func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exitCode ends a command with this code; what needed saying was printed.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// bareError is printed as "securesend: ERR", without the command's name
// (its text says which step failed, or is a refusal the user reads as is).
type bareError struct{ error }

func (b bareError) Unwrap() error { return b.error }

// bare marks err to be printed without the command's name.
func bare(err error) error {
	if err == nil {
		return nil
	}
	return bareError{err}
}

// dispatch runs args with c, whose name path so far is path ("securesend
// keys"): a subcommand when args name one, else c itself.
func dispatch(ctx context.Context, e *env, d *desk.Desk, c command, path string, args []string) int {
	for _, s := range c.subs {
		words := strings.Fields(s.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == s.name {
			return dispatch(ctx, e, d, s, path+" "+s.name, args[len(words):])
		}
	}
	if c.run != nil || c.flags != nil {
		return runLeaf(ctx, e, d, c, path, args)
	}
	if len(args) == 0 {
		fmt.Fprint(e.stderr, groupHelp(c, path))
		return 2
	}
	if isHelp(args[0]) || args[0] == "help" {
		fmt.Fprint(e.stdout, groupHelp(c, path))
		return 0
	}
	names := make([]string, len(c.subs))
	for i, s := range c.subs {
		names[i] = s.name
	}
	fmt.Fprintf(e.stderr, "%s: unknown subcommand %q (one of: %s)\n\n%s", path, strings.Join(args, " "), strings.Join(names, ", "), groupHelp(c, path))
	return 2
}

// groupHelp is the help of the group c at path: what it is for, then each
// subcommand's usage line and summary.
func groupHelp(c command, path string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s SUBCOMMAND [flags]\n\n%s\nSubcommands:\n", path, c.usage)
	for _, s := range c.subs {
		line, _, _ := strings.Cut(strings.TrimPrefix(s.usage, "Usage: "+path+" "), "\n")
		if len(line) > 30 {
			line += "\n" + strings.Repeat(" ", 32)
		}
		fmt.Fprintf(&b, "  %-30s  %s\n", line, s.summary)
	}
	fmt.Fprintf(&b, "\nRun '%s SUBCOMMAND --help' for more.\n", path)
	return b.String()
}

// leafHelp is the help of the command c: its usage, with its summary
// when the usage does not say what it does.
func leafHelp(c command) string {
	h := strings.TrimSuffix(c.usage, "\n") + "\n"
	if !strings.Contains(h, "\n\n") && c.summary != "" {
		h += "\n" + strings.ToUpper(c.summary[:1]) + c.summary[1:] + ".\n"
	}
	return h
}

// runLeaf parses the flags of c (before, among or after its arguments;
// "--" ends them), counts its arguments, opens the desk and runs it.
// --help prints c's usage and flags on stdout; an error is printed on
// stderr as "securesend: NAME: ..." (exit 1) or, for a usage error, with
// the usage lines (exit 2).
func runLeaf(ctx context.Context, e *env, d *desk.Desk, c command, path string, args []string) int {
	name := strings.TrimPrefix(path, "securesend ")
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package would echo a bad flag as typed; it is printed
	// below, made safe for a terminal.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	run := c.run
	if c.flags != nil {
		run = c.flags(fs)
	}
	pos, err := parseArgs(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(e.stdout, leafHelp(c))
		if hasFlags(fs) {
			fmt.Fprint(e.stdout, "\nFlags:\n")
			fs.SetOutput(e.stdout)
			fs.PrintDefaults()
		}
		return 0
	case err != nil:
		fmt.Fprintln(e.stderr, termsafe.String(err.Error()))
		return usageHint(e, c, path)
	case len(pos) < c.args.min:
		err = usagef("%s", c.args.missing)
	case c.args.max == 0 && len(pos) > 0:
		err = usagef("takes no arguments, not %q", termsafe.String(pos[0]))
	case c.args.max > 0 && len(pos) > c.args.max:
		err = usagef("unexpected argument %q", termsafe.String(pos[c.args.max]))
	}
	cl := &call{env: e, args: pos, desk: d, fs: fs}
	if err == nil && d == nil && !c.noDesk {
		if cl.desk, err = openDesk(e); err != nil {
			err = bare(err)
		}
	}
	if err == nil {
		err = run(ctx, cl)
	}
	return report(e, c, path, err)
}

// report prints err of command c as the user reads it and returns the
// exit code.
func report(e *env, c command, path string, err error) int {
	var code exitCode
	var u *usageError
	var b bareError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &u):
		fmt.Fprintf(e.stderr, "%s: %s\n", path, termsafe.Text(u.msg))
		return usageHint(e, c, path)
	case errors.As(err, &b):
		return errorf(e, "%s", termsafe.Text(err.Error()))
	}
	// "securesend: inbox ack: item ...", not "... inbox ack: inbox: item ..."
	name := strings.TrimPrefix(path, "securesend ")
	group, _, _ := strings.Cut(name, " ")
	return errorf(e, "%s: %s", name, termsafe.Text(strings.TrimPrefix(err.Error(), group+": ")))
}

// usageHint prints the usage lines of c (its help up to the first blank
// line) and where its help is, and returns 2.
func usageHint(e *env, c command, path string) int {
	synopsis, _, _ := strings.Cut(c.usage, "\n\n")
	fmt.Fprintf(e.stderr, "%s\nRun '%s --help' for more.\n", strings.TrimSuffix(synopsis, "\n"), path)
	return 2
}

// hasFlags reports whether fs defines any flag.
func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseArgs parses flags that may come before or after positional
// arguments; "--" ends the flags (what follows it is positional, even
// when it starts with "-"). It returns the positional arguments, or the
// flag package's error (flag.ErrHelp after --help).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" }
