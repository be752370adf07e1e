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
package deliverjournal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

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
}

// Open opens the journal at path, creating it (mode 0600, the directory
// 0700) when missing, and locks it (ErrLocked when another process holds
// it). A torn last line is dropped.
func Open(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	release, err := tryLock(path + ".lock")
	if err != nil {
		return nil, err
	}
	j, err := open(path)
	if err != nil {
		release()
		return nil, err
	}
	j.release = release
	return j, nil
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

func open(path string) (*Journal, error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	if created {
		if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, fmt.Errorf("delivery journal: %w", err)
		}
	}
	j := &Journal{path: path, f: f, latest: map[string]Entry{}, created: created}
	good, err := j.load()
	if err != nil {
		f.Close()
		return nil, err
	}
	// Drop a torn last record and append after the good ones.
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("delivery journal: %w", err)
	}
	return j, nil
}

// load reads the records and returns the length of the good part.
func (j *Journal) load() (int64, error) {
	r := bufio.NewReader(j.f)
	var good int64
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// A last line without its newline was never completed.
			return good, nil
		}
		if err != nil {
			return 0, fmt.Errorf("delivery journal: %w", err)
		}
		var e Entry
		if jerr := json.Unmarshal(bytes.TrimSpace(b), &e); jerr != nil || e.Key == "" {
			if jerr == nil {
				jerr = errors.New("no key")
			}
			if _, perr := r.Peek(1); errors.Is(perr, io.EOF) {
				return good, nil // the torn last line
			}
			return 0, &CorruptError{Path: j.path, Line: line, Err: jerr}
		}
		j.note(e)
		good += int64(len(b))
	}
}

func (j *Journal) note(e Entry) {
	if _, ok := j.latest[e.Key]; !ok {
		j.order = append(j.order, e.Key)
	}
	j.latest[e.Key] = e
}

// Created reports whether Open created the journal: the destination was
// never watched before.
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
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("delivery journal: %w", err)
	}
	b = append(b, '\n')
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("delivery journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("delivery journal %s: %w", j.path, err)
	}
	j.note(e)
	return nil
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
