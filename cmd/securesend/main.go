// Command securesend sends scanned health documents over TLS-enforced,
// OpenPGP-protected e-mail, and verifies what it receives.
//
// With no arguments it opens the desktop app. With a subcommand it works
// headless, for scripts, admins and tests; "securesend help" lists them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	_ "github.com/securesend/securesend/internal/clocale" // before Fyne: see its doc

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/profile"
)

// env is what a command may touch of the outside world; tests replace it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// baked, when non-nil, replaces the profile baked into the binary
	// (tests: a TEST ONLY pinned admin key without an -overlay build).
	baked func() (profile.Baked, error)
}

// commands lists every subcommand. Each lives in its own file.
func commands() []command {
	return []command{
		sendCommand(),
		demoCommand(),
		accountCommand(),
		inboxCommand(),
		adminCommand(),
		keysCommand(), verifyCommand(),
		outboxCommand(), auditCommand(),
		hotfolderCommand(), relayCommand(),
		cancelCommand(),
	}
}

func main() {
	os.Exit(mainExit())
}

func mainExit() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	return run(ctx, e, os.Args[1:])
}

// run dispatches args to a subcommand, or opens the GUI when there are none.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		return runGUI(ctx, e, nil)
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(e.stdout)
		return 0
	}
	// "securesend MESSAGE.eml..." (double-clicked messages: the desktop
	// entries and the Windows file type run it so) opens the app with the
	// messages' verdicts in the Inbox.
	if !slices.ContainsFunc(args, func(a string) bool { return !isMessageFile(a) }) {
		return runGUI(ctx, e, args)
	}
	// A tampered, unsigned, wrongly signed or rolled-back organisation
	// profile stops every command but admin (which is how it gets fixed),
	// and "COMMAND --help" alone, which only prints (the installer build
	// makes the manual page from it without touching the keychain).
	var d *desk.Desk
	if name != "admin" && !(len(args) == 2 && isHelp(args[1])) {
		var err error
		if d, err = openDesk(e); err == nil {
			_, err = d.Profile()
		}
		if err != nil {
			return errorf(e, "%v", err)
		}
	}
	for _, c := range commands() {
		if c.name == name {
			return dispatch(ctx, e, d, c, "securesend "+name, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "securesend: unknown command %q\n\n", name)
	usage(e.stderr)
	return 2
}

// isMessageFile reports whether path names an existing regular file with
// the .eml extension.
func isMessageFile(path string) bool {
	if !strings.EqualFold(filepath.Ext(path), ".eml") {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: securesend [command] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "With no command, securesend opens the desktop app; with the path of a")
	fmt.Fprintln(w, "received message (FILE.eml), it opens the app showing that message's verdict.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'securesend COMMAND --help' for the flags of a command.")
	fmt.Fprintln(w, "State lives in $SECURESEND_HOME (default: the user config directory/securesend).")
}

// errorf prints a one-line error for the user and returns exit code 1.
func errorf(e *env, format string, a ...any) int {
	// Errors carry file names, server replies and text from messages:
	// made safe for the terminal here, whatever the caller did.
	fmt.Fprintln(e.stderr, "securesend: "+termsafe.Text(strings.TrimSuffix(fmt.Sprintf(format, a...), "\n")))
	return 1
}
