package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
)

// openDesk opens the Desk of e's home: the use cases a command calls.
// What goes wrong without stopping a journey is printed to e.stderr as a
// warning.
func openDesk(e *env) (*desk.Desk, error) {
	baked := bakedProfile
	if e.baked != nil {
		baked = e.baked
	}
	return desk.Open(desk.Options{
		Getenv: e.getenv,
		Baked:  baked,
		Warn: func(err error) {
			fmt.Fprintf(e.stderr, "securesend: warning: %v\n", err)
		},
	})
}

// newFlags returns the flag set of the command name ("inbox list"),
// reporting its errors on e.stderr.
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// commandFlags returns the flag set of the command name ("keys pin")
// whose help, after --help or a usage error, is usage followed by the
// flags, on e.stderr.
func commandFlags(e *env, name, usage string) *flag.FlagSet {
	fs := newFlags(e, name)
	fs.Usage = usageOf(fs, usage)
	return fs
}

// usageOf is a flag.FlagSet's Usage: the text usage, then the flags.
func usageOf(fs *flag.FlagSet, usage string) func() {
	return func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
}

// parseCode parses args with fs: -1 to go on, 0 after --help (fs.Usage
// printed it), 2 for a usage error (printed).
func parseCode(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	return -1
}

// subcommands dispatches args to one of subs for the command group (e.g.
// "keys"). No subcommand prints usage to stderr (exit 2); help prints it to
// stdout (exit 0); an unknown one names it (exit 2).
func subcommands(e *env, group, usage string, args []string, subs map[string]func(args []string) int) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	}
	if run, ok := subs[sub]; ok {
		return run(rest)
	}
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(e.stderr, "securesend %s: unknown subcommand %q (one of: %s)\n\n%s", group, sub, strings.Join(names, ", "), usage)
	return 2
}

// maxLine bounds a line read from standard input (readLine).
const maxLine = 4096

// readLine reads the first line of r (standard input: a password, a
// passphrase), without its line ending; a line longer than maxLine bytes
// is an error, not cut short.
func readLine(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no standard input")
	}
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxLine+2), maxLine+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if len(line) > maxLine {
		return "", fmt.Errorf("the line is longer than %d bytes", maxLine)
	}
	return line, nil
}

// openInput opens the file a command reads, standard input for "-".
func openInput(e *env, path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(e.stdin), nil
	}
	return os.Open(path)
}

// parseOneArg parses args with fs as parseFlags does, for a command of
// one positional argument (an ID or a name) before, after or among the
// flags. It returns the argument ("" when none or more than one was
// given), or an exit code >= 0 as parseFlags does.
func parseOneArg(e *env, fs *flag.FlagSet, args []string) (string, int) {
	pos, code := parseFlags(e, fs, args)
	if code >= 0 || len(pos) != 1 {
		return "", code
	}
	return pos[0], -1
}

// itemArg parses the flags of fs and the item ID (#N or N) before or
// after them. A code >= 0 ends the command (the error is printed).
func itemArg(e *env, fs *flag.FlagSet, args []string) (string, int) {
	pos, code := parseFlags(e, fs, args)
	switch {
	case code >= 0:
		return "", code
	case len(pos) != 1:
		return "", errorf(e, "%s: give the item ID (see 'securesend inbox list')", fs.Name())
	}
	return strings.TrimPrefix(pos[0], "#"), -1
}

// parseFlags parses flags that may come before or after positional
// arguments; "--" ends the flags (what follows it is positional, even
// when it starts with "-"). It returns the positional arguments, or an
// exit code >= 0: 0 after --help (fs.Usage printed it), 2 for a usage
// error.
func parseFlags(e *env, fs *flag.FlagSet, args []string) ([]string, int) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0
			}
			return nil, 2
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), -1
		}
		if len(rest) == 0 {
			return pos, -1
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// printJSON writes v to stdout as writeJSON does; it returns 0, or 1 with
// the error printed.
func printJSON(e *env, v any) int {
	if err := writeJSON(e.stdout, v); err != nil {
		return errorf(e, "%v", err)
	}
	return 0
}

// writeJSON writes v as indented JSON with the characters that could
// reorder or hide text on a terminal escaped (termsafe.JSON).
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(termsafe.JSON(buf.Bytes()))
	return err
}

// printLines prints lines, each ending in a newline. desk made what came
// from a message, a key or a server in them safe for a terminal.
func printLines(w io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// printTable prints rows under header as columns two spaces apart.
func printTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
