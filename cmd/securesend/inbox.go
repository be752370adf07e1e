package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

func inboxCommand() command {
	return command{
		name:    "inbox",
		summary: "fetch, list, show and open received documents with their verdicts",
		run:     runInbox,
	}
}

const inboxUsage = `Usage: securesend inbox SUBCOMMAND [flags]

Subcommands:
  fetch [--account NAME] [--timeout 10m]
                                  download new mail over enforced TLS and verify it
                                  (server mail is never deleted or marked read)
  list                            list received items with verdicts and duplicate warnings
  show ID                         show an item: verdict banner, sender, documents, warnings
  open ID [--doc N] [--out DIR]   decrypt a document and open it in the system viewer,
                                  or write it to DIR
  archive ID [--to MAILBOX]       move the server copy to MAILBOX (default Archive);
                                  the only command that changes server mail
  ack ID --accept | --reject REASON
                                  send the verified sender a signed acknowledgement
  watch [--drop DIR] [--print PRINTER] [--once]
                                  deliver verified documents as they arrive (see watch -h)
  trust-index --yes               accept the inbox index as it is now, after putting an
                                  older copy back from a backup on purpose (what came
                                  after it is fetched again)

Received messages and documents are stored encrypted; the key is in the OS keychain.
`

func runInbox(ctx context.Context, e *env, args []string) int {
	return subcommands(e, "inbox", inboxUsage, args, map[string]func([]string) int{
		"fetch":       func(a []string) int { return inboxFetch(ctx, e, a) },
		"list":        func(a []string) int { return inboxList(e, a) },
		"show":        func(a []string) int { return inboxShow(e, a) },
		"open":        func(a []string) int { return inboxOpen(ctx, e, a) },
		"archive":     func(a []string) int { return inboxArchive(ctx, e, a) },
		"trust-index": func(a []string) int { return inboxTrustIndex(e, a) },
		"watch":       func(a []string) int { return inboxWatch(ctx, e, a) },
		"ack":         func(a []string) int { return inboxAck(ctx, e, a) },
	})
}

func inboxFetch(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "inbox fetch")
	name := fs.String("account", "", "account to fetch (default: the only account with an IMAP server)")
	mailbox := fs.String("mailbox", "INBOX", "IMAP mailbox")
	asJSON := fs.Bool("json", false, "print the new items as JSON")
	limit := fs.Duration("timeout", receive.DefaultFetchTimeout, "overall time limit of the fetch")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	if *limit <= 0 {
		return errorf(e, "inbox fetch: --timeout must be positive")
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "inbox fetch: %v", err)
	}
	res, err := d.Fetch(ctx, desk.FetchOptions{Account: *name, Mailbox: *mailbox, Timeout: *limit})
	if res == nil {
		return errorf(e, "inbox fetch: %v", err)
	}
	if *asJSON {
		printJSON(e, res.FetchResult)
	} else {
		printLines(e.stdout, desk.FetchLines(res))
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return errorf(e, "inbox fetch: stopped after the %s time limit (--timeout); the next fetch goes on from here: %v", *limit, err)
		}
		return errorf(e, "inbox fetch: %v", err)
	}
	return 0
}

func inboxList(e *env, args []string) int {
	fs := newFlags(e, "inbox list")
	asJSON := fs.Bool("json", false, "print JSON")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "inbox list: %v", err)
	}
	l, err := d.Listing()
	if err != nil {
		return errorf(e, "inbox list: %v", err)
	}
	if *asJSON {
		return printJSON(e, l.JSON())
	}
	defer printLines(e.stdout, desk.FailureLines(l.Failures))
	if len(l.Received) == 0 {
		fmt.Fprintln(e.stdout, "The inbox is empty. Fetch with 'securesend inbox fetch'.")
		return 0
	}
	rows := make([][]string, len(l.Received))
	for i, r := range l.Received {
		rows[i] = desk.InboxRow(r)
	}
	printTable(e.stdout, desk.InboxRowHeader, rows)
	return 0
}

// receivedArg parses the flags of fs and the item ID (itemArg) and
// returns the item with the Desk that holds it. A code >= 0 ends the
// command (the error is printed).
func receivedArg(e *env, fs *flag.FlagSet, args []string) (*desk.Desk, *desk.Received, int) {
	id, code := itemArg(e, fs, args)
	if code >= 0 {
		return nil, nil, code
	}
	d, err := openDesk(e)
	if err != nil {
		return nil, nil, errorf(e, "%s: %v", fs.Name(), err)
	}
	r, err := d.Received(id)
	if err != nil {
		return nil, nil, errorf(e, "%s: %v", fs.Name(), err)
	}
	return d, r, -1
}

func inboxShow(e *env, args []string) int {
	fs := newFlags(e, "inbox show")
	asJSON := fs.Bool("json", false, "print the item and its report as JSON")
	_, r, code := receivedArg(e, fs, args)
	if code >= 0 {
		return code
	}
	if *asJSON {
		return printJSON(e, r.JSON())
	}
	printLines(e.stdout, desk.ItemLines(r))
	return 0
}

func inboxOpen(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "inbox open")
	doc := fs.Int("doc", 1, "document number (see 'securesend inbox show')")
	out := fs.String("out", "", "write the document into this directory instead of opening it")
	yes := fs.Bool("yes-unverified", false, "open or write a document of a message that is not verified without asking (read its warning first); it does not answer for a cancelled or replaced one")
	yesOld := fs.Bool("yes-superseded", false, "open or write a document of a message its sender cancelled or replaced without asking; it does not answer for one that is not verified")
	d, r, code := receivedArg(e, fs, args)
	if code >= 0 {
		return code
	}
	id := r.Item.ID
	fmt.Fprintln(e.stderr, desk.Banner(r.Report))
	printLines(e.stderr, desk.SupersessionLines(r.Item))
	if note := desk.DuplicateNote(r.Item); note != "" && !desk.Withheld(r.Report) {
		fmt.Fprintf(e.stderr, "%s: see 'securesend inbox show %s'\n", note, id)
	}
	// Each confirmation is set only from its own answer (desk asks the
	// questions one at a time, the supersession first): --yes-unverified
	// never passes for a message that is cancelled or replaced, nor
	// --yes-superseded for one that is not verified.
	opts := desk.OpenOptions{Dir: *out}
	if *out == "" {
		tmp, err := privtemp.New("")
		if tmp == nil {
			return errorf(e, "inbox open: %v", err)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "securesend: warning: old decrypted copies could not all be removed: %v\n", err)
		}
		// The viewer reads the file after this command ends: the
		// decrypted copy stays in this process's private folder, which
		// the next start of securesend removes once it is an hour old.
		opts.Temp, opts.View = tmp, true
	}
	got, err := openConfirmed(e, d, id, *doc-1, &opts, *yes, *yesOld)
	if err != nil && opts.Temp != nil {
		opts.Temp.Close()
	}
	var notOpenable *desk.NotOpenableError
	switch {
	case errors.As(err, &notOpenable):
		return errorf(e, "inbox open: %v; save it with --out DIR and check it first", err)
	case err != nil:
		return errorf(e, "inbox open: %v", err)
	}
	if *out != "" {
		if !got.Openable {
			fmt.Fprintf(e.stderr, "securesend: warning: %s is not a PDF, TIFF, JPEG or PNG whose content matches its name; do not open it unless you expected this file from this sender.\n", termsafe.String(got.Name))
		}
	} else if err := openViewer(ctx, got.Path); err != nil {
		opts.Temp.Close()
		return errorf(e, "inbox open: No %s viewer found (%v) - use --out DIR to save the document instead", got.Kind, err)
	}
	fmt.Fprintln(e.stdout, termsafe.String(got.Path))
	return 0
}

// openConfirmed opens document n of item id with opts, asking each
// question desk refuses for (*desk.SupersededError, then
// *desk.UnconfirmedError) with its own flag or prompt and setting only
// that answer before it tries again.
func openConfirmed(e *env, d *desk.Desk, id string, n int, opts *desk.OpenOptions, yesUnverified, yesSuperseded bool) (*desk.Document, error) {
	for {
		got, err := d.OpenDocument(id, n, *opts)
		var superseded *desk.SupersededError
		var unconfirmed *desk.UnconfirmedError
		switch {
		case errors.As(err, &superseded) && !opts.Confirmed.Superseded:
			if err := confirmSuperseded(e, superseded, yesSuperseded); err != nil {
				return nil, err
			}
			opts.Confirmed.Superseded = true
		case errors.As(err, &unconfirmed) && !opts.Confirmed.Unverified:
			if err := confirmUnverified(e, unconfirmed, yesUnverified); err != nil {
				return nil, err
			}
			opts.Confirmed.Unverified = true
		default:
			return got, err
		}
	}
}

// confirmUnverified asks before a document of a message that is not
// verified is opened or written: --yes-unverified (yes), or y at a prompt
// that shows the warning when standard input is a terminal. Otherwise it
// refuses.
func confirmUnverified(e *env, u *desk.UnconfirmedError, yes bool) error {
	if yes {
		return nil
	}
	if !isTerminal(e.stdin) {
		return fmt.Errorf("%w: read the warning above, then add --yes-unverified", u)
	}
	rep := u.Report
	return askOpen(e, fmt.Sprintf("This document comes from a message that is NOT VERIFIED (%s):\n  %s\nOpen it anyway? [y/N] ", rep.Verdict, termsafe.String(rep.Reason)))
}

func inboxArchive(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "inbox archive")
	to := fs.String("to", "Archive", "server mailbox to move the message to")
	id, code := itemArg(e, fs, args)
	if code >= 0 {
		return code
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "inbox archive: %v", err)
	}
	a, err := d.Archive(ctx, id, *to)
	if err != nil {
		return errorf(e, "inbox archive: %v", err)
	}
	fmt.Fprintf(e.stdout, "Moved item #%s to %s on %s. The local copy is kept.\n", id, *to, a.IMAP.Address)
	return 0
}

// viewerGrace is how long openViewer waits for the opener to fail (no
// program for the type) before taking it as started.
const viewerGrace = 2 * time.Second

// openViewer opens path in the system's viewer for its type. An opener
// that is missing, or that exits with an error within viewerGrace (no
// program for the type), is an error.
func openViewer(ctx context.Context, path string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", path)
	case "windows":
		return shellOpen(path) // viewer_windows.go
	default:
		cmd = exec.Command("xdg-open", path)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // the viewer may outlive this command
	select {
	case err := <-done:
		return err
	case <-time.After(viewerGrace):
	case <-ctx.Done():
	}
	return nil
}

// inboxTrustIndex accepts an index put back from a backup (see
// desk.Desk.TrustInboxIndex). It asks for --yes: an older index put back
// by someone else hides messages.
func inboxTrustIndex(e *env, args []string) int {
	fs := newFlags(e, "inbox trust-index")
	yes := fs.Bool("yes", false, "accept the index as it is now")
	pos, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return errorf(e, "inbox trust-index: it takes no arguments, only --yes")
	}
	if !*yes {
		return errorf(e, "inbox trust-index: this accepts the inbox index as it is now and forgets what was recorded after it; if you put an older copy back from a backup on purpose, run it again with --yes")
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "inbox trust-index: %v", err)
	}
	if err := d.TrustInboxIndex(); err != nil {
		return errorf(e, "inbox trust-index: %v", err)
	}
	fmt.Fprintln(e.stdout, "The inbox index is accepted as it is now; run 'securesend inbox fetch' to fetch again what came after it.")
	return 0
}
