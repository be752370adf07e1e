package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/internal/filelock"
)

// Defaults for Options.
const (
	// DefaultMaxAge is how long a job is retried before it fails. It is
	// shorter than a mail server's days: a clinician must learn the same
	// day that a prescription did not go.
	DefaultMaxAge = 24 * time.Hour
	// DefaultInitialBackoff is the delay after the first temporary failure.
	DefaultInitialBackoff = time.Minute
	// DefaultMaxBackoff caps the delay between attempts.
	DefaultMaxBackoff = 30 * time.Minute
)

var (
	// ErrNotFound means there is no job with that id.
	ErrNotFound = errors.New("outbox: no such job")
	// ErrBusy means another process (or goroutine) is delivering the job
	// right now.
	ErrBusy = errors.New("outbox: the job is being sent right now")
	// ErrNeedsConfirmation means the job may already have been delivered;
	// it is resent only after ConfirmResend.
	ErrNeedsConfirmation = errors.New("outbox: the message may already have been delivered; check with the recipient, then confirm the resend")
	// ErrState means the operation does not apply to the job's state.
	ErrState = errors.New("outbox: not possible in the job's state")
	// ErrExpired means the job was not delivered within MaxAge and has
	// failed.
	ErrExpired = errors.New("outbox: the message could not be delivered in time and has failed")
	// ErrWrongKey means the outbox was encrypted with another key than the
	// one given (the keychain entry was replaced or belongs to another
	// home).
	ErrWrongKey = errors.New("outbox: the outbox was encrypted with a different key than the one in the keychain, so it cannot be read")
	// ErrDiskFull means the disk is full; nothing was queued.
	ErrDiskFull = errors.New("outbox: not enough disk space to queue the message; free some space and send again (the documents are unchanged)")
	// ErrAudit means the audit log could not be written.
	ErrAudit = errors.New("outbox: the audit log could not be written")
)

// Options tune an Outbox. The zero value is ready to use.
type Options struct {
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Backoff is the retry schedule after temporary failures.
	Backoff Backoff
	// MaxAge is how long after being queued (or retried) a job that keeps
	// failing temporarily fails for good; DefaultMaxAge when zero.
	MaxAge time.Duration
	// AutoResend, set by policy, resends possibly-sent jobs without asking.
	// Receivers de-duplicate by Message-ID and document hash.
	AutoResend bool
	// Audit, when non-nil, receives send.* events.
	Audit *audit.Log
	// Notify, when non-nil, is called after every state change with the
	// new record (GUI progress, "securesend send" waiting for its job),
	// outside the outbox's locks, from the goroutine that made the change.
	Notify func(Record)
	// AfterSubmit, when non-nil, is called when the SubmitFunc has
	// returned and before the outcome is recorded: a seam for crash tests.
	AfterSubmit func(id string, err error)
}

// Backoff is an exponential retry schedule: Initial after the first
// failure, doubling after each further one, never more than Max.
type Backoff struct {
	// Initial is DefaultInitialBackoff when zero.
	Initial time.Duration
	// Max is DefaultMaxBackoff when zero.
	Max time.Duration
}

// Delay is the wait after the attempt-th failed attempt (1-based).
func (b Backoff) Delay(attempt int) time.Duration {
	d, limit := b.Initial, b.Max
	if d <= 0 {
		d = DefaultInitialBackoff
	}
	if limit <= 0 {
		limit = DefaultMaxBackoff
	}
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Outbox is an open outbox directory. It is safe for concurrent use, and
// several processes may open the same directory.
type Outbox struct {
	dir     string
	key     []byte
	opts    Options
	now     func() time.Time
	dirLock *filelock.Mutex // serialises metadata changes in this process and the others

	pending []Record // notifications to send when the directory lock is released; guarded by dirLock
}

// keyCheckName holds a known plaintext encrypted with the outbox key, so a
// wrong key is reported at Open, not as a damaged job later.
const (
	keyCheckName = "key-check"
	keyCheckText = "securesend outbox v1"
	lockName     = ".lock"
	msgExt       = ".msg"
	jobExt       = ".job"
	tmpPrefix    = ".tmp-"
)

// Open opens (creating, mode 0700) the outbox in dir, encrypted with key
// (32 bytes; keychain.Key("outbox")). An existing dir is made 0700
// whatever its mode was: it holds patient data.
func Open(dir string, key []byte, opts Options) (*Outbox, error) {
	if len(key) != atrest.KeySize {
		return nil, fmt.Errorf("outbox: %w", atrest.ErrKeySize)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: create %s: %w", dir, err)
	}
	if err := makePrivate(dir); err != nil {
		return nil, err
	}
	o := &Outbox{dir: dir, key: bytes.Clone(key), opts: opts, now: opts.Now, dirLock: &filelock.Mutex{Path: filepath.Join(dir, lockName)}}
	if o.now == nil {
		o.now = time.Now
	}
	unlock, err := o.lockDir()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := o.checkKey(); err != nil {
		return nil, err
	}
	o.removeLeftovers()
	return o, nil
}

// Dir is the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

// checkKey creates the key-check file, or decrypts it.
func (o *Outbox) checkKey() error {
	path := filepath.Join(o.dir, keyCheckName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return o.writeFile(keyCheckName, func(w io.Writer) error {
			_, err := io.WriteString(w, keyCheckText)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer f.Close()
	var got bytes.Buffer
	if err := o.decryptTo(&got, f); err != nil {
		return err
	}
	if got.String() != keyCheckText {
		return fmt.Errorf("outbox: %s is not an outbox key check", path)
	}
	return nil
}

// decryptTo copies the plaintext of r to w, mapping a wrong key to
// ErrWrongKey.
func (o *Outbox) decryptTo(w io.Writer, r io.Reader) error {
	pr, err := o.decrypt(r)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, pr); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

func (o *Outbox) decrypt(r io.Reader) (io.Reader, error) {
	pr, err := atrest.Decrypt(r, o.key)
	if errors.Is(err, atrest.ErrWrongKey) {
		return nil, ErrWrongKey
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return pr, nil
}

// removeLeftovers deletes what a crash can leave behind, once it is more
// than an hour old (younger files may belong to a writer in another
// process): temporary files, and messages whose job record was never
// written (Enqueue did not return, so no one knows their id).
func (o *Outbox) removeLeftovers() {
	ents, err := os.ReadDir(o.dir)
	if err != nil {
		return
	}
	old := func(e os.DirEntry) bool {
		info, err := e.Info()
		return err == nil && time.Since(info.ModTime()) > time.Hour
	}
	for _, e := range ents {
		name := e.Name()
		id, isMsg := strings.CutSuffix(name, msgExt)
		orphan := isMsg && validID(id) && !exists(o.jobPath(id))
		if (strings.HasPrefix(name, tmpPrefix) || orphan) && old(e) {
			os.Remove(filepath.Join(o.dir, name))
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
