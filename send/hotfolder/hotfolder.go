// Package hotfolder is securesend's "hot folder": scans that a
// multi-function device (MFD) or a person saves into a folder are picked up
// and handed, one by one, to a sending callback (in securesend, the
// encrypted outbox), then moved out of the way: to sent/ once queued, to
// failed/ with a plain-words reason when they cannot be sent.
//
// It lives under send because it is a way of sending: it has no protocol of
// its own and takes the sending as a function (Handler), as send/outbox
// takes the submission, so it can be driven by the outbox, or by a test
// double, and is testable without a mail server or a keychain.
//
// Promises:
//   - The folder is polled (no inotify: MFDs write over SMB, where change
//     notification is unreliable). Only regular files named *.pdf, *.tif,
//     *.tiff, *.jpg, *.jpeg or *.png (any case) are considered; hidden and
//     temporary files (names starting with '.' or '~', ending in .tmp,
//     .part or .crdownload) and subfolders are ignored.
//   - A file is touched only after its size and modification time have not
//     changed for Config.Settle (an MFD writes slowly). Files are processed
//     oldest first. Drain (--once) does not wait forever for a file that
//     never stops changing: after Config.SettleLimit it goes to failed/.
//   - Files are opened without following links and without blocking (a
//     FIFO or a device put in a scan's place is refused at once, never
//     waited on), and only a regular file that is the very file that
//     settled is read. A file larger than Config.MaxSize goes to failed/
//     without being copied.
//   - sent/ and failed/ must be real folders (not links); on Unix they must
//     also be the user's, and are made 0700 (on Windows their ACLs
//     decide). A round finds out before it moves anything, and
//     stops with a *SubfolderError otherwise. Files are moved, and reason
//     files created, relative to those open folders, never through a link
//     and never over an existing name.
//   - The Handler reads a private copy in a 0700 temporary folder, removed
//     when the Handler returns; copies a crash left behind are removed by
//     the next round on the same folder.
//   - Every file is checked with internal/doccheck; an empty, corrupt or
//     unsupported one is moved to failed/ with NAME.reason.txt beside it.
//   - Nothing is deleted or overwritten: a name already taken in sent/ or
//     failed/ gets a numeric suffix ("scan-1.pdf").
//   - A Handler error leaves the file where it is for the next round,
//     unless it wraps ErrPermanent: then the file goes to failed/.
//   - One round at a time per folder, across processes (a lock file), so
//     two Watchers on one folder do not both take a file.
//   - No silent double send after a crash. Before the Handler runs, the
//     file's SHA-256 and an idempotency key are written to the journal
//     (DIR/.securesend-hotfolder.json, atomically: temporary file, fsync,
//     rename); after the Handler has queued the file durably, its job id is
//     written there too, and only then is the file moved. A file found
//     again whose SHA-256 has a job id in the journal is moved to sent/
//     without calling the Handler; one with only a key gets the same key
//     again, so the Handler can find what it queued before the crash.
//     Since that lets the journal send a scan to sent/ unsent, a journal
//     that is not this user's own file, or that group or others can write
//     (Unix), is refused: the round stops with an error.
package hotfolder

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/internal/filelock"
)

// JournalName is the journal's file name inside the folder.
const JournalName = ".securesend-hotfolder.json"

// LockName is the lock file inside the folder: each Scan holds it, so two
// Watchers (two processes) on one folder take turns and never queue a file
// twice.
const LockName = ".securesend-hotfolder.lock"

// The subfolders files are moved to.
const (
	SentDir   = "sent"
	FailedDir = "failed"
)

// Defaults for Config.
const (
	// DefaultMaxSize is the largest file taken when Config.MaxSize is 0.
	DefaultMaxSize = 50 << 20
	// DefaultSettleLimit is how long Drain waits for a file that keeps
	// changing when Config.SettleLimit is 0.
	DefaultSettleLimit = 2 * time.Minute
	// DefaultInterval is Run's polling period when Config.Interval is 0.
	DefaultInterval = 10 * time.Second
)

// SubfolderError means sent/ or failed/ cannot be used safely (it is a
// link, a file, another user's, or cannot be made private): nothing was
// moved, and the round stopped.
type SubfolderError struct {
	Path    string
	Problem string
}

func (e *SubfolderError) Error() string {
	return fmt.Sprintf("hotfolder: %s %s, so no scan was moved (remove or fix it, then try again)", e.Path, e.Problem)
}

// errIsLink is the error of opening a link where a file was expected.
var errIsLink = errors.New("is a link, which the hot folder never follows")

// errChanged means a file changed, vanished or was swapped since it was
// listed: the next round looks at it again.
var errChanged = errors.New("changed while it was being read")

// ErrPermanent marks a Handler error after which retrying the file cannot
// help (the policy refuses it, say): the file is moved to failed/. Wrap it,
// e.g. fmt.Errorf("...: %w", hotfolder.ErrPermanent), or use Permanent.
var ErrPermanent = errors.New("permanent failure")

// Permanent returns err marked as permanent (nil stays nil).
func Permanent(err error) error {
	if err == nil || errors.Is(err, ErrPermanent) {
		return err
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (p permanentError) Error() string        { return p.err.Error() }
func (p permanentError) Unwrap() []error      { return []error{p.err, ErrPermanent} }
func (p permanentError) Is(target error) bool { return target == ErrPermanent }

// Item is a settled, valid file handed to the Handler.
type Item struct {
	// Path is a private copy of the file (in a 0700 temporary folder,
	// under the same base name), removed once the Handler returns.
	Path string
	Name string // its base name
	// SHA256 is the hex SHA-256 of the content.
	SHA256 string
	// Key is an idempotency key for this content, stable across restarts
	// until the file leaves the folder: a Handler that records it with
	// what it queues (e.g. in a Message-ID) can recognise, after a crash
	// between queueing and the journal write, that the file is queued.
	Key string
	// Info is doccheck's description of the file.
	Info *doccheck.Info
}

// Handler queues one file durably and returns the job id. It must not
// return before the file is safe (the file is moved away after it
// returns). An error leaves the file for the next round, unless it wraps
// ErrPermanent.
type Handler func(ctx context.Context, it Item) (jobID string, err error)

// Outcome is what happened to a file.
type Outcome string

// The outcomes.
const (
	// Queued: the Handler queued it and it was moved to sent/.
	Queued Outcome = "queued"
	// AlreadyQueued: the journal says it was queued before (a crash
	// before the move); it was moved to sent/ without queueing again.
	AlreadyQueued Outcome = "already-queued"
	// Failed: moved to failed/ with a reason.
	Failed Outcome = "failed"
	// Retry: the Handler failed transiently; the file stays.
	Retry Outcome = "retry"
)

// Event reports one file's outcome.
type Event struct {
	Name    string
	Outcome Outcome
	JobID   string // Queued, AlreadyQueued
	Dest    string // the new path (sent/ or failed/); "" for Retry
	Reason  string // Failed, Retry: in plain words
	Err     error  // Failed, Retry: the error, when there is one
}

// Config configures a Watcher.
type Config struct {
	// Dir is the hot folder (required). sent/ and failed/ are created in
	// it when needed.
	Dir string
	// Handle queues a file (required).
	Handle Handler
	// Report, when set, is told every outcome.
	Report func(ctx context.Context, ev Event)
	// Settle is how long a file's size and modification time must stay
	// unchanged before it is taken (0: taken when first seen).
	Settle time.Duration
	// SettleLimit is how long Drain waits for a file to settle, counted
	// from when it was first seen; a file still changing then is moved to
	// failed/ with a reason (default DefaultSettleLimit; never less than
	// twice Settle). Run keeps waiting: it never stops for one file.
	SettleLimit time.Duration
	// MaxSize is the largest file, in bytes, that is taken; a larger one
	// is moved to failed/ with a reason, without being copied or read
	// (default DefaultMaxSize). Set it to the policy's document limit
	// when there is one.
	MaxSize int64
	// TempDir is where private copies are made (default os.TempDir()).
	TempDir string
	// Interval is the polling period of Run (default DefaultInterval).
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Watcher polls one hot folder. It is not safe for concurrent use, and one
// folder should have one Watcher.
type Watcher struct {
	cfg  Config
	seen map[string]observation
	// copyPrefix names this folder's private copies in TempDir, so a
	// round can remove what a crashed round on the same folder left.
	copyPrefix string
	// beforeOpen, when set (tests), runs just before a file is opened.
	beforeOpen func(name string)
}

type observation struct {
	size   int64
	mtime  time.Time
	stable time.Time // first seen with this size and mtime
	first  time.Time // first seen at all
}

// New returns a Watcher for cfg. It checks that Dir is a folder.
func New(cfg Config) (*Watcher, error) {
	if cfg.Dir == "" || cfg.Handle == nil {
		return nil, errors.New("hotfolder: Dir and Handle are required")
	}
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("hotfolder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("hotfolder: %s is not a folder", cfg.Dir)
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("hotfolder: %w", err)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Settle < 0 {
		cfg.Settle = 0
	}
	if cfg.SettleLimit <= 0 {
		cfg.SettleLimit = DefaultSettleLimit
	}
	cfg.SettleLimit = max(cfg.SettleLimit, 2*cfg.Settle)
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	h := sha256.Sum256([]byte(abs))
	prefix := "securesend-hotfolder-" + hex.EncodeToString(h[:8]) + "-"
	return &Watcher{cfg: cfg, seen: map[string]observation{}, copyPrefix: prefix}, nil
}

// Stats counts the outcomes of one Scan.
type Stats struct {
	Queued, AlreadyQueued, Failed, Retry int
	// Settling is the number of files not yet taken because they changed
	// within the settle time.
	Settling int
}

// Run scans the folder every Interval until ctx is cancelled, and returns
// ctx's error. After every round that was not cut short by the
// cancellation, afterRound, when set, is called with the round's error (nil
// when it went well; an unreadable folder, say): the next round tries
// again.
func (w *Watcher) Run(ctx context.Context, afterRound func(error)) error {
	for {
		if _, err := w.Scan(ctx); ctx.Err() == nil && afterRound != nil {
			afterRound(err)
		}
		t := time.NewTimer(w.cfg.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Drain processes what is in the folder now and returns: it scans until no
// file is still settling, waiting between rounds. A file whose Handler
// fails transiently is tried once and left in place.
func (w *Watcher) Drain(ctx context.Context) (Stats, error) {
	var total Stats
	wait := min(w.cfg.Settle/4+10*time.Millisecond, time.Second)
	for {
		s, err := w.scan(ctx, true)
		total.Queued += s.Queued
		total.AlreadyQueued += s.AlreadyQueued
		total.Failed += s.Failed
		total.Retry += s.Retry
		total.Settling = s.Settling
		if err != nil || s.Settling == 0 {
			return total, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return total, ctx.Err()
		case <-t.C:
		}
	}
}

type candidate struct {
	name string
	fi   os.FileInfo // from the listing (Lstat)
}

// round is the open folders of one Scan.
type round struct {
	dir, sent, failed *folder
}

func (r *round) close() {
	for _, f := range []*folder{r.sent, r.failed, r.dir} {
		if f != nil {
			f.Close()
		}
	}
}

// Scan does one round: it lists the folder and processes, oldest first,
// every file that has settled. In Drain mode a transiently failed file is
// not retried until the next call.
func (w *Watcher) Scan(ctx context.Context) (Stats, error) { return w.scan(ctx, false) }

// scan is Scan; with giveUp, files that have not settled within
// SettleLimit go to failed/.
func (w *Watcher) scan(ctx context.Context, giveUp bool) (Stats, error) {
	var st Stats
	dir, err := openFolder(w.cfg.Dir)
	if err != nil {
		return st, fmt.Errorf("hotfolder: %w", err)
	}
	r := &round{dir: dir}
	defer r.close()
	release, err := w.lock(dir)
	if err != nil {
		return st, err
	}
	defer release()
	// Under the lock no other round on this folder is running, so any
	// private copy of this folder's is a crash's leftover.
	w.removeLeftovers()
	ents, err := dir.entries()
	if err != nil {
		return st, fmt.Errorf("hotfolder: %w", err)
	}
	now := w.cfg.Now()
	var ready, stuck []candidate
	present := map[string]bool{}
	for _, de := range ents {
		name := de.Name()
		if !Wanted(name) || !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // gone meanwhile
		}
		present[name] = true
		o, ok := w.seen[name]
		if !ok {
			o.first = now
		}
		if !ok || o.size != fi.Size() || !o.mtime.Equal(fi.ModTime()) {
			o = observation{size: fi.Size(), mtime: fi.ModTime(), stable: now, first: o.first}
			w.seen[name] = o
		}
		if now.Sub(o.stable) < w.cfg.Settle {
			if giveUp && now.Sub(o.first) >= w.cfg.SettleLimit {
				stuck = append(stuck, candidate{name, fi})
				continue
			}
			st.Settling++
			continue
		}
		ready = append(ready, candidate{name, fi})
	}
	for name := range w.seen {
		if !present[name] {
			delete(w.seen, name)
		}
	}
	if len(ready) == 0 && len(stuck) == 0 {
		return st, nil
	}
	// Before anything moves: sent/ and failed/ must be safe.
	if r.sent, err = dir.subfolder(SentDir); err != nil {
		return st, fmt.Errorf("hotfolder: %w", err)
	}
	if r.failed, err = dir.subfolder(FailedDir); err != nil {
		return st, fmt.Errorf("hotfolder: %w", err)
	}
	byAge := func(list []candidate) {
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i].fi.ModTime(), list[j].fi.ModTime()
			if !a.Equal(b) {
				return a.Before(b)
			}
			return list[i].name < list[j].name
		})
	}
	byAge(stuck)
	byAge(ready)
	for _, c := range stuck {
		reason := fmt.Sprintf("it was still changing %v after it was first seen (still being written, or something keeps writing to it), so it was not sent", w.cfg.SettleLimit)
		ev, err := w.fail(r, c.name, reason, nil)
		if err != nil {
			return st, err
		}
		delete(w.seen, c.name)
		st.Failed++
		if w.cfg.Report != nil {
			w.cfg.Report(ctx, ev)
		}
	}
	for _, c := range ready {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		ev, err := w.process(ctx, r, c)
		if err != nil {
			return st, err
		}
		if ev.Outcome == "" {
			continue // changed or vanished since listing
		}
		first := w.seen[c.name].first
		delete(w.seen, c.name)
		switch ev.Outcome {
		case Queued:
			st.Queued++
		case AlreadyQueued:
			st.AlreadyQueued++
		case Failed:
			st.Failed++
		case Retry:
			st.Retry++
		}
		if ev.Outcome == Retry {
			// keep it as settled, so the next round tries again at once
			w.seen[c.name] = observation{size: c.fi.Size(), mtime: c.fi.ModTime(), stable: time.Time{}, first: first}
		}
		if w.cfg.Report != nil {
			w.cfg.Report(ctx, ev)
		}
	}
	return st, nil
}

// lock takes the folder's lock file, opened without following a link or
// blocking; it must be a regular file.
func (w *Watcher) lock(dir *folder) (func(), error) {
	f, err := dir.openFile(LockName, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("hotfolder: lock: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("hotfolder: lock: %s is not a regular file", filepath.Join(w.cfg.Dir, LockName))
	}
	if err := filelock.Lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("hotfolder: lock: %w", err)
	}
	return func() {
		_ = filelock.Unlock(f)
		f.Close()
	}, nil
}

// removeLeftovers removes this folder's private copies that a crashed
// round left in TempDir (the caller holds the folder's lock).
func (w *Watcher) removeLeftovers() {
	ents, err := os.ReadDir(w.cfg.TempDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), w.copyPrefix) {
			continue
		}
		p := filepath.Join(w.cfg.TempDir, e.Name())
		if fi, err := os.Lstat(p); err == nil && isOwnedDir(fi) {
			os.RemoveAll(p)
		}
	}
}

// Wanted reports whether a file name is one the hot folder takes: a
// supported extension, not hidden, not temporary.
func Wanted(name string) bool {
	if name == "" || name[0] == '.' || name[0] == '~' {
		return false
	}
	lower := strings.ToLower(name)
	for _, s := range []string{".tmp", ".part", ".crdownload"} {
		if strings.HasSuffix(lower, s) {
			return false
		}
	}
	switch filepath.Ext(lower) {
	case ".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// process handles one settled file. A returned error stops the round (the
// journal cannot be written, or a move failed): the file stays.
func (w *Watcher) process(ctx context.Context, r *round, c candidate) (Event, error) {
	// Everything from here on reads a private copy, taken through one
	// open file that is the regular file that settled: whoever can write
	// to the folder cannot swap the name for a link to another of the
	// user's files, or for a FIFO, between the check and the sending.
	priv, sum, err := w.privateCopy(r.dir, c)
	var big *tooLargeError
	switch {
	case errors.As(err, &big):
		return w.fail(r, c.name, big.reason(), err)
	case err != nil:
		return Event{}, nil // gone, swapped or unreadable now; next round
	}
	defer os.RemoveAll(filepath.Dir(priv))
	info, err := doccheck.Check(priv)
	if err != nil {
		reason := err.Error()
		var de *doccheck.Error
		if errors.As(err, &de) {
			reason = de.Reason
		}
		return w.fail(r, c.name, reason, err)
	}
	j, err := w.readJournal(r.dir)
	if err != nil {
		return Event{}, err
	}
	ent, known := j.Entries[sum]
	if known && ent.Job != "" {
		dest, err := w.move(r, c.name, r.sent)
		if err != nil {
			return Event{}, err
		}
		w.forget(r.dir, sum)
		return Event{Name: c.name, Outcome: AlreadyQueued, JobID: ent.Job, Dest: dest}, nil
	}
	if !known {
		key, err := newKey()
		if err != nil {
			return Event{}, err
		}
		ent = entry{Key: key, Name: c.name, Time: w.cfg.Now().UTC()}
		j.Entries[sum] = ent
		if err := writeJournal(w.journalPath(), j); err != nil {
			return Event{}, err
		}
	}
	id, herr := w.cfg.Handle(ctx, Item{Path: priv, Name: c.name, SHA256: sum, Key: ent.Key, Info: info})
	if herr != nil {
		if errors.Is(herr, ErrPermanent) {
			ev, err := w.fail(r, c.name, herr.Error(), herr)
			if err == nil {
				w.forget(r.dir, sum)
			}
			return ev, err
		}
		return Event{Name: c.name, Outcome: Retry, Reason: herr.Error(), Err: herr}, nil
	}
	ent.Job = id
	j.Entries[sum] = ent
	if err := writeJournal(w.journalPath(), j); err != nil {
		return Event{}, fmt.Errorf("hotfolder: %s was queued as %s, but the journal cannot be written: %w", c.name, id, err)
	}
	dest, err := w.move(r, c.name, r.sent)
	if err != nil {
		return Event{}, fmt.Errorf("hotfolder: %s was queued as %s, but cannot be moved to %s: %w", c.name, id, SentDir, err)
	}
	w.forget(r.dir, sum)
	return Event{Name: c.name, Outcome: Queued, JobID: id, Dest: dest}, nil
}

// fail moves name to failed/ and creates its reason file beside it (never
// through a link, never over an existing file).
func (w *Watcher) fail(r *round, name, reason string, cause error) (Event, error) {
	dest, err := w.move(r, name, r.failed)
	if err != nil {
		return Event{}, err
	}
	text := fmt.Sprintf("%s could not be sent: %s.\n", name, strings.TrimSuffix(reason, "."))
	if err := writeReason(r.failed, filepath.Base(dest)+reasonExt, text); err != nil {
		return Event{}, fmt.Errorf("hotfolder: %s was moved to %s, but its reason cannot be written: %w", name, dest, err)
	}
	return Event{Name: name, Outcome: Failed, Dest: dest, Reason: reason, Err: cause}, nil
}

// reasonExt ends the name of a reason file in failed/.
const reasonExt = ".reason.txt"

func writeReason(dir *folder, name, text string) error {
	f, err := dir.createNew(name)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, text)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	dir.sync()
	return nil
}

// forget drops sum from the journal once its file has left the folder; a
// failure leaves a stale entry, which only matters if the very same bytes
// are dropped in again, so it is not an error.
func (w *Watcher) forget(dir *folder, sum string) {
	j, err := w.readJournal(dir)
	if err != nil {
		return
	}
	if _, ok := j.Entries[sum]; ok {
		delete(j.Entries, sum)
		writeJournal(w.journalPath(), j)
	}
}

func (w *Watcher) journalPath() string { return filepath.Join(w.cfg.Dir, JournalName) }

// move moves name into the subfolder sub (opened and checked by the
// round), never overwriting: a taken name gets "-1", "-2", ... before its
// extension. It returns the new path.
func (w *Watcher) move(r *round, name string, sub *folder) (string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; i < 10000; i++ {
		cand := name
		if i > 0 {
			cand = stem + "-" + strconv.Itoa(i) + ext
		}
		// A reason file of an earlier failure also takes the name.
		if taken, err := sub.exists(cand + reasonExt); err != nil {
			return "", fmt.Errorf("hotfolder: %w", err)
		} else if taken {
			continue
		}
		err := r.dir.moveTo(name, sub, cand)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("hotfolder: %w", err)
		}
		sub.sync()
		r.dir.sync()
		return filepath.Join(sub.path, cand), nil
	}
	return "", fmt.Errorf("hotfolder: no free name for %s in %s", name, sub.path)
}

// tooLargeError means a file is over Config.MaxSize.
type tooLargeError struct{ size, limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("hotfolder: the file is %s, over the hot folder's limit of %s", mb(e.size), mb(e.limit))
}

func (e *tooLargeError) reason() string {
	return fmt.Sprintf("it is %s, larger than the hot folder takes (%s)", mb(e.size), mb(e.limit))
}

// mb formats a size in bytes for people: "812 bytes", "3.9 KB", "52.4 MB".
func mb(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
}

// privateCopy copies c from dir into a new private (0700) temporary
// folder under the same base name, and returns the copy's path and the hex
// SHA-256 of the content. It opens the name without following a link and
// without blocking, and reads only if what it opened is a regular file,
// the very one the listing saw (os.SameFile), with the size and time that
// settled; a file over MaxSize is refused (*tooLargeError) before anything
// is copied. Any other error (errChanged, I/O) means: next round. The
// caller removes the copy's folder.
func (w *Watcher) privateCopy(dir *folder, c candidate) (string, string, error) {
	if w.beforeOpen != nil {
		w.beforeOpen(c.name)
	}
	f, err := dir.openFile(c.name, os.O_RDONLY, 0)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	ofi, err := f.Stat()
	if err != nil {
		return "", "", err
	}
	if !ofi.Mode().IsRegular() || !os.SameFile(c.fi, ofi) || ofi.Size() != c.fi.Size() || !ofi.ModTime().Equal(c.fi.ModTime()) {
		return "", "", fmt.Errorf("hotfolder: %s %w", c.name, errChanged)
	}
	if ofi.Size() > w.cfg.MaxSize {
		return "", "", &tooLargeError{size: ofi.Size(), limit: w.cfg.MaxSize}
	}
	tmp, err := os.MkdirTemp(w.cfg.TempDir, w.copyPrefix)
	if err != nil {
		return "", "", err
	}
	dst := filepath.Join(tmp, filepath.Base(c.name))
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		os.RemoveAll(tmp)
		return "", "", err
	}
	h := sha256.New()
	// One byte more than settled, to notice a file that grew since.
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(f, ofi.Size()+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != ofi.Size() {
		err = fmt.Errorf("hotfolder: %s %w", c.name, errChanged)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", "", err
	}
	return dst, hex.EncodeToString(h.Sum(nil)), nil
}

func newKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("hotfolder: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// journal is the content of JournalName.
type journal struct {
	Version int              `json:"version"`
	Entries map[string]entry `json:"entries"` // by hex SHA-256
}

type entry struct {
	Key  string    `json:"key"`
	Job  string    `json:"job,omitempty"` // set once the Handler queued it
	Name string    `json:"name"`
	Time time.Time `json:"time"`
}

// maxJournal bounds the journal read: it lists only files in the folder.
const maxJournal = 16 << 20

// readJournal reads the journal in dir, opened without following a link
// or blocking.
func (w *Watcher) readJournal(dir *folder) (*journal, error) {
	j := &journal{Version: 1, Entries: map[string]entry{}}
	path := filepath.Join(dir.path, JournalName)
	f, err := dir.openFile(JournalName, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hotfolder: journal: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("hotfolder: journal %s is not a regular file (move it away to start afresh; files it listed may then be queued again)", path)
	}
	if problem := notPrivate(f); problem != "" {
		// Anyone else who can write it could mark a new scan as queued
		// already: it would go to sent/ without being sent.
		return nil, fmt.Errorf("hotfolder: journal %s %s, so it cannot be trusted (move it away to start afresh; files it listed may then be queued again)", path, problem)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxJournal+1))
	if err != nil {
		return nil, fmt.Errorf("hotfolder: journal: %w", err)
	}
	if len(data) > maxJournal {
		return nil, fmt.Errorf("hotfolder: journal %s is over %d MB, which it never grows to (move it away to start afresh; files it listed may then be queued again)", path, maxJournal>>20)
	}
	if err := json.Unmarshal(data, j); err != nil {
		return nil, fmt.Errorf("hotfolder: journal %s is damaged (move it away to start afresh; files it lists may then be queued again): %w", path, err)
	}
	if j.Entries == nil {
		j.Entries = map[string]entry{}
	}
	return j, nil
}

// writeJournal replaces the journal atomically: temporary file, fsync,
// rename, fsync of the folder.
func writeJournal(path string, j *journal) error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(data, '\n')); err != nil {
		return fmt.Errorf("hotfolder: journal: %w", err)
	}
	return nil
}
