package desk

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/deliverjournal"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

// Destination kinds of WatchEvent.Dest.
const (
	DestDrop  = "drop"
	DestPrint = "print"
)

// DropTempPattern is the pattern of the names of documents being written
// into a drop folder; software that picks files up must skip them. A
// document appears under its final name, whole, by a rename.
const DropTempPattern = ".securesend-*.part"

// deliverer hands verified documents to the watch's destinations,
// exactly once per document and destination, by a journal each.
type deliverer struct {
	d               *Desk
	st              *receive.Store
	dests           []*destination
	includeExisting bool
	// told are the items (by destination) whose outcome was reported
	// in this run, so each round does not repeat it.
	told map[string]bool
	// seen is how many items of the inbox (oldest first) a round has
	// looked at, and retry the IDs among them with a document still to
	// deliver (its last attempt failed): a round looks at those and at
	// the items stored since, not at the whole inbox again, so that
	// what a message costs the watch does not grow with the inbox.
	seen  int
	retry map[string]bool
	// reported is how far an earlier run reported the outcomes that
	// never change (watch_reported.go); quiet is that position, checked
	// against the inbox, and hush is set while a round looks at an item
	// before it: such an outcome is then not reported again.
	reported *reportedState
	quiet    int
	hush     bool
	// looked counts the items rounds looked at (for tests).
	looked int
}

// destination is one place documents go: a drop folder or a printer.
type destination struct {
	kind    string
	j       *deliverjournal.Journal
	dir     string
	printer Printer
	// mode is the permission of the files dropped (DropMode).
	mode os.FileMode
}

// openDeliverer opens the inbox and the journal of each destination
// (home/watch/*.journal), locked against a second watch of the same
// destination.
func (d *Desk) openDeliverer(opts WatchOptions) (*deliverer, error) {
	st, err := d.Inbox()
	if err != nil {
		return nil, err
	}
	dir, err := d.home.Sub("watch")
	if err != nil {
		return nil, err
	}
	dl := &deliverer{d: d, st: st, includeExisting: opts.IncludeExisting, told: map[string]bool{}, retry: map[string]bool{}}
	if opts.Drop != "" {
		abs, err := filepath.Abs(opts.Drop)
		if err != nil {
			return nil, fmt.Errorf("drop folder: %w", err)
		}
		if fi, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("drop folder: %w", err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("drop folder %s is not a folder", abs)
		}
		j, err := d.openJournal(filepath.Join(dir, "drop-"+shortHash(abs)+".journal"), "drop folder "+abs)
		if err != nil {
			return nil, err
		}
		mode := os.FileMode(0o600)
		if opts.DropGroupRead {
			mode = 0o640
		}
		dl.dests = append(dl.dests, &destination{kind: DestDrop, j: j, dir: abs, mode: mode})
	}
	if opts.Printer != nil {
		j, err := d.openJournal(filepath.Join(dir, "print-"+shortHash(opts.Printer.Name())+".journal"), "printer "+opts.Printer.Name())
		if err != nil {
			dl.Close()
			return nil, err
		}
		dl.dests = append(dl.dests, &destination{kind: DestPrint, j: j, printer: opts.Printer})
	}
	dl.reported = openReportedState(dir, dl.dests, d.warn)
	return dl, nil
}

// AuditWatchJournalBroken is the audit entry of a delivery journal that
// did not verify (forged, edited, reordered, cut short, copied from
// another destination, or its key gone from the keychain): nothing is
// delivered to that destination until a person has checked it.
const AuditWatchJournalBroken audit.Kind = "watch.journal_broken"

// JournalBrokenError is openDeliverer's (and the print settlement's)
// error when a destination's delivery journal does not verify. The watch
// does not start: with the journal untrusted it can tell neither what was
// delivered there (a forged "done" would make a document never delivered)
// nor what was not (a rolled back journal would deliver it twice), so it
// delivers nothing anywhere and every document stays in the inbox.
type JournalBrokenError struct {
	// Dest names the destination ("drop folder DIR", "printer QUEUE").
	Dest string
	Err  *deliverjournal.SealError
}

func (e *JournalBrokenError) Error() string {
	return fmt.Sprintf("the delivery journal of the %s does not verify, so nothing is delivered: every document stays in the inbox. %v (to go on: docs/watch.md, \"Sealed journals\")", termsafe.String(e.Dest), e.Err)
}

func (e *JournalBrokenError) Unwrap() error { return e.Err }

// openJournal opens the delivery journal at path, sealed with the home's
// keychain; one that does not verify is audited (watch.journal_broken)
// and a *JournalBrokenError.
func (d *Desk) openJournal(path, dest string) (*deliverjournal.Journal, error) {
	j, err := deliverjournal.Open(path, d.kc)
	var se *deliverjournal.SealError
	if !errors.As(err, &se) {
		return j, err
	}
	jerr := &JournalBrokenError{Dest: dest, Err: se}
	if aerr := d.record(AuditWatchJournalBroken, audit.Fields{"state": "not delivering", "reason": jerr.Error()}); aerr != nil {
		return nil, fmt.Errorf("%w (and the audit log: %v)", jerr, aerr)
	}
	return nil, jerr
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// Close closes the journals.
func (dl *deliverer) Close() error {
	var errs []error
	for _, dst := range dl.dests {
		errs = append(errs, dst.j.Close())
	}
	return errors.Join(errs...)
}

// start finishes what a crash interrupted and, for a destination watched
// for the first time, records the documents already in the inbox as
// skipped (unless IncludeExisting).
func (dl *deliverer) start() error {
	items, err := dl.st.List()
	if err != nil {
		return err
	}
	for _, dst := range dl.dests {
		if dst.j.Created() && !dl.includeExisting {
			for i := range items {
				for n := range items[i].Documents {
					e := deliverjournal.Entry{Key: docKey(&items[i], n), State: deliverjournal.Skipped, Item: items[i].ID, Doc: n, Time: dl.d.Now(), Detail: "in the inbox before the watch began"}
					if _, ok := dst.j.Lookup(e.Key); ok {
						continue
					}
					if err := dst.j.Record(e); err != nil {
						return err
					}
				}
			}
		}
		if dst.kind == DestDrop {
			if err := dl.recoverDrops(dst); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropIntent is the Detail of a drop's Intent record.
type dropIntent struct {
	Temp  string `json:"temp"`
	Final string `json:"final"`
}

// recoverDrops settles the drops a crash interrupted: a document whose
// temporary file is still there never appeared (it is tried again); one
// whose final file is there, or gone (taken by the software that reads
// the folder: the temporary file existed before the intent was
// recorded), was delivered. Left-over temporary files are removed.
func (dl *deliverer) recoverDrops(dst *destination) error {
	for _, e := range dst.j.Entries() {
		if e.State != deliverjournal.Intent {
			continue
		}
		var in dropIntent
		if err := json.Unmarshal([]byte(e.Detail), &in); err != nil || in.Temp == "" || in.Final == "" {
			return fmt.Errorf("delivery journal %s: the record of item #%s is unreadable", dst.j.Path(), e.Item)
		}
		next := e
		next.Time = dl.d.Now()
		switch {
		case fileExists(in.Final):
			next.State, next.Detail = deliverjournal.Done, in.Final
			os.Remove(in.Temp)
		case fileExists(in.Temp):
			os.Remove(in.Temp)
			removeOwnSidecar(in.Final+".json", e)
			next.State, next.Detail = deliverjournal.Failed, "interrupted before the document was in place"
		default:
			next.State, next.Detail = deliverjournal.Done, in.Final+" (taken from the folder before the drop was recorded)"
		}
		if err := dst.j.Record(next); err != nil {
			return err
		}
	}
	left, err := filepath.Glob(filepath.Join(dst.dir, DropTempPattern))
	if err != nil {
		return err
	}
	for _, p := range left {
		os.Remove(p)
	}
	return nil
}

// removeOwnSidecar removes the sidecar at path that an interrupted drop
// of e's document wrote (so that trying again can write it), and nothing
// else: a file that is not that sidecar stays.
func removeOwnSidecar(path string, e deliverjournal.Entry) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var sc sidecar
	if json.Unmarshal(b, &sc) != nil || sc.Item != e.Item || sc.Document != e.Doc+1 {
		return
	}
	os.Remove(path)
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// docKey names document n of it for the journals: its signer and
// content, so that the same document delivered again (the message
// delivered twice, or sent again) is one document.
func docKey(it *receive.Item, n int) string {
	return it.SignerFingerprint + "/" + it.Documents[n].SHA256
}

// deliverAll delivers every verified document of the inbox not yet
// delivered to each destination, reporting what it does to event. Only
// an error of the inbox store or of a journal is returned (the watch
// stops: it could no longer promise "exactly once"); a failed delivery
// is recorded and tried again on the next round.
//
// The first round of a watch looks at every item (what arrived while
// no watch ran, what a crash left undone); later rounds only at the
// items stored since and those whose delivery failed. An item looked at
// is settled for good unless a document of it is still to deliver: its
// verdict and report never change, and only this watch writes its
// destinations' journals (they are locked).
func (dl *deliverer) deliverAll(ctx context.Context, event func(WatchEvent)) error {
	for _, id := range slices.SortedFunc(maps.Keys(dl.retry), byNumber) {
		if ctx.Err() != nil {
			return nil
		}
		it, err := dl.st.Get(id)
		if err != nil {
			return err
		}
		if err := dl.deliverOne(ctx, it, event); err != nil {
			return err
		}
	}
	items, total, err := dl.st.ListFrom(dl.seen)
	if err != nil {
		return err
	}
	if total < dl.seen {
		// The index was replaced by an older one: start again; the
		// journals keep what was delivered from being delivered again.
		clear(dl.retry)
	}
	dl.seen = total - len(items)
	if dl.seen == 0 {
		// The first round (or the index started again): what an
		// earlier run reported is not reported again, if the inbox
		// still has the item it reported last in its place.
		dl.quiet = 0
		if dl.reported.matches(items) {
			dl.quiet = dl.reported.Items
		}
	}
	var last *receive.Item
	defer func() {
		if err := dl.reported.save(dl.seen, last); err != nil {
			dl.d.warn(err)
		}
	}()
	for i := range items {
		if ctx.Err() != nil {
			return nil
		}
		dl.hush = dl.seen < dl.quiet
		err := dl.deliverOne(ctx, &items[i], event)
		dl.hush = false
		if err != nil {
			return err
		}
		last = &items[i]
		dl.seen++
	}
	return nil
}

// deliverOne delivers it and notes whether it is to be looked at again
// on a later round.
func (dl *deliverer) deliverOne(ctx context.Context, it *receive.Item, event func(WatchEvent)) error {
	dl.looked++
	again, err := dl.deliverItem(ctx, it, event)
	if err != nil || again {
		dl.retry[it.ID] = true
	} else {
		delete(dl.retry, it.ID)
	}
	return err
}

// byNumber orders item IDs ("1", "2", ..., "10") as numbers.
func byNumber(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// pending is one document still to deliver to one destination.
type pending struct {
	dst *destination
	n   int
}

func (dl *deliverer) deliverItem(ctx context.Context, it *receive.Item, event func(WatchEvent)) (again bool, err error) {
	if it.Verdict != receive.Verified {
		// Never delivered; it waits in the inbox with its reason.
		if dl.report("verdict/" + it.ID) {
			event(WatchEvent{Kind: EventNotDelivered, Item: it.ID, Detail: string(it.Verdict)})
		}
		return false, nil
	}
	if it.Superseded != nil {
		// Cancelled or replaced by its sender before it was delivered:
		// never handed on unasked; it waits in the inbox with the banner.
		if dl.tell("superseded/" + it.ID) {
			event(WatchEvent{Kind: EventNotDelivered, Item: it.ID, Detail: SupersededBanner(it.Superseded)})
		}
		return false, nil
	}
	var todo []pending
	for _, dst := range dl.dests {
		// first is each key's first document in this message: the same
		// document twice in one message is one document, as it is in two.
		first := map[string]int{}
		for n := range it.Documents {
			key := docKey(it, n)
			if m, seen := first[key]; seen {
				if dl.report(dst.kind + "/" + it.ID + "/" + fmt.Sprint(n)) {
					event(WatchEvent{Kind: EventAlreadyDelivered, Item: it.ID, Doc: n, Dest: dst.kind,
						Detail: fmt.Sprintf("the same document as document %d of this message; delivered once", m+1)})
				}
				continue
			}
			first[key] = n
			e, ok := dst.j.Lookup(key)
			switch {
			case !ok || e.State == deliverjournal.Failed:
				todo = append(todo, pending{dst, n})
			case e.Item != it.ID && (e.State == deliverjournal.Done || e.State == deliverjournal.Intent) && dl.report(dst.kind+"/"+it.ID+"/"+fmt.Sprint(n)):
				event(WatchEvent{Kind: EventAlreadyDelivered, Item: it.ID, Doc: n, Dest: dst.kind,
					Detail: fmt.Sprintf("the same document from the same signer, item #%s, was %s", e.Item, stateWords(e.State))})
			case e.State == deliverjournal.Intent && dl.tell(dst.kind+"/"+it.ID+"/"+fmt.Sprint(n)):
				event(WatchEvent{Kind: EventPossiblyDelivered, Item: it.ID, Doc: n, Dest: dst.kind,
					Detail: "interrupted after it was handed to the printer and before that was recorded: check the printer; it is not printed again; if it did not come out, open it (securesend inbox open) and print it by hand"})
			}
		}
	}
	if len(todo) == 0 {
		return false, nil
	}
	rep, err := dl.st.Report(it.ID)
	if err != nil {
		return false, err
	}
	if !Trusted(rep) || Withheld(rep) || len(rep.Documents) != len(it.Documents) {
		if dl.report("verdict/" + it.ID) {
			why := string(rep.Verdict)
			if rep.Impostor {
				why += ", but signed by a key other than the one pinned for the sender"
			}
			event(WatchEvent{Kind: EventNotDelivered, Item: it.ID, Detail: why})
		}
		return false, nil
	}
	for _, p := range todo {
		doc := rep.Documents[p.n]
		ev := WatchEvent{Item: it.ID, Doc: p.n, Name: doc.Name, Dest: p.dst.kind}
		if doc.SHA256 != it.Documents[p.n].SHA256 {
			ev.Kind, ev.Err = EventFailed, errors.New("the stored report and index disagree on the document's SHA-256")
			event(ev)
			again = true
			continue
		}
		base := deliverjournal.Entry{Key: docKey(it, p.n), Item: it.ID, Doc: p.n}
		var detail string
		switch p.dst.kind {
		case DestDrop:
			detail, err = dl.drop(p.dst, base, it, rep, p.n)
		case DestPrint:
			detail, err = dl.print(ctx, p.dst, base, it, doc)
		}
		var jerr *journalError
		switch {
		case errors.As(err, &jerr):
			return false, jerr.err
		case errors.Is(err, errMaybeDelivered):
			ev.Kind, ev.Err = EventPossiblyDelivered, err
		case err != nil:
			ev.Kind, ev.Err = EventFailed, err
			again = true
			rec := base
			rec.State, rec.Time, rec.Detail = deliverjournal.Failed, dl.d.Now(), err.Error()
			if jerr := p.dst.j.Record(rec); jerr != nil {
				return false, jerr
			}
		default:
			ev.Kind, ev.Detail = EventDelivered, detail
		}
		event(ev)
	}
	return again, nil
}

func stateWords(s deliverjournal.State) string {
	if s == deliverjournal.Intent {
		return "possibly delivered already"
	}
	return "delivered already"
}

// tell reports whether key was not told yet in this run, and marks it.
func (dl *deliverer) tell(key string) bool {
	if dl.told[key] {
		return false
	}
	dl.told[key] = true
	return true
}

// report is tell for an outcome that never changes (not verified, the
// same document delivered already): false, though marked, for an item
// an earlier run reported already.
func (dl *deliverer) report(key string) bool { return dl.tell(key) && !dl.hush }

// journalError is an error of writing a journal: the watch stops, since
// it can no longer promise "exactly once".
type journalError struct{ err error }

func (e *journalError) Error() string { return e.err.Error() }

// errMaybeDelivered: the hand-over may have happened; the Intent stays.
var errMaybeDelivered = errors.New("the print command was interrupted: the document was possibly printed; it is not printed again")

// sidecar is the JSON written next to a dropped document.
type sidecar struct {
	Version int `json:"version"`
	// Item and Document name the inbox item and the document (from 1).
	Item     string `json:"item"`
	Document int    `json:"document"`
	// File is the dropped document's name in the folder.
	File string `json:"file"`
	// SHA256 is the hex SHA-256 of the dropped file.
	SHA256 string `json:"sha256"`
	// Report is the message's verification report: verdict, signer,
	// sender, the signed manifest, every document.
	Report *receive.Report `json:"report"`
}

// drop writes document n into the drop folder: its sidecar first, then
// the document under a temporary name (DropTempPattern), flushed and
// checked against its SHA-256, then linked into place; neither is ever
// written over a file, and a sidecar whose document did not appear is
// removed.
func (dl *deliverer) drop(dst *destination, base deliverjournal.Entry, it *receive.Item, rep *receive.Report, n int) (string, error) {
	doc := rep.Documents[n]
	name := fmt.Sprintf("%s-%d-%s", it.ID, n+1, receive.SanitizeName(doc.Name))
	final := filepath.Join(dst.dir, name)
	if fileExists(final) {
		return "", fmt.Errorf("%s already exists in the drop folder; it is not overwritten", name)
	}
	clean := *rep
	clean.Documents = append([]receive.Document(nil), rep.Documents...)
	for i := range clean.Documents {
		clean.Documents[i].Path = ""
	}
	meta, err := json.MarshalIndent(sidecar{Version: 1, Item: it.ID, Document: n + 1, File: name, SHA256: doc.SHA256, Report: &clean}, "", "  ")
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dst.dir, DropTempPattern)
	if err != nil {
		return "", fmt.Errorf("drop folder: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the link there is nothing left
	if err := setMode(tmp, dst.dir, dst.mode); err != nil {
		tmp.Close()
		return "", err
	}
	if err := atomicfile.SyncDir(dst.dir); err != nil {
		return "", fmt.Errorf("drop folder: %w", err)
	}
	intent, _ := json.Marshal(dropIntent{Temp: tmp.Name(), Final: final})
	rec := base
	rec.State, rec.Time, rec.Detail = deliverjournal.Intent, dl.d.Now(), string(intent)
	if err := dst.j.Record(rec); err != nil {
		tmp.Close()
		return "", &journalError{err}
	}
	// The sidecar, like the document, is linked into place, never over a
	// file: what another watch or the software reading the folder left
	// under that name stays as it was.
	if err := linkNew(dst.dir, final+".json", append(meta, '\n'), dst.mode); err != nil {
		tmp.Close()
		return "", err
	}
	placed := false
	defer func() {
		if !placed {
			os.Remove(final + ".json") // ours: linkNew made it
		}
	}()
	sum, err := copyDocument(tmp, dl.st, it.ID, n)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("drop folder: %w", err)
	}
	if sum != doc.SHA256 {
		return "", fmt.Errorf("the stored copy of %s is damaged (SHA-256 %s, verified %s); not dropped", name, sum, doc.SHA256)
	}
	if err := os.Link(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("drop folder: %w", err)
	}
	placed = true
	os.Remove(tmp.Name())
	if err := atomicfile.SyncDir(dst.dir); err != nil {
		// The link may not survive a crash: do not record it as done.
		return "", fmt.Errorf("drop folder: %w", err)
	}
	rec.State, rec.Time, rec.Detail = deliverjournal.Done, dl.d.Now(), final
	if err := dst.j.Record(rec); err != nil {
		return "", &journalError{err}
	}
	return final, nil
}

// linkNew writes data to a new file at path, in dir, whole and flushed
// before it appears, by a link: never over a file, a link or anything
// else already at path.
func linkNew(dir, path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(dir, DropTempPattern)
	if err != nil {
		return fmt.Errorf("drop folder: %w", err)
	}
	defer os.Remove(f.Name())
	err = setMode(f, dir, mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("drop folder: %w", err)
	}
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists in the drop folder; it is not overwritten", filepath.Base(path))
		}
		return fmt.Errorf("drop folder: %w", err)
	}
	return nil
}

// setMode gives a file just created (0600, by os.CreateTemp) in dir
// mode, when it is another, before anything is written to it; a mode
// readable by the group only when the file's group is dir's
// (checkDropGroup). On Windows the file has the folder's inherited ACL
// whatever the mode.
func setMode(f *os.File, dir string, mode os.FileMode) error {
	if mode == 0 || mode == 0o600 || runtime.GOOS == "windows" {
		return nil
	}
	if mode&0o070 != 0 {
		if err := checkDropGroup(f, dir); err != nil {
			return err
		}
	}
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("drop folder: %w", err)
	}
	return nil
}

// print checks the stored copy whole, records the intent, prints, and
// records the job.
func (dl *deliverer) print(ctx context.Context, dst *destination, base deliverjournal.Entry, it *receive.Item, doc receive.Document) (string, error) {
	sum, err := copyDocument(io.Discard, dl.st, it.ID, base.Doc)
	if err != nil {
		return "", err
	}
	if sum != doc.SHA256 {
		return "", fmt.Errorf("the stored copy of %s is damaged (SHA-256 %s, verified %s); not printed", doc.Name, sum, doc.SHA256)
	}
	r, err := dl.st.OpenDocument(it.ID, base.Doc)
	if err != nil {
		return "", err
	}
	defer r.Close()
	rec := base
	rec.State, rec.Time, rec.Detail = deliverjournal.Intent, dl.d.Now(), dst.printer.Name()
	if err := dst.j.Record(rec); err != nil {
		return "", &journalError{err}
	}
	title := fmt.Sprintf("securesend #%s document %d", it.ID, base.Doc+1)
	job, err := dst.printer.Print(ctx, title, r)
	if errors.Is(err, ErrPrintUncertain) {
		return "", fmt.Errorf("%w: %w", errMaybeDelivered, err)
	}
	if err != nil {
		return "", err
	}
	rec.State, rec.Time, rec.Detail = deliverjournal.Done, dl.d.Now(), job
	if err := dst.j.Record(rec); err != nil {
		return "", &journalError{err}
	}
	return job, nil
}

// copyDocument decrypts document n of item id to w and returns its hex
// SHA-256.
func copyDocument(w io.Writer, st *receive.Store, id string, n int) (string, error) {
	r, err := st.OpenDocument(id, n)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
		return "", err
	}
	return hexSum(h), nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
