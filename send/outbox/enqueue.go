package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/send"
)

// ComposeFunc writes the complete RFC 5322 message (already signed and
// encrypted when it is) to w and describes its documents, e.g.
//
//	func(w io.Writer) ([]send.DocumentInfo, error) { return send.Compose(w, msg) }
type ComposeFunc func(w io.Writer) ([]send.DocumentInfo, error)

// Enqueue composes the message straight into an encrypted file in the
// outbox and records the job as queued, due now. Only when it returns
// without error is the job durable; on error nothing is left behind and
// the caller's documents are untouched (they are only read). No network
// I/O happens here; call Deliver or RunDue next.
func (o *Outbox) Enqueue(ctx context.Context, job Job, compose ComposeFunc) (string, error) {
	if job.MessageID == "" {
		return "", errors.New("outbox: the job has no Message-ID (see send.NewMessageID)")
	}
	if job.Envelope.From == "" || len(job.Envelope.To) == 0 {
		return "", errors.New("outbox: the job needs a sender and at least one recipient")
	}
	for _, a := range append([]string{job.Envelope.From}, job.Envelope.To...) {
		if a == "" || strings.ContainsAny(a, "\r\n<> \t") {
			return "", fmt.Errorf("outbox: envelope address %q is not valid", a)
		}
	}
	if err := boundNote(&job); err != nil {
		return "", err
	}
	if s := job.Supersedes; s != nil && (s.MessageID == "" || (s.Kind != manifest.Replace && s.Kind != manifest.Cancel)) {
		return "", fmt.Errorf("outbox: the job supersedes %q as %q: it needs the original's Message-ID and the kind replace or cancel", s.MessageID, s.Kind)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("outbox: %w", err)
	}
	id, err := newID()
	if err != nil {
		return "", err
	}
	var docs []send.DocumentInfo
	var size int64
	sum := sha256.New()
	err = o.writeFile(id+msgExt, func(w io.Writer) error {
		cw := &countingWriter{w: io.MultiWriter(w, sum), ctx: ctx}
		var cerr error
		docs, cerr = compose(cw)
		if cerr != nil {
			return fmt.Errorf("outbox: compose: %w", cerr)
		}
		size = cw.n
		return nil
	})
	if errors.Is(err, syscall.ENOSPC) {
		return "", diskFullError{err}
	}
	if err != nil {
		return "", err
	}
	now := o.now().UTC()
	rec := &Record{
		ID: id, Job: job, Documents: docs, Size: size, MessageSHA256: hex.EncodeToString(sum.Sum(nil)), State: Queued,
		Created: now, Since: now, NextAttempt: now,
	}
	unlock, err := o.lockDir()
	if err != nil {
		o.discard(id)
		return "", err
	}
	defer unlock()
	if err := o.save(rec); err != nil {
		o.discard(id)
		return "", err
	}
	if err := o.audit(rec, eventQueued); err != nil {
		// A send that cannot be audited does not happen.
		o.discard(id)
		return "", err
	}
	o.notify(rec)
	return id, nil
}

// boundNote checks job's note and keeps at most MaxNote bytes of it, cut
// between characters, setting NoteCut when it cut.
func boundNote(job *Job) error {
	if !utf8.ValidString(job.Note) {
		return errors.New("outbox: the note is not valid UTF-8 text")
	}
	if len(job.Note) <= MaxNote {
		return nil
	}
	n := MaxNote
	for n > 0 && !utf8.RuneStart(job.Note[n]) {
		n--
	}
	job.Note, job.NoteCut = job.Note[:n], true
	return nil
}

// discard removes a job's files after a failed Enqueue.
func (o *Outbox) discard(id string) {
	os.Remove(o.jobPath(id))
	os.Remove(o.msgPath(id))
	_ = o.syncDir()
}

// countingWriter counts bytes and stops writing when ctx is done.
type countingWriter struct {
	w   io.Writer
	ctx context.Context
	n   int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// diskFullError says only ErrDiskFull's plain words (the underlying error
// names file paths) but matches both.
type diskFullError struct{ err error }

func (e diskFullError) Error() string   { return ErrDiskFull.Error() }
func (e diskFullError) Unwrap() []error { return []error{ErrDiskFull, e.err} }
