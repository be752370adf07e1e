package receive

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/securesend/securesend/internal/atomicfile"
)

// MaxFetchAttempts is how many times a message that cannot be fetched,
// verified or stored is tried before the fetch gives up on it (its
// Failure then has GaveUp set and stays listed for the user).
const MaxFetchAttempts = 3

// Failure records a message that could not be fetched, verified or stored,
// so that fetching can move on past it and the user can see it.
type Failure struct {
	// Source is the message on the server.
	Source Source `json:"source"`
	// Stage is what failed last: "fetch", "verify" or "store".
	Stage string `json:"stage"`
	// Error is the last error, as given (it may quote the message or
	// the server: front ends make it safe for display).
	Error string `json:"error"`
	// Attempts counts the failed attempts.
	Attempts int `json:"attempts"`
	// First and Last are the times of the first and the last failure.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// GaveUp is true once Attempts reached MaxFetchAttempts.
	GaveUp bool `json:"gave_up"`
	// QuarantinedSHA256 is the hash of the raw message kept in
	// quarantine by the last attempt (see OpenQuarantined), if any.
	QuarantinedSHA256 string `json:"quarantined_sha256,omitempty"`
}

// maxFailureError bounds the error text kept in a failure record.
const maxFailureError = 4 << 10

// RecordFailure records one more failed attempt at the message src, at
// stage ("fetch", "verify" or "store"), with cause, and returns the
// record: Attempts counts the attempts, GaveUp is set when they reach
// MaxFetchAttempts. The record is on disk when RecordFailure returns. The
// error text is kept as given, cut to 4 KiB.
func (s *Store) RecordFailure(src Source, stage string, cause error) (Failure, error) {
	if cause == nil {
		return Failure{}, errors.New("inbox: RecordFailure without an error")
	}
	idx, release, err := s.lockFresh()
	if err != nil {
		return Failure{}, err
	}
	defer release()
	now := s.now().UTC()
	f, ok := idx.failures[src]
	if !ok {
		f = Failure{Source: src, First: now}
	}
	f.Stage = stage
	f.Error = truncateUTF8(cause.Error(), maxFailureError)
	f.Attempts++
	f.Last = now
	f.GaveUp = f.Attempts >= MaxFetchAttempts
	var ce *CommitError
	if errors.As(cause, &ce) && ce.Quarantined && ce.Source == src {
		f.QuarantinedSHA256 = ce.RawSHA256
	}
	if err := s.append(true, logRecord{Op: opFailure, Failure: &f}); err != nil {
		return Failure{}, err
	}
	return f, nil
}

// Failures returns the failure records, oldest first.
func (s *Store) Failures() ([]Failure, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.refresh()
	if err != nil {
		return nil, err
	}
	out := make([]Failure, 0, len(idx.failures))
	for _, f := range idx.failures {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Failure) int {
		return cmp.Or(a.First.Compare(b.First), cmp.Compare(a.Source.Account, b.Source.Account),
			cmp.Compare(a.Source.Mailbox, b.Source.Mailbox), cmp.Compare(a.Source.UIDValidity, b.Source.UIDValidity),
			cmp.Compare(a.Source.UID, b.Source.UID))
	})
	return out, nil
}

// ClearFailure removes the failure record of src and the quarantined copy
// of its message, if any. Clearing what is not recorded is not an error.
// Commit clears the record itself when the message is stored.
func (s *Store) ClearFailure(src Source) error {
	idx, release, err := s.lockFresh()
	if err != nil {
		return err
	}
	defer release()
	if _, ok := idx.failures[src]; ok {
		if err := s.append(true, logRecord{Op: opClearFailure, Source: &src}); err != nil {
			return err
		}
	}
	s.removeQuarantined(src)
	return nil
}

// OpenQuarantined returns a reader of the raw message of src that Commit
// kept after it failed (see CommitError), for forensics or export. Like
// every file of the store it is encrypted at rest; the reader fails with
// atrest.ErrTampered if the file was altered, or, when src's failure
// record holds the message's hash (RecordFailure given the CommitError),
// at its end if the file is another message (a quarantine file swapped).
// Nothing in it was verified.
func (s *Store) OpenQuarantined(src Source) (io.ReadCloser, error) {
	s.mu.Lock()
	idx, err := s.refresh()
	var want string
	if err == nil {
		want = idx.failures[src].QuarantinedSHA256
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	r, err := s.openEncrypted(s.quarantinePath(src))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("inbox: no quarantined message for %s: %w", describeSource(src), ErrNoItem)
	}
	if err != nil || want == "" {
		return r, err
	}
	return newHashCheck(r, want, -1, "the quarantined message"), nil
}

// quarantinePath is the file of the quarantined raw message of src.
func (s *Store) quarantinePath(src Source) string {
	h := sha256.Sum256([]byte(src.Account + "\x00" + src.Mailbox + "\x00" +
		strconv.FormatUint(uint64(src.UIDValidity), 10) + "\x00" + strconv.FormatUint(uint64(src.UID), 10)))
	return filepath.Join(s.dir, "quarantine", hex.EncodeToString(h[:16])+".eml.enc")
}

// quarantine moves the staged raw message to the quarantine, replacing an
// earlier copy for src, durably. The write lock is held.
func (s *Store) quarantine(st *Staged, src Source) error {
	dir := filepath.Join(s.dir, "quarantine")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(st.dir, "message.eml.enc"), s.quarantinePath(src)); err != nil {
		return err
	}
	return atomicfile.SyncDir(dir)
}

func (s *Store) removeQuarantined(src Source) {
	os.Remove(s.quarantinePath(src))
}

func describeSource(src Source) string {
	if src.UID == 0 {
		return src.Account
	}
	return fmt.Sprintf("%s %s UID %d", src.Account, src.Mailbox, src.UID)
}

// truncateUTF8 cuts s to at most n bytes, at a character boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
