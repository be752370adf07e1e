package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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
			fmt.Fprintf(e.stderr, "securesend: warning: %s\n", termsafe.Text(err.Error()))
		},
	})
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

// readSecret reads the secret (a password, a passphrase) that flag
// ("--password-stdin") says is on the first line of standard input r. An
// empty line is an error: nothing was piped in.
func readSecret(r io.Reader, flag string) (string, error) {
	s, err := readLine(r)
	if err != nil {
		return "", fmt.Errorf("%s: cannot read standard input: %v", flag, err)
	}
	if s == "" {
		return "", fmt.Errorf("%s: standard input is empty; pipe the secret in, e.g. from a password manager", flag)
	}
	return s, nil
}

// openInput opens the file a command reads, standard input for "-".
func openInput(e *env, path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(e.stdin), nil
	}
	return os.Open(path)
}

// printJSON writes v to stdout as writeJSON does.
func printJSON(e *env, v any) error { return writeJSON(e.stdout, v) }

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

// printTable prints a row of each item under header, as columns two
// spaces apart; row(i, item) makes the row of items[i].
func printTable[T any](w io.Writer, header []string, items []T, row func(int, T) []string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for i, it := range items {
		fmt.Fprintln(tw, strings.Join(row(i, it), "\t"))
	}
	tw.Flush()
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// asker returns ask, which asks on the terminal for *p when it is empty.
func asker(e *env) (ask func(p *string, question string)) {
	in := bufio.NewReader(e.stdin)
	return func(p *string, q string) {
		if *p == "" {
			fmt.Fprintf(e.stderr, "%s: ", q)
			line, _ := in.ReadString('\n')
			*p = strings.TrimSpace(line)
		}
	}
}

// readHidden asks for a secret on the terminal with echo off (stty).
func readHidden(e *env, prompt string) (string, error) {
	f, ok := e.stdin.(*os.File)
	if !ok {
		return "", errors.New("not a terminal")
	}
	stty := func(arg string) error {
		cmd := exec.Command("stty", arg)
		cmd.Stdin = f
		return cmd.Run()
	}
	if err := stty("-echo"); err != nil {
		return "", errors.New("cannot turn off echo on this terminal")
	}
	defer stty("echo") //nolint:errcheck // best effort restore
	fmt.Fprintf(e.stderr, "%s: ", prompt)
	line, err := bufio.NewReader(f).ReadString('\n')
	fmt.Fprintln(e.stderr)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
