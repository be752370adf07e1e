package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

func inboxCommand() command {
	return command{name: "inbox", summary: "fetch, list, show and open received documents with their verdicts", usage: inboxUsage, subs: []command{
		{name: "fetch", summary: "download new mail over TLS and verify it", usage: "Usage: securesend inbox fetch [--account NAME] [--timeout 10m] [--json]\n", flags: inboxFetch},
		{name: "list", summary: "list received items with their verdicts", usage: "Usage: securesend inbox list [--json]\n", flags: inboxList},
		{name: "show", summary: "show an item: verdict, sender, documents", usage: "Usage: securesend inbox show ID [--json]\n", args: itemID, flags: inboxShow},
		{name: "open", summary: "decrypt a document and open it, or write it to DIR",
			usage: "Usage: securesend inbox open ID [--doc N] [--out DIR]\n", args: itemID, flags: inboxOpen},
		{name: "archive", summary: "move the server copy to MAILBOX (default Archive)", usage: "Usage: securesend inbox archive ID [--to MAILBOX]\n", args: itemID, flags: inboxArchive},
		{name: "ack", summary: "send the verified sender a signed acknowledgement", usage: inboxAckUsage, args: itemID, flags: inboxAck},
		{name: "watch", summary: "deliver verified documents as they arrive", usage: inboxWatchUsage, args: argRule{max: -1}, flags: inboxWatch, subs: []command{
			{name: "settle", usage: inboxWatchSettleUsage, args: argRule{max: -1}, flags: inboxWatchSettle},
		}},
		{name: "trust-index", summary: "accept the index after restoring it from a backup",
			usage: "Usage: securesend inbox trust-index --yes\n\nAccepts the inbox index as it is now, after putting an older copy back from a\nbackup on purpose; what came after it is fetched again.\n", flags: inboxTrustIndex},
	}}
}

const inboxUsage = `Received messages and documents are stored encrypted; the key is in the OS
keychain. Mail on the server is never deleted or marked read; only archive
moves it.
`

// itemID is the ID of an inbox item (#N or N).
var itemID = oneArg("give the item ID (see 'securesend inbox list')")

// item is the inbox item ID of c, without its "#".
func (c *call) item() string { return strings.TrimPrefix(c.arg(), "#") }

func inboxFetch(fs *flag.FlagSet) runFunc {
	name := fs.String("account", "", "account to fetch (default: the only account with an IMAP server)")
	mailbox := fs.String("mailbox", "INBOX", "IMAP mailbox")
	asJSON := fs.Bool("json", false, "print the new items as JSON")
	limit := fs.Duration("timeout", receive.DefaultFetchTimeout, "overall time limit of the fetch")
	return func(ctx context.Context, c *call) error {
		if *limit <= 0 {
			return errors.New("--timeout must be positive")
		}
		res, err := c.desk.Fetch(ctx, desk.FetchOptions{Account: *name, Mailbox: *mailbox, Timeout: *limit})
		if res == nil {
			return err
		}
		if *asJSON {
			printJSON(c.env, res.FetchResult) //nolint:errcheck // the fetch's outcome follows
		} else {
			printLines(c.stdout, desk.FetchLines(res))
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("stopped after the %s time limit (--timeout); the next fetch goes on from here: %v", *limit, err)
		}
		return err
	}
}

func inboxList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(_ context.Context, c *call) error {
		l, err := c.desk.Listing()
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(c.env, l.JSON())
		}
		defer printLines(c.stdout, desk.FailureLines(l.Failures))
		if len(l.Received) == 0 {
			fmt.Fprintln(c.stdout, "The inbox is empty. Fetch with 'securesend inbox fetch'.")
			return nil
		}
		printTable(c.stdout, desk.InboxRowHeader, l.Received, func(_ int, r desk.Received) []string { return desk.InboxRow(r) })
		return nil
	}
}

func inboxShow(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print the item and its report as JSON")
	return func(_ context.Context, c *call) error {
		r, err := c.desk.Received(c.item())
		switch {
		case err != nil:
			return err
		case *asJSON:
			return printJSON(c.env, r.JSON())
		}
		printLines(c.stdout, desk.ItemLines(r))
		return nil
	}
}

func inboxOpen(fs *flag.FlagSet) runFunc {
	doc := fs.Int("doc", 1, "document number (see 'securesend inbox show')")
	out := fs.String("out", "", "write the document into this directory instead of opening it")
	yes := fs.Bool("yes-unverified", false, "open or write a document of a message that is not verified without asking (read its warning first); it does not answer for a cancelled or replaced one")
	yesOld := fs.Bool("yes-superseded", false, "open or write a document of a message its sender cancelled or replaced without asking; it does not answer for one that is not verified")
	return func(ctx context.Context, c *call) error {
		r, err := c.desk.Received(c.item())
		if err != nil {
			return err
		}
		id := r.Item.ID
		fmt.Fprintln(c.stderr, desk.Banner(r.Report))
		printLines(c.stderr, desk.SupersessionLines(r.Item))
		if note := desk.DuplicateNote(r.Item); note != "" && !desk.Withheld(r.Report) {
			fmt.Fprintf(c.stderr, "%s: see 'securesend inbox show %s'\n", note, id)
		}
		// Each confirmation is set only from its own answer (desk asks the
		// questions one at a time, the supersession first): --yes-unverified
		// never passes for a message that is cancelled or replaced, nor
		// --yes-superseded for one that is not verified.
		opts := desk.OpenOptions{Dir: *out}
		if *out == "" {
			tmp, err := privtemp.New("")
			if tmp == nil {
				return err
			}
			if err != nil {
				fmt.Fprintf(c.stderr, "securesend: warning: old decrypted copies could not all be removed: %v\n", err)
			}
			// The viewer reads the file after this command ends: the
			// decrypted copy stays in this process's private folder, which
			// the next start of securesend removes once it is an hour old.
			opts.Temp, opts.View = tmp, true
		}
		got, err := openConfirmed(c.env, c.desk, id, *doc-1, &opts, *yes, *yesOld)
		if err != nil && opts.Temp != nil {
			opts.Temp.Close()
		}
		var notOpenable *desk.NotOpenableError
		switch {
		case errors.As(err, &notOpenable):
			return fmt.Errorf("%w; save it with --out DIR and check it first", err)
		case err != nil:
			return err
		}
		if *out != "" {
			if !got.Openable {
				fmt.Fprintf(c.stderr, "securesend: warning: %s is not a PDF, TIFF, JPEG or PNG whose content matches its name; do not open it unless you expected this file from this sender.\n", termsafe.String(got.Name))
			}
		} else if err := openViewer(ctx, got.Path); err != nil {
			opts.Temp.Close()
			return exitCode(errorf(c.env, "inbox open: No %s viewer found (%v) - use --out DIR to save the document instead", got.Kind, err))
		}
		fmt.Fprintln(c.stdout, termsafe.String(got.Path))
		return nil
	}
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
			err = confirmOpen(e, superseded, yesSuperseded, "--yes-superseded",
				desk.SupersededBanner(superseded.Superseded)+"\nThis document is no longer current. Open it anyway? [y/N] ")
			opts.Confirmed.Superseded = true
		case errors.As(err, &unconfirmed) && !opts.Confirmed.Unverified:
			err = confirmUnverified(e, unconfirmed, yesUnverified)
			opts.Confirmed.Unverified = true
		default:
			return got, err
		}
		if err != nil {
			return nil, err
		}
	}
}

// confirmUnverified asks before a document of a message that is not
// verified is opened or written (confirmOpen), showing the warning.
func confirmUnverified(e *env, u *desk.UnconfirmedError, yes bool) error {
	return confirmOpen(e, u, yes, "--yes-unverified", fmt.Sprintf("This document comes from a message that is NOT VERIFIED (%s):\n  %s\nOpen it anyway? [y/N] ",
		u.Report.Verdict, termsafe.String(u.Report.Reason)))
}

// confirmOpen asks before a document that desk refused to open without a
// confirmation (refusal) is opened or written: yes (its flag), or y at a
// prompt that shows question when standard input is a terminal.
// Otherwise it refuses, naming the flag.
func confirmOpen(e *env, refusal error, yes bool, flag, question string) error {
	if yes {
		return nil
	}
	if !isTerminal(e.stdin) {
		return fmt.Errorf("%w: read the warning above, then add %s", refusal, flag)
	}
	fmt.Fprint(e.stderr, question)
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("not opened: %w", err)
	}
	if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
		return errors.New("not opened")
	}
	return nil
}

func inboxArchive(fs *flag.FlagSet) runFunc {
	to := fs.String("to", "Archive", "server mailbox to move the message to")
	return func(ctx context.Context, c *call) error {
		a, err := c.desk.Archive(ctx, c.item(), *to)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Moved item #%s to %s on %s. The local copy is kept.\n", c.item(), *to, a.IMAP.Address)
		return nil
	}
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
func inboxTrustIndex(fs *flag.FlagSet) runFunc {
	yes := fs.Bool("yes", false, "accept the index as it is now")
	return func(_ context.Context, c *call) error {
		if !*yes {
			return errors.New("this accepts the inbox index as it is now and forgets what was recorded after it; if you put an older copy back from a backup on purpose, run it again with --yes")
		}
		if err := c.desk.TrustInboxIndex(); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "The inbox index is accepted as it is now; run 'securesend inbox fetch' to fetch again what came after it.")
		return nil
	}
}
