// Package deliverjournal records, for one destination of received
// documents (a drop folder, a printer), which documents were handed to it,
// so that each is delivered exactly once across duplicate deliveries of a
// message, restarts and crashes.
//
// A Journal is an append-only file of JSON lines, one per state change,
// each flushed to disk (fsync) before Record returns. A delivery that
// cannot be checked afterwards, such as a print job, is bracketed by two
// records: Intent before the document is handed over and Done after. A
// crash between them leaves an Intent with no Done, which the caller must
// treat as "possibly delivered" and never repeat on its own.
//
// A crash while a record is written leaves at most a torn last line: that
// record was never flushed, so the step it announced never started, and
// Open drops it. A damaged line anywhere else is an error: the journal is
// not guessed at.
//
// Every line is sealed, so that someone who can write the home folder but
// not the OS keychain cannot make a document count as delivered, skipped
// or resolved (and so never delivered): each line carries its sequence
// number and an HMAC-SHA-256, under a per-home key kept only in the OS
// keychain (KeyName, created on first use), over the journal's file name
// (which names its destination), the sequence number, the previous
// line's MAC and the line itself. A forged or edited line, lines
// reordered, removed from the middle, replayed, or copied from another
// destination's journal do not verify. The MAC and sequence number of the
// last line (the head) are kept in the keychain too, moved after each
// line is flushed, so cutting lines off the end, emptying or deleting the
// journal, or putting an older copy back is found as well; the file may
// be one line past the head (a crash between the two), when that line
// authenticates and links to the head. Open returns a *SealError for any
// of these, and nothing of that journal is trusted.
//
// Journals written unsealed by an older securesend are sealed by the
// first Open in the home (see Open).
package deliverjournal

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/filelock"
)

// State is where the delivery of one document stands.
type State string

// The states of a delivery.
const (
	// Intent: the document is about to be handed over; with no later
	// record, it possibly was.
	Intent State = "intent"
	// Done: the document was handed over.
	Done State = "done"
	// Failed: the attempt failed before the document was handed over;
	// it may be tried again.
	Failed State = "failed"
	// Skipped: the document is not to be delivered here (it was in the
	// inbox before this destination was first watched).
	Skipped State = "skipped"
	// Resolved: a person decided what happens to a possibly delivered
	// document (Detail says what); it is not delivered again.
	Resolved State = "resolved"
)

// Entry is one record: the latest one for a Key is its state.
type Entry struct {
	// Key names the document (the caller's choice, e.g. its hash and
	// signer).
	Key   string `json:"key"`
	State State  `json:"state"`
	// Item and Doc say which inbox item and document it was.
	Item string    `json:"item,omitempty"`
	Doc  int       `json:"doc"`
	Time time.Time `json:"time"`
	// Detail is what the caller needs to finish or explain the step: the
	// file written, the print job, the error.
	Detail string `json:"detail,omitempty"`
}

// SealLockName is the lock file, in the journals' directory, that every
// Open holds while it checks the home's seal (creates the key, migrates).
const SealLockName = "seal.lock"

// ErrLocked means another process has the journal open.
var ErrLocked = errors.New("the delivery journal is in use by another securesend watch")

// CorruptError means a line other than the last could not be read.
type CorruptError struct {
	Path string
	Line int
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("delivery journal %s: line %d is damaged (%v); it is not guessed at: move it aside only after checking what was delivered", e.Path, e.Line, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Journal is an open delivery journal, locked against other processes.
// It is not safe for concurrent use.
type Journal struct {
	path    string
	f       *os.File
	release func()
	latest  map[string]Entry
	order   []string
	created bool
	seal    *sealer
	// seq and last are the sequence number and MAC of the last line.
	seq  uint64
	last string
}

// Open opens the journal at path, creating it (mode 0600, the directory
// 0700) when missing, and locks it (ErrLocked when another process holds
// it). Its lines are sealed with the home's key in kc (KeyName, created
// on first use) and its head anchored there; a journal that does not
// verify is a *SealError (errors.Is ErrSealBroken) and nothing of it is
// trusted. A torn last line is dropped.
//
// The first Open in a home seals every journal an older securesend left
// unsealed in path's directory (each trusted as it is, as that version
// did, and rewritten sealed), then marks the home sealed (SealedName):
// from then on an unsealed journal is refused.
func Open(path string, kc *keychain.Keychain) (*Journal, error) {
	if kc == nil {
		return nil, errors.New("delivery journal: a keychain is required to seal it")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	// One Open at a time in the home while the seal is checked: two
	// processes opening their journals of a home not yet sealed would
	// otherwise each create a key (the last one stored wins, and the
	// journal sealed with the other is refused from then on) and each
	// migrate the other's journal.
	unlockHome, err := filelock.Path(filepath.Join(filepath.Dir(path), SealLockName))
	if err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	defer unlockHome()
	release, err := tryLock(path + ".lock")
	if err != nil {
		return nil, err
	}
	j, err := openSealed(path, kc)
	if err != nil {
		release()
		return nil, err
	}
	j.release = release
	return j, nil
}

func openSealed(path string, kc *keychain.Keychain) (*Journal, error) {
	sealed, err := isSealed(kc)
	if err != nil {
		return nil, err
	}
	key, err := homeKey(kc, sealed)
	if errors.Is(err, errKeyMissing) {
		return nil, &SealError{Path: path, Reason: err.Error()}
	}
	if err != nil {
		return nil, err
	}
	if !sealed {
		if err := migrateDir(filepath.Dir(path), path, kc, key); err != nil {
			return nil, err
		}
	}
	return open(path, &sealer{kc: kc, key: key, name: filepath.Base(path)}, !sealed)
}

func tryLock(path string) (func(), error) {
	f, err := filelock.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	ok, err := filelock.TryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	if !ok {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", ErrLocked, path)
	}
	return func() {
		filelock.Unlock(f) //nolint:errcheck // closing releases it too
		f.Close()
	}, nil
}

// open reads and verifies the journal at path. migrating: the home is
// being sealed, so a journal with no head in the keychain is one just
// rewritten sealed (a crash came before its head was stored).
func open(path string, s *sealer, migrating bool) (*Journal, error) {
	_, statErr := os.Lstat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	// Never through a link someone planted (Open would truncate and
	// append to its target), and only a regular file of this user.
	f, err := filelock.OpenFile(path)
	if errors.Is(err, filelock.ErrUnsafeLockFile) {
		return nil, fmt.Errorf("delivery journal %s: it is a link, not a regular file, or belongs to another user: move it aside and check what the destination received: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	if created {
		if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, fmt.Errorf("delivery journal: %w", err)
		}
	}
	j := &Journal{path: path, f: f, latest: map[string]Entry{}, created: created, seal: s}
	if err := j.load(migrating); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// line is one complete line of a journal.
type line struct {
	no    int
	e     Entry
	seq   uint64
	body  []byte
	mac   string // "": written unsealed, by an older securesend
	plain bool
}

// sealedLine is what a sealed line holds besides its MAC.
type sealedLine struct {
	Seq uint64 `json:"seq"`
	Entry
}

// readLines reads f's complete lines and returns them with the length of
// the good part: a torn last line (a crash while it was written: it was
// never flushed) is left out. A damaged line before it is a
// *CorruptError.
func readLines(f *os.File, path string) ([]line, int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("delivery journal: %w", err)
	}
	r := bufio.NewReader(f)
	var (
		out  []line
		good int64
	)
	for no := 1; ; no++ {
		b, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// A last line without its newline was never completed.
			return out, good, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("delivery journal: %w", err)
		}
		l := line{no: no}
		t := bytes.TrimSpace(b)
		var jerr error
		if body, mac, ok := splitMAC(t); ok {
			var sl sealedLine
			jerr = json.Unmarshal(body, &sl)
			l.e, l.seq, l.body, l.mac = sl.Entry, sl.Seq, body, mac
		} else {
			jerr = json.Unmarshal(t, &l.e)
			l.plain = true
		}
		if jerr != nil || l.e.Key == "" {
			if jerr == nil {
				jerr = errors.New("no key")
			}
			if _, perr := r.Peek(1); errors.Is(perr, io.EOF) {
				return out, good, nil // the torn last line
			}
			return nil, 0, &CorruptError{Path: path, Line: no, Err: jerr}
		}
		out = append(out, l)
		good += int64(len(b))
	}
}

// load reads and verifies the records, drops a torn last line and
// positions the file after the good ones.
func (j *Journal) load(migrating bool) error {
	lines, good, err := readLines(j.f, j.path)
	if err != nil {
		return err
	}
	prev, before := "", ""
	for i, l := range lines {
		if l.plain {
			return &SealError{Path: j.path, Line: l.no, Reason: "the line has no MAC, though this home's journals are sealed: written by someone without the keychain's key (or an older copy put back)"}
		}
		if l.seq != uint64(i+1) {
			return &SealError{Path: j.path, Line: l.no, Reason: fmt.Sprintf("the line is number %d where %d was expected: lines were reordered, removed or copied in", l.seq, i+1)}
		}
		if !hmac.Equal([]byte(l.mac), []byte(j.seal.mac(l.seq, prev, l.body))) {
			return &SealError{Path: j.path, Line: l.no, Reason: "the line's MAC does not verify: written or changed by someone without the keychain's key, copied from another journal, or out of its place"}
		}
		before, prev = prev, l.mac
	}
	n := uint64(len(lines))
	h, hasHead, err := j.seal.readHead()
	if err != nil {
		return err
	}
	switch {
	case hasHead && h.seq == n && h.mac == prev:
	case hasHead && h.seq+1 == n && h.mac == before:
		// A crash after the last line was flushed and before the head
		// moved: the line authenticates and links to the head.
		if err := j.seal.setHead(head{n, prev}); err != nil {
			return err
		}
	case !hasHead && (n <= 1 || migrating):
		// New (a crash may have come before its first head), or just
		// rewritten sealed by the migration. An empty journal is
		// anchored too (head 0), so that deleting it is not taken for a
		// destination never watched (Created), whose documents already
		// in the inbox are skipped.
		if err := j.seal.setHead(head{n, prev}); err != nil {
			return err
		}
	case hasHead && h.seq > n:
		return &SealError{Path: j.path, Reason: fmt.Sprintf("it has %d lines but the keychain records %d: lines were cut off its end (truncated, removed, or an older copy put back)", n, h.seq)}
	case !hasHead:
		return &SealError{Path: j.path, Reason: "the keychain holds no head for it: the file was put there from elsewhere, or its anchor was removed"}
	default:
		return &SealError{Path: j.path, Reason: fmt.Sprintf("it does not end where the keychain records (line %d): replaced by another or an older copy", h.seq)}
	}
	if hasHead {
		// Watched before: an empty file in its place is not new.
		j.created = false
	}
	for _, l := range lines {
		j.note(l.e)
	}
	j.seq, j.last = n, prev
	// Drop a torn last record and append after the good ones.
	if err := j.f.Truncate(good); err != nil {
		return fmt.Errorf("delivery journal: %w", err)
	}
	if _, err := j.f.Seek(good, io.SeekStart); err != nil {
		return fmt.Errorf("delivery journal: %w", err)
	}
	return nil
}

// migrateDir seals every journal an older securesend left unsealed in
// dir (held is the one whose lock the caller has), then marks the home
// sealed.
func migrateDir(dir, held string, kc *keychain.Keychain, key []byte) error {
	paths, err := filepath.Glob(filepath.Join(dir, "*.journal"))
	if err != nil {
		return fmt.Errorf("delivery journal: %w", err)
	}
	for _, p := range paths {
		if err := migrateOne(p, p == held, kc, key); err != nil {
			return err
		}
	}
	if err := kc.Set(SealedName, "1"); err != nil {
		return fmt.Errorf("delivery journal: %w", err)
	}
	return nil
}

// migrateOne rewrites the journal at path sealed, when every line of it
// is unsealed: it is trusted as it is, as the securesend that wrote it
// did, so that nothing it records is delivered again.
func migrateOne(path string, held bool, kc *keychain.Keychain, key []byte) error {
	if !held {
		release, err := tryLock(path + ".lock")
		if err != nil {
			return fmt.Errorf("sealing the delivery journals: %w", err)
		}
		defer release()
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("delivery journal: %w", err)
	}
	lines, _, err := readLines(f, path)
	f.Close()
	if err != nil {
		return err
	}
	s := &sealer{kc: kc, key: key, name: filepath.Base(path)}
	if len(lines) == 0 {
		return nil
	}
	if !lines[0].plain {
		// Sealed by a migration a crash interrupted, perhaps before its
		// head was stored: verified and anchored now, while the home is
		// not marked sealed and a missing head is still expected.
		j, err := open(path, s, true)
		if err != nil {
			return err
		}
		return j.f.Close()
	}
	var (
		out  []byte
		prev string
	)
	for i, l := range lines {
		if !l.plain {
			return &SealError{Path: path, Line: l.no, Reason: "sealed and unsealed lines are mixed"}
		}
		body, err := json.Marshal(sealedLine{Seq: uint64(i + 1), Entry: l.e})
		if err != nil {
			return fmt.Errorf("delivery journal: %w", err)
		}
		sealed, mac := s.seal(uint64(i+1), prev, body)
		prev = mac
		out = append(out, sealed...)
	}
	if err := atomicfile.WriteFile(path, out); err != nil {
		return fmt.Errorf("delivery journal: seal %s: %w", path, err)
	}
	return s.setHead(head{uint64(len(lines)), prev})
}

func (j *Journal) note(e Entry) {
	if _, ok := j.latest[e.Key]; !ok {
		j.order = append(j.order, e.Key)
	}
	j.latest[e.Key] = e
}

// Created reports whether Open created the journal: the destination was
// never watched before (neither the file nor its keychain anchor existed;
// a deleted empty journal is not new).
func (j *Journal) Created() bool { return j.created }

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Lookup returns the latest entry for key.
func (j *Journal) Lookup(key string) (Entry, bool) {
	e, ok := j.latest[key]
	return e, ok
}

// Entries returns the latest entry of every key, in the order the keys
// were first recorded.
func (j *Journal) Entries() []Entry {
	out := make([]Entry, 0, len(j.order))
	for _, k := range j.order {
		out = append(out, j.latest[k])
	}
	return out
}

// Record appends e and flushes it to disk before returning: once Record
// returns nil, e survives a crash.
func (j *Journal) Record(e Entry) error {
	if e.Key == "" {
		return errors.New("delivery journal: a record needs a key")
	}
	body, err := json.Marshal(sealedLine{Seq: j.seq + 1, Entry: e})
	if err != nil {
		return fmt.Errorf("delivery journal: %w", err)
	}
	b, mac := j.seal.seal(j.seq+1, j.last, body)
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("delivery journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("delivery journal %s: %w", j.path, err)
	}
	j.seq++
	j.last = mac
	j.note(e)
	// The line is in the file: Open accepts one line past the head.
	return j.seal.setHead(head{j.seq, j.last})
}

// Close closes the journal and releases its lock.
func (j *Journal) Close() error {
	err := j.f.Close()
	if j.release != nil {
		j.release()
		j.release = nil
	}
	return err
}
