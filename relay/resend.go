package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/securesend/securesend/internal/atomicfile"
)

// Defaults of ResendOptions.
const (
	// DefaultResendWindow: the same documents to the same recipients from
	// the same device within this time are the same scan sent again.
	DefaultResendWindow = 10 * time.Minute
	// DefaultResendKeep: how long a queued message's Message-ID is
	// remembered.
	DefaultResendKeep = 24 * time.Hour
	// DefaultResendMax bounds the messages remembered (the oldest are
	// forgotten first).
	DefaultResendMax = 10000
)

// ResendOptions configure a Resends.
type ResendOptions struct {
	// Window is how long the same documents to the same recipients from
	// the same device count as a resend (DefaultResendWindow).
	Window time.Duration
	// Keep is how long a Message-ID is remembered (DefaultResendKeep; at
	// least Window).
	Keep time.Duration
	// Max bounds the messages remembered (DefaultResendMax).
	Max int
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Resends remembers, durably, the messages the relay queued, so that a
// device that did not see the 250 (a timeout, a dropped connection) and
// sends the same scan again gets 250 without a second job: the same
// Message-ID from the same device, or the same documents (SHA-256) to the
// same recipients from the same device within the window.
//
// The file is JSON lines, each flushed to disk before the call returns,
// rewritten without what is forgotten when it is opened and when it
// grows past twice Max lines. A message is recorded as pending before it
// is handed to the Submitter and as queued (with its job) after: a
// pending one left by a crash is settled by asking the Submitter
// (JobFinder) whether its job was queued.
type Resends struct {
	path string
	opts ResendOptions

	mu      sync.Mutex
	f       *os.File
	lines   int
	entries map[string]*resendEntry // by entry id
	devices map[string]*sync.Mutex  // one message at a time per device
}

// resendEntry is one remembered message (one line of the file; a later
// line with the same ID replaces an earlier one, Forget removes it).
type resendEntry struct {
	ID        string    `json:"id"`
	Device    string    `json:"device"`
	MessageID string    `json:"message_id,omitempty"`
	To        []string  `json:"to,omitempty"`
	SHA256    []string  `json:"sha256,omitempty"`
	Job       string    `json:"job,omitempty"` // "" while pending
	Time      time.Time `json:"time"`
	Forget    bool      `json:"forget,omitempty"`
}

// ResendKey is what makes a message the same as an earlier one.
type ResendKey struct {
	Device    string
	MessageID string
	// To are the resolved recipients' addresses, SHA256 the documents'
	// hashes (any order).
	To     []string
	SHA256 []string
}

func (k ResendKey) normal() ResendKey {
	to := make([]string, len(k.To))
	for i, a := range k.To {
		to[i] = strings.ToLower(strings.TrimSpace(a))
	}
	slices.Sort(to)
	sums := slices.Clone(k.SHA256)
	slices.Sort(sums)
	return ResendKey{Device: k.Device, MessageID: strings.TrimSpace(k.MessageID), To: to, SHA256: sums}
}

// Earlier is the earlier copy of a message sent again.
type Earlier struct {
	// Job is its job; "" when a crash interrupted it before it was
	// recorded as queued (Pending).
	Job string
	// Time is when it was received.
	Time time.Time
	// ByMessageID reports that the Message-ID matched (else the documents
	// and recipients did).
	ByMessageID bool
	id          string
}

// Pending reports whether the earlier copy was being queued when the
// relay stopped: whether it reached the outbox is unknown.
func (e *Earlier) Pending() bool { return e.Job == "" }

// JobFinder is implemented by a Submitter that can say whether a message
// was queued (a crash between queueing and recording it). FindJob returns
// the id of a job queued at or after since to exactly those recipients
// with exactly those documents, or "".
type JobFinder interface {
	FindJob(ctx context.Context, to, sha256 []string, since time.Time) (jobID string, err error)
}

// OpenResends opens (creating) the record at path, under an exclusive
// relay lock held by the caller (only one relay per home).
func OpenResends(path string, opts ResendOptions) (*Resends, error) {
	if opts.Window <= 0 {
		opts.Window = DefaultResendWindow
	}
	if opts.Keep <= 0 {
		opts.Keep = DefaultResendKeep
	}
	opts.Keep = max(opts.Keep, opts.Window)
	if opts.Max <= 0 {
		opts.Max = DefaultResendMax
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Resends{path: path, opts: opts, entries: map[string]*resendEntry{}, devices: map[string]*sync.Mutex{}}
	if err := r.load(); err != nil {
		return nil, err
	}
	if err := r.compact(); err != nil {
		return nil, err
	}
	return r, nil
}

// load reads the file; a torn last line (a crash while writing it) is
// dropped, a damaged line elsewhere is an error.
func (r *Resends) load() error {
	data, err := os.ReadFile(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("relay: resend record: %w", err)
	}
	lines := bytes.Split(data, []byte("\n"))
	for n, line := range lines {
		if len(line) == 0 {
			continue
		}
		var e resendEntry
		if err := json.Unmarshal(line, &e); err != nil || e.ID == "" {
			if n == len(lines)-1 {
				break // a torn last line: a crash while writing it
			}
			return fmt.Errorf("relay: resend record %s: line %d is damaged; move it aside to start afresh (a scan sent again within %s may then be queued twice)", r.path, n+1, r.opts.Window)
		}
		r.note(&e)
	}
	return nil
}

func (r *Resends) note(e *resendEntry) {
	if e.Forget {
		delete(r.entries, e.ID)
		return
	}
	r.entries[e.ID] = e
}

// compact rewrites the file with what is still remembered: within Keep,
// at most Max, newest kept.
func (r *Resends) compact() error {
	now := r.opts.Now()
	keep := make([]*resendEntry, 0, len(r.entries))
	for _, e := range r.entries {
		if now.Sub(e.Time) < r.opts.Keep {
			keep = append(keep, e)
		}
	}
	slices.SortFunc(keep, func(a, b *resendEntry) int { return a.Time.Compare(b.Time) })
	if len(keep) > r.opts.Max {
		keep = keep[len(keep)-r.opts.Max:]
	}
	var buf bytes.Buffer
	r.entries = map[string]*resendEntry{}
	for _, e := range keep {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		buf.Write(append(b, '\n'))
		r.entries[e.ID] = e
	}
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	if err := atomicfile.WriteFile(r.path, buf.Bytes()); err != nil {
		return fmt.Errorf("relay: resend record: %w", err)
	}
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("relay: resend record: %w", err)
	}
	r.f, r.lines = f, len(keep)
	return nil
}

// append writes e as one line, flushed, and notes it.
func (r *Resends) append(e resendEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return errors.New("relay: resend record is closed")
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := r.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("relay: resend record: %w", err)
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("relay: resend record: %w", err)
	}
	r.note(&e)
	if r.lines++; r.lines > 2*r.opts.Max {
		return r.compact()
	}
	return nil
}

// Close closes the file.
func (r *Resends) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// lockDevice serialises the messages of one device, so that a resend
// arriving while the first copy is still being queued waits for it.
func (r *Resends) lockDevice(device string) func() {
	r.mu.Lock()
	m := r.devices[device]
	if m == nil {
		m = &sync.Mutex{}
		r.devices[device] = m
	}
	r.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// find returns the earlier copy of k, or nil.
func (r *Resends) find(k ResendKey) *Earlier {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	var best *resendEntry
	byID := false
	for _, e := range r.entries {
		if e.Device != k.Device || now.Sub(e.Time) >= r.opts.Keep {
			continue
		}
		idMatch := k.MessageID != "" && e.MessageID == k.MessageID
		sameDocs := now.Sub(e.Time) < r.opts.Window && len(k.SHA256) > 0 && slices.Equal(e.To, k.To) && slices.Equal(e.SHA256, k.SHA256)
		if (idMatch || sameDocs) && (best == nil || e.Time.After(best.Time)) {
			best, byID = e, idMatch
		}
	}
	if best == nil {
		return nil
	}
	return &Earlier{Job: best.Job, Time: best.Time, ByMessageID: byID, id: best.ID}
}

// newID is a random entry id.
func newID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// errResendRecord wraps a failure to write the resend record.
type errResendRecord struct{ err error }

func (e *errResendRecord) Error() string { return e.err.Error() }
func (e *errResendRecord) Unwrap() error { return e.err }

// submitOnce queues sub through submit unless it is a resend of a
// message queued before. It returns the job, and the earlier copy when
// sub is a resend (then nothing was queued). A pending earlier copy (a
// crash) counts only when finder says its job was queued.
func (r *Resends) submitOnce(ctx context.Context, k ResendKey, finder JobFinder, submit func() (string, error)) (string, *Earlier, error) {
	k = k.normal()
	unlock := r.lockDevice(k.Device)
	defer unlock()
	if e := r.find(k); e != nil {
		if !e.Pending() {
			return e.Job, e, nil
		}
		if finder != nil {
			job, err := finder.FindJob(ctx, k.To, k.SHA256, e.Time.Add(-time.Second))
			if err != nil {
				return "", nil, err
			}
			if job != "" {
				if err := r.append(resendEntry{ID: e.id, Device: k.Device, MessageID: k.MessageID, To: k.To, SHA256: k.SHA256, Job: job, Time: e.Time}); err != nil {
					return "", nil, &errResendRecord{err}
				}
				e.Job = job
				return job, e, nil
			}
		}
		// The earlier copy never reached the outbox: this one is queued.
	}
	id, err := newID()
	if err != nil {
		return "", nil, err
	}
	pending := resendEntry{ID: id, Device: k.Device, MessageID: k.MessageID, To: k.To, SHA256: k.SHA256, Time: r.opts.Now()}
	if err := r.append(pending); err != nil {
		return "", nil, &errResendRecord{err}
	}
	job, err := submit()
	if err != nil {
		if ferr := r.append(resendEntry{ID: id, Forget: true}); ferr != nil {
			return "", nil, errors.Join(err, &errResendRecord{ferr})
		}
		return "", nil, err
	}
	pending.Job = job
	if err := r.append(pending); err != nil {
		// The job is durable; a resend is settled by the JobFinder.
		return job, nil, &errResendRecord{err}
	}
	return job, nil, nil
}

// ResendPath is the record's file name in the relay's folder.
func ResendPath(dir string) string { return filepath.Join(dir, "resends.jsonl") }

var _ io.Closer = (*Resends)(nil)
