package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"sync"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
)

const inboxWatchUsage = `Usage: securesend inbox watch [--drop DIR] [--print PRINTER] [flags]

Waits for new mail (IMAP IDLE; polling when the server does not offer it),
verifies each message as it arrives and delivers every VERIFIED document:
  --drop DIR       written into DIR (a temporary .securesend-*.part name, then
                   renamed into place) with a sidecar DIR/NAME.json holding the
                   verdict, signer and signed manifest
  --print PRINTER  printed on the CUPS queue PRINTER with lp (Linux, macOS)
Anything not verified is never dropped or printed: it waits in the inbox with
its reason. Each document is delivered once per destination, across duplicate
deliveries and restarts; a crash while printing shows "possibly printed" and is
never printed again on its own: check the printer, then settle it with
'securesend inbox watch settle'. Documents already in the inbox when a
destination is first watched are skipped unless --include-existing.
`

// inboxWatch runs 'securesend inbox watch'.
func inboxWatch(fs *flag.FlagSet) runFunc {
	name := fs.String("account", "", "account to watch (default: the only account with an IMAP server)")
	mailbox := fs.String("mailbox", "INBOX", "IMAP mailbox")
	drop := fs.String("drop", "", "folder to write verified documents to")
	printer := fs.String("print", "", "CUPS printer (queue) to print verified documents on")
	once := fs.Bool("once", false, "fetch and deliver what is there, then exit")
	existing := fs.Bool("include-existing", false, "also deliver what was in the inbox before this destination was first watched")
	poll := fs.Duration("poll", desk.DefaultWatchPoll, "how often to ask a server that does not offer IDLE")
	asJSON := fs.Bool("json", false, "print events as JSON lines")
	retry := fs.Bool("retry-failed", false, "fetch again at once every message that could not be fetched or stored before, even one given up on")
	groupRead := fs.Bool("drop-group-read", false, "drop files readable by the folder's group (0640), for dispensing software running as another user (Linux, macOS)")
	return func(ctx context.Context, c *call) error {
		switch {
		case len(c.args) > 0:
			return fmt.Errorf("unexpected argument %q", c.args[0])
		case *drop == "" && *printer == "":
			return errors.New("give --drop DIR, --print PRINTER or both")
		case *poll <= 0:
			return errors.New("--poll must be positive")
		}
		opts := desk.WatchOptions{Account: *name, Mailbox: *mailbox, Drop: *drop, Once: *once, IncludeExisting: *existing, Poll: *poll,
			RetryFailed: *retry, DropGroupRead: *groupRead}
		if *printer != "" {
			lp, err := desk.CUPSPrinter(*printer)
			if err != nil {
				return fmt.Errorf("--print: %w", err)
			}
			opts.Printer = lp
		}
		var mu sync.Mutex
		troubled := false
		opts.Event = func(ev desk.WatchEvent) {
			mu.Lock()
			defer mu.Unlock()
			switch ev.Kind {
			case desk.EventFailed, desk.EventPossiblyDelivered, desk.EventNotReceived:
				troubled = true
			}
			if *asJSON {
				json.NewEncoder(c.stdout).Encode(desk.WatchEventJSON(ev)) //nolint:errcheck // stdout
				return
			}
			fmt.Fprintln(c.stdout, desk.WatchEventLine(ev))
		}
		if err := c.desk.Watch(ctx, opts); err != nil {
			return err
		}
		if *once && troubled {
			return exitCode(3)
		}
		return nil
	}
}

const inboxWatchSettleUsage = `Usage: securesend inbox watch settle --print PRINTER
       securesend inbox watch settle --print PRINTER ID [--doc N] --printed | --reprint

A watch that stopped between handing a document to the printer and
recording it shows the document as POSSIBLY PRINTED and never prints it
again on its own. Look at the printer (and its queue), then say what
happened:
  --printed   it came out: it is never printed again
  --reprint   it did not come out: the watch prints it again on its next round
Without ID, lists the possibly printed documents of PRINTER. Stop the watch
printing on PRINTER first. Each decision is recorded in the audit log.
`

// inboxWatchSettle runs 'securesend inbox watch settle'.
func inboxWatchSettle(fs *flag.FlagSet) runFunc {
	printer := fs.String("print", "", "the CUPS printer (queue) the watch prints on (required)")
	doc := fs.Int("doc", 0, "only document `N` of the message (default: all its possibly printed documents)")
	printed := fs.Bool("printed", false, "the document came out of the printer: never print it again")
	reprint := fs.Bool("reprint", false, "the document did not come out: print it again")
	return func(_ context.Context, c *call) error {
		id, p := c.arg(), termsafe.String(*printer)
		switch {
		case len(c.args) > 1:
			return fmt.Errorf("unexpected argument %q", c.args[1])
		case *printer == "":
			return errors.New("give --print PRINTER, the printer the watch prints on")
		case id == "" && (*printed || *reprint || *doc != 0):
			return errors.New("give the message's ID with --printed or --reprint")
		case id != "" && *printed == *reprint:
			return errors.New("say what happened: --printed (it came out) or --reprint (it did not)")
		case *doc < 0:
			return errors.New("--doc counts from 1")
		}
		if id == "" {
			list, err := c.desk.PossiblyPrinted(*printer)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(c.stdout, "Nothing is possibly printed on %s.\n", p)
				return nil
			}
			printTable(c.stdout, []string{"ID", "DOCUMENT", "HANDED TO THE PRINTER", "SHA-256"}, list, func(_ int, u desk.Unsettled) []string {
				return []string{termsafe.String(u.Item), strconv.Itoa(u.Doc + 1), u.Since, termsafe.String(u.SHA256)}
			})
			fmt.Fprintf(c.stdout, "Check the printer, then: securesend inbox watch settle --print %s ID --printed (or --reprint)\n", p)
			return nil
		}
		s, what := desk.SettlePrinted, "recorded as printed; it is not printed again"
		if *reprint {
			s, what = desk.SettleReprint, "recorded as not printed; the watch prints it again on its next round"
		}
		done, err := c.desk.SettlePrint(*printer, id, *doc-1, s)
		for _, u := range done {
			fmt.Fprintf(c.stdout, "#%s document %d: %s.\n", termsafe.String(u.Item), u.Doc+1, what)
		}
		return err
	}
}
