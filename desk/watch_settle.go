package desk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/deliverjournal"
)

// Settlement is what a person found about a possibly printed document.
type Settlement string

// The settlements of a possibly printed document.
const (
	// SettlePrinted: it came out of the printer; it is never printed again.
	SettlePrinted Settlement = "printed"
	// SettleReprint: it did not come out; the watch prints it again (on
	// its next round, or at once with --once).
	SettleReprint Settlement = "reprint"
)

// Unsettled is a document possibly printed: the watch was interrupted
// after handing it to the printer and before that was recorded.
type Unsettled struct {
	// Item is the inbox item, Doc the document (from 0).
	Item string
	Doc  int
	// SHA256 is the document's hash; Signer the signer's fingerprint.
	SHA256, Signer string
	// Printer is the queue it was handed to.
	Printer string
	// Since is when it was handed over.
	Since string
	key   string
}

// AuditWatchSettled is audit.WatchSettled: SettlePrint's audit entry.
const AuditWatchSettled = audit.WatchSettled

// ErrWatchRunning: the printer's journal is held by a running watch.
var ErrWatchRunning = errors.New("a 'securesend inbox watch' printing there is running: stop it first (it would otherwise not see the decision), settle, then start it again")

// ErrNotUnsettled: the document is not possibly printed on that printer.
var ErrNotUnsettled = errors.New("not a possibly printed document of that printer")

// errNeverWatched: the printer has no journal (openPrintJournal).
var errNeverWatched = errors.New("never watched")

// openPrintJournal opens the print journal of printer (the one the watch
// keeps), or ErrWatchRunning.
func (d *Desk) openPrintJournal(printer string) (*deliverjournal.Journal, error) {
	if err := CheckPrinterName(printer); err != nil {
		return nil, err
	}
	dir, err := d.home.Sub("watch")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "print-"+shortHash(printer)+".journal")
	// A printer never watched has nothing to settle, and its journal is
	// not created here: the first watch would take it for watched
	// before and print every document already in the inbox.
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return nil, errNeverWatched
	}
	j, err := d.openJournal(path, "printer "+printer)
	if errors.Is(err, deliverjournal.ErrLocked) {
		return nil, ErrWatchRunning
	}
	return j, err
}

// unsettled lists j's possibly printed documents.
func unsettled(j *deliverjournal.Journal, printer string) []Unsettled {
	var out []Unsettled
	for _, e := range j.Entries() {
		if e.State != deliverjournal.Intent {
			continue
		}
		signer, sum, _ := strings.Cut(e.Key, "/")
		out = append(out, Unsettled{Item: e.Item, Doc: e.Doc, SHA256: sum, Signer: signer, Printer: printer, Since: e.Time.Format("2006-01-02 15:04:05"), key: e.Key})
	}
	return out
}

// PossiblyPrinted lists the documents possibly printed on printer: a
// watch was interrupted between handing them to the printer and
// recording it, so they are not printed again until SettlePrint says
// what happened.
func (d *Desk) PossiblyPrinted(printer string) ([]Unsettled, error) {
	j, err := d.openPrintJournal(printer)
	if errors.Is(err, errNeverWatched) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer j.Close()
	return unsettled(j, printer), nil
}

// SettlePrint records what a person found about document doc (from 0;
// -1: every possibly printed document of the item) of inbox item id,
// possibly printed on printer: SettlePrinted (never printed again) or
// SettleReprint (the watch prints it again). It is audited
// (watch.settled). The watch printing there must be stopped
// (ErrWatchRunning); a document that is not possibly printed there is
// ErrNotUnsettled. It returns the documents settled.
func (d *Desk) SettlePrint(printer, id string, doc int, s Settlement) ([]Unsettled, error) {
	if s != SettlePrinted && s != SettleReprint {
		return nil, fmt.Errorf("settle: %q is neither %q nor %q", s, SettlePrinted, SettleReprint)
	}
	j, err := d.openPrintJournal(printer)
	if errors.Is(err, errNeverWatched) {
		return nil, fmt.Errorf("%w %s: no watch ever printed there", ErrNotUnsettled, printer)
	}
	if err != nil {
		return nil, err
	}
	defer j.Close()
	var todo []Unsettled
	for _, u := range unsettled(j, printer) {
		if u.Item == id && (doc < 0 || u.Doc == doc) {
			todo = append(todo, u)
		}
	}
	if len(todo) == 0 {
		what := "item #" + id
		if doc >= 0 {
			what = fmt.Sprintf("document %d of item #%s", doc+1, id)
		}
		return nil, fmt.Errorf("%s is %w %s (see 'securesend inbox watch settle --print %s' for the list)", what, ErrNotUnsettled, printer, printer)
	}
	for _, u := range todo {
		e := deliverjournal.Entry{Key: u.key, Item: u.Item, Doc: u.Doc, Time: d.Now()}
		var reason string
		switch s {
		case SettlePrinted:
			e.State, e.Detail = deliverjournal.Resolved, "a person confirmed it was printed"
			reason = fmt.Sprintf("item #%s document %d, possibly printed on %s: confirmed printed; not printed again", u.Item, u.Doc+1, printer)
		case SettleReprint:
			e.State, e.Detail = deliverjournal.Failed, "a person found it was not printed: print it again"
			reason = fmt.Sprintf("item #%s document %d, possibly printed on %s: not printed; to be printed again", u.Item, u.Doc+1, printer)
		}
		// The audit entry first: a decision that could not be recorded
		// there is not made.
		if err := d.record(AuditWatchSettled, audit.Fields{"state": string(s), "sha256": u.SHA256, "signer": u.Signer, "reason": reason}); err != nil {
			return nil, fmt.Errorf("settle: audit log: %w", err)
		}
		if err := j.Record(e); err != nil {
			return nil, err
		}
	}
	return todo, nil
}
