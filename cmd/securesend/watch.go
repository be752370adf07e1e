package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

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

Flags:
`

// inboxWatch runs 'securesend inbox watch'.
func inboxWatch(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 && args[0] == "settle" {
		return inboxWatchSettle(e, args[1:])
	}
	fs := newFlags(e, "inbox watch")
	fs.Usage = usageOf(fs, inboxWatchUsage)
	name := fs.String("account", "", "account to watch (default: the only account with an IMAP server)")
	mailbox := fs.String("mailbox", "INBOX", "IMAP mailbox")
	drop := fs.String("drop", "", "folder to write verified documents to")
	printer := fs.String("print", "", "CUPS printer (queue) to print verified documents on")
	once := fs.Bool("once", false, "fetch and deliver what is there, then exit")
	existing := fs.Bool("include-existing", false, "also deliver what was in the inbox before this destination was first watched")
	poll := fs.Duration("poll", desk.DefaultWatchPoll, "how often to ask a server that does not offer IDLE")
	asJSON := fs.Bool("json", false, "print events as JSON lines")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		return errorf(e, "inbox watch: unexpected argument %q", termsafe.String(fs.Arg(0)))
	}
	if *drop == "" && *printer == "" {
		return errorf(e, "inbox watch: give --drop DIR, --print PRINTER or both")
	}
	if *poll <= 0 {
		return errorf(e, "inbox watch: --poll must be positive")
	}
	opts := desk.WatchOptions{Account: *name, Mailbox: *mailbox, Drop: *drop, Once: *once, IncludeExisting: *existing, Poll: *poll}
	if *printer != "" {
		lp, err := desk.CUPSPrinter(*printer)
		if err != nil {
			return errorf(e, "inbox watch: --print: %v", err)
		}
		opts.Printer = lp
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "inbox watch: %v", err)
	}
	var mu sync.Mutex
	troubled := false
	opts.Event = func(ev desk.WatchEvent) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Kind == desk.EventFailed || ev.Kind == desk.EventPossiblyDelivered {
			troubled = true
		}
		if *asJSON {
			json.NewEncoder(e.stdout).Encode(watchEventJSON(ev)) //nolint:errcheck // stdout
			return
		}
		fmt.Fprintln(e.stdout, watchEventLine(ev))
	}
	if err := d.Watch(ctx, opts); err != nil {
		return errorf(e, "inbox watch: %v", err)
	}
	if *once && troubled {
		return 3
	}
	return 0
}

// watchEventLine is one line of the watch's log, safe for a terminal.
func watchEventLine(ev desk.WatchEvent) string {
	s := ev.Time.Format(time.DateTime) + "  "
	doc := ""
	if ev.Item != "" {
		doc = "#" + ev.Item
		if ev.Dest != "" {
			doc += fmt.Sprintf(" document %d", ev.Doc+1)
			if ev.Name != "" {
				doc += " (" + ev.Name + ")"
			}
		}
	}
	switch ev.Kind {
	case desk.EventConnected:
		s += "connected: " + ev.Detail
	case desk.EventFetched:
		s += "fetched: " + ev.Detail
	case desk.EventDisconnected:
		s += fmt.Sprintf("connection lost: %v; %s", ev.Err, ev.Detail)
	case desk.EventDelivered:
		if ev.Dest == desk.DestPrint {
			s += doc + " PRINTED, job " + ev.Detail
		} else {
			s += doc + " DROPPED as " + ev.Detail
		}
	case desk.EventAlreadyDelivered:
		s += doc + " not " + pastTense(ev.Dest) + " again: " + ev.Detail
	case desk.EventNotDelivered:
		s += doc + " NOT VERIFIED (" + ev.Detail + "): not dropped or printed; it waits in the inbox (securesend inbox show " + ev.Item + ")"
	case desk.EventPossiblyDelivered:
		s += doc + " POSSIBLY " + strings.ToUpper(pastTense(ev.Dest)) + ": " + ev.Detail
	case desk.EventFailed:
		s += fmt.Sprintf("%s not %s: %v; tried again on the next round", doc, pastTense(ev.Dest), ev.Err)
	default:
		s += string(ev.Kind) + " " + doc + " " + ev.Detail
	}
	return termsafe.String(s)
}

func pastTense(dest string) string {
	if dest == desk.DestPrint {
		return "printed"
	}
	return "dropped"
}

// watchEventJSON is one line of 'inbox watch --json'.
func watchEventJSON(ev desk.WatchEvent) map[string]any {
	m := map[string]any{"time": ev.Time, "event": ev.Kind}
	if ev.Item != "" {
		m["item"] = ev.Item
	}
	if ev.Dest != "" {
		m["dest"], m["document"] = ev.Dest, ev.Doc+1
	}
	if ev.Name != "" {
		m["name"] = ev.Name
	}
	if ev.Detail != "" {
		m["detail"] = ev.Detail
	}
	if ev.Err != nil {
		m["error"] = ev.Err.Error()
	}
	return m
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

Flags:
`

// inboxWatchSettle runs 'securesend inbox watch settle'.
func inboxWatchSettle(e *env, args []string) int {
	fs := newFlags(e, "inbox watch settle")
	fs.Usage = usageOf(fs, inboxWatchSettleUsage)
	printer := fs.String("print", "", "the CUPS printer (queue) the watch prints on (required)")
	doc := fs.Int("doc", 0, "only document `N` of the message (default: all its possibly printed documents)")
	printed := fs.Bool("printed", false, "the document came out of the printer: never print it again")
	reprint := fs.Bool("reprint", false, "the document did not come out: print it again")
	pos, code := parseFlags(e, fs, args) // flags before and after the ID
	if code >= 0 {
		return code
	}
	id := ""
	if len(pos) > 0 {
		id = pos[0]
	}
	switch {
	case len(pos) > 1:
		return errorf(e, "inbox watch settle: unexpected argument %q", termsafe.String(pos[1]))
	case *printer == "":
		return errorf(e, "inbox watch settle: give --print PRINTER, the printer the watch prints on")
	case id == "" && (*printed || *reprint || *doc != 0):
		return errorf(e, "inbox watch settle: give the message's ID with --printed or --reprint")
	case id != "" && *printed == *reprint:
		return errorf(e, "inbox watch settle: say what happened: --printed (it came out) or --reprint (it did not)")
	case *doc < 0:
		return errorf(e, "inbox watch settle: --doc counts from 1")
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "inbox watch settle: %v", err)
	}
	if id == "" {
		list, err := d.PossiblyPrinted(*printer)
		if err != nil {
			return errorf(e, "inbox watch settle: %v", err)
		}
		if len(list) == 0 {
			fmt.Fprintf(e.stdout, "Nothing is possibly printed on %s.\n", termsafe.String(*printer))
			return 0
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDOCUMENT\tHANDED TO THE PRINTER\tSHA-256")
		for _, u := range list {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", termsafe.String(u.Item), u.Doc+1, u.Since, termsafe.String(u.SHA256))
		}
		tw.Flush()
		fmt.Fprintf(e.stdout, "Check the printer, then: securesend inbox watch settle --print %s ID --printed (or --reprint)\n", termsafe.String(*printer))
		return 0
	}
	s := desk.SettlePrinted
	if *reprint {
		s = desk.SettleReprint
	}
	done, err := d.SettlePrint(*printer, id, *doc-1, s)
	if err != nil {
		return errorf(e, "inbox watch settle: %s", termsafe.String(err.Error()))
	}
	for _, u := range done {
		if s == desk.SettlePrinted {
			fmt.Fprintf(e.stdout, "#%s document %d: recorded as printed; it is not printed again.\n", termsafe.String(u.Item), u.Doc+1)
		} else {
			fmt.Fprintf(e.stdout, "#%s document %d: recorded as not printed; the watch prints it again on its next round.\n", termsafe.String(u.Item), u.Doc+1)
		}
	}
	return 0
}
