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
//     oldest first.
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
	// Interval is the polling period of Run (default 10 s).
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Watcher polls one hot folder. It is not safe for concurrent use, and one
// folder should have one Watcher.
type Watcher struct {
	cfg  Config
	seen map[string]observation
}

type observation struct {
	size   int64
	mtime  time.Time
	stable time.Time // first seen with this size and mtime
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
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Settle < 0 {
		cfg.Settle = 0
	}
	return &Watcher{cfg: cfg, seen: map[string]observation{}}, nil
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
		s, err := w.Scan(ctx)
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
	name  string
	size  int64
	mtime time.Time
}

// Scan does one round: it lists the folder and processes, oldest first,
// every file that has settled. In Drain mode a transiently failed file is
// not retried until the next call.
func (w *Watcher) Scan(ctx context.Context) (Stats, error) {
	var st Stats
	release, err := filelock.Path(filepath.Join(w.cfg.Dir, LockName))
	if err != nil {
		return st, fmt.Errorf("hotfolder: %w", err)
	}
	defer release()
	ents, err := os.ReadDir(w.cfg.Dir)
	if err != nil {
		return st, fmt.Errorf("hotfolder: %w", err)
	}
	now := w.cfg.Now()
	var ready []candidate
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
		if !ok || o.size != fi.Size() || !o.mtime.Equal(fi.ModTime()) {
			o = observation{size: fi.Size(), mtime: fi.ModTime(), stable: now}
			w.seen[name] = o
		}
		if now.Sub(o.stable) < w.cfg.Settle {
			st.Settling++
			continue
		}
		ready = append(ready, candidate{name, fi.Size(), fi.ModTime()})
	}
	for name := range w.seen {
		if !present[name] {
			delete(w.seen, name)
		}
	}
	sort.Slice(ready, func(i, j int) bool {
		if !ready[i].mtime.Equal(ready[j].mtime) {
			return ready[i].mtime.Before(ready[j].mtime)
		}
		return ready[i].name < ready[j].name
	})
	for _, c := range ready {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		ev, err := w.process(ctx, c)
		if err != nil {
			return st, err
		}
		if ev.Outcome == "" {
			continue // changed or vanished since listing
		}
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
			w.seen[c.name] = observation{size: c.size, mtime: c.mtime, stable: time.Time{}}
		}
		if w.cfg.Report != nil {
			w.cfg.Report(ctx, ev)
		}
	}
	return st, nil
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
func (w *Watcher) process(ctx context.Context, c candidate) (Event, error) {
	path := filepath.Join(w.cfg.Dir, c.name)
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != c.size || !fi.ModTime().Equal(c.mtime) {
		return Event{}, nil // gone or changed: the next round sees it again
	}
	// Everything from here on reads a private copy, taken through one
	// open file that is the regular file just checked: whoever can write
	// to the folder cannot swap the name for a link to another of the
	// user's files between the check and the sending.
	priv, sum, err := privateCopy(path, fi)
	if err != nil {
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
		return w.fail(c.name, reason, err)
	}
	j, err := readJournal(w.journalPath())
	if err != nil {
		return Event{}, err
	}
	ent, known := j.Entries[sum]
	if known && ent.Job != "" {
		dest, err := w.move(c.name, SentDir)
		if err != nil {
			return Event{}, err
		}
		w.forget(sum)
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
			ev, err := w.fail(c.name, herr.Error(), herr)
			if err == nil {
				w.forget(sum)
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
	dest, err := w.move(c.name, SentDir)
	if err != nil {
		return Event{}, fmt.Errorf("hotfolder: %s was queued as %s, but cannot be moved to %s: %w", c.name, id, SentDir, err)
	}
	w.forget(sum)
	return Event{Name: c.name, Outcome: Queued, JobID: id, Dest: dest}, nil
}

// fail moves name to failed/ and writes the reason beside it.
func (w *Watcher) fail(name, reason string, cause error) (Event, error) {
	dest, err := w.move(name, FailedDir)
	if err != nil {
		return Event{}, err
	}
	text := fmt.Sprintf("%s could not be sent: %s.\n", name, strings.TrimSuffix(reason, "."))
	if err := os.WriteFile(dest+".reason.txt", []byte(text), 0o600); err != nil {
		return Event{}, fmt.Errorf("hotfolder: %s was moved to %s, but its reason cannot be written: %w", name, dest, err)
	}
	return Event{Name: name, Outcome: Failed, Dest: dest, Reason: reason, Err: cause}, nil
}

// forget drops sum from the journal once its file has left the folder; a
// failure leaves a stale entry, which only matters if the very same bytes
// are dropped in again, so it is not an error.
func (w *Watcher) forget(sum string) {
	j, err := readJournal(w.journalPath())
	if err != nil {
		return
	}
	if _, ok := j.Entries[sum]; ok {
		delete(j.Entries, sum)
		writeJournal(w.journalPath(), j)
	}
}

func (w *Watcher) journalPath() string { return filepath.Join(w.cfg.Dir, JournalName) }

// move moves name into the subfolder sub, never overwriting: a taken name
// gets "-1", "-2", ... before its extension. It returns the new path.
func (w *Watcher) move(name, sub string) (string, error) {
	dir := filepath.Join(w.cfg.Dir, sub)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("hotfolder: %w", err)
	}
	src := filepath.Join(w.cfg.Dir, name)
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; i < 10000; i++ {
		cand := name
		if i > 0 {
			cand = stem + "-" + strconv.Itoa(i) + ext
		}
		dst := filepath.Join(dir, cand)
		// A reason file of an earlier failure also takes the name.
		if _, err := os.Lstat(dst + ".reason.txt"); err == nil {
			continue
		}
		err := os.Link(src, dst) // fails if dst exists: never overwrites
		if err == nil {
			if err := os.Remove(src); err != nil {
				os.Remove(dst)
				return "", fmt.Errorf("hotfolder: %w", err)
			}
			syncDir(dir)
			syncDir(w.cfg.Dir)
			return dst, nil
		}
		if errors.Is(err, os.ErrExist) {
			continue
		}
		// No hard links here (some SMB shares): check, then rename.
		if _, serr := os.Lstat(dst); serr == nil {
			continue
		} else if !errors.Is(serr, os.ErrNotExist) {
			return "", fmt.Errorf("hotfolder: %w", serr)
		}
		if err := os.Rename(src, dst); err != nil {
			return "", fmt.Errorf("hotfolder: %w", err)
		}
		syncDir(dir)
		syncDir(w.cfg.Dir)
		return dst, nil
	}
	return "", fmt.Errorf("hotfolder: no free name for %s in %s", name, dir)
}

// privateCopy copies the regular file at path, which Lstat described as
// fi, into a new private (0700) temporary folder under the same base name,
// and returns the copy's path and the hex SHA-256 of the content. It reads
// through one open file and refuses it unless it is the very file fi
// describes (not a link put in its place since). The caller removes the
// copy's folder.
func privateCopy(path string, fi os.FileInfo) (string, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	if ofi, err := f.Stat(); err != nil || !ofi.Mode().IsRegular() || !os.SameFile(fi, ofi) {
		return "", "", fmt.Errorf("hotfolder: %s changed while it was being read", filepath.Base(path))
	}
	dir, err := os.MkdirTemp("", "securesend-hotfolder-")
	if err != nil {
		return "", "", err
	}
	dst := filepath.Join(dir, filepath.Base(path))
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), f)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(dir)
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

func readJournal(path string) (*journal, error) {
	j := &journal{Version: 1, Entries: map[string]entry{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hotfolder: journal: %w", err)
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

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
