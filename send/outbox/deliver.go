package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/securesend/securesend/send"
)

// SubmitFunc submits an already composed message; send.Submit with the
// account's options bound is one:
//
//	func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
//		return send.Submit(ctx, opts, env, body)
//	}
//
// body is decrypted while it is read. When a Read returns an error other
// than io.EOF, the stored message is damaged: the SubmitFunc must not
// complete the message (send.Submit closes the connection without the
// final "."), and the job fails as damaged whatever it returns.
//
// Failures should be *send.Error values, which say whether they are
// temporary and at which stage they happened; errors wrapping
// send.ErrInvalidMessage or ErrRefused fail the job. Any other error is
// taken to mean that nothing reached the server, and the job is deferred.
//
// The job being delivered is in ctx (JobAccount, JobRecord), so one
// SubmitFunc can serve several stored accounts and check each job against
// the organisation's policy in force now before it connects.
//
// The attempt's commit point is in ctx too (BeforeCommit): a SubmitFunc
// that submits with send.Submit passes it as send.Options.BeforeCommit, so
// that the outbox records, durably, the moment right before the end of
// data; an attempt that dies before that moment is retried automatically
// instead of becoming possibly-sent. For a SubmitFunc that does not take
// it, the end of body (the Read that returns io.EOF) is the commit point.
type SubmitFunc func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error)

// ErrRefused is wrapped by a SubmitFunc's error when it refuses to send the
// job at all, before connecting: the organisation's policy in force at
// delivery forbids it (a recipient's domain, missing encryption, the
// server). The job fails with the error's text as its reason (no retry; the
// message is kept, and Retry queues it again once the cause is fixed).
var ErrRefused = errors.New("refused by your organisation's policy at delivery, so nothing was sent")

// jobKey is the context key of JobRecord and JobAccount.
type jobKey struct{}

// JobAccount returns, inside a SubmitFunc, the Account of the job being
// delivered.
func JobAccount(ctx context.Context) string {
	r, _ := JobRecord(ctx)
	return r.Account
}

// JobRecord returns, inside a SubmitFunc, a copy of the record of the job
// being delivered (its envelope, how it is protected, its documents), so
// that the SubmitFunc can check it against the policy in force now; ok is
// false outside a delivery.
func JobRecord(ctx context.Context) (rec Record, ok bool) {
	r, ok := ctx.Value(jobKey{}).(*Record)
	if !ok {
		return Record{}, false
	}
	rec = *r
	rec.Envelope.To = append([]string(nil), r.Envelope.To...)
	rec.Documents = append([]send.DocumentInfo(nil), r.Documents...)
	rec.EncryptedTo = maps.Clone(r.EncryptedTo)
	rec.Result = nil
	return rec, true
}

// commitKey is the context key of BeforeCommit.
type commitKey struct{}

// BeforeCommit returns, inside a SubmitFunc, the commit point of the
// delivery attempt under way, for send.Options.BeforeCommit: called right
// before the end of data (the final "." or BDAT LAST), after every byte of
// the message was written, it records durably (fsync) that the message may
// from now on have been delivered, and fails if it cannot. A crash before
// it leaves the job to be retried automatically (the server discarded the
// unfinished message); a crash after it, before the outcome is recorded,
// leaves it possibly sent. It is nil outside a delivery. Taking it makes
// the SubmitFunc responsible for calling it before it completes the
// message.
func BeforeCommit(ctx context.Context) func() error {
	ct, ok := ctx.Value(commitKey{}).(*commitPoint)
	if !ok {
		return nil
	}
	ct.mu.Lock()
	ct.taken = true
	ct.mu.Unlock()
	return ct.reach
}

// commitPoint records the commit point of one attempt.
type commitPoint struct {
	o   *Outbox
	rec *Record // the claimed job; touched here only until close

	mu      sync.Mutex
	taken   bool // BeforeCommit was called: the SubmitFunc calls reach
	reached bool
	closed  bool
}

// errAttemptOver: the commit point was reached after the SubmitFunc
// returned.
var errAttemptOver = errors.New("outbox: the delivery attempt is over")

// reach records the commit point once: Committed, saved under the
// directory lock (fsync'd like every state change).
func (c *commitPoint) reach() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return errAttemptOver
	case c.reached:
		return nil
	}
	unlock, err := c.o.lockDir()
	if err != nil {
		return err
	}
	defer unlock()
	c.rec.Committed = c.o.now().UTC()
	if err := c.o.save(c.rec); err != nil {
		c.rec.Committed = time.Time{}
		return err
	}
	c.reached = true
	return nil
}

// atEOF is the commit point of a SubmitFunc that did not take
// BeforeCommit: the whole message has been read, so it may be completed
// from now on.
func (c *commitPoint) atEOF() error {
	c.mu.Lock()
	taken := c.taken
	c.mu.Unlock()
	if taken {
		return nil
	}
	return c.reach()
}

// close ends the attempt: reach fails from now on.
func (c *commitPoint) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// errNotRecorded wraps a failure to record the commit point at the end of
// the body: the SubmitFunc must not complete the message, and the job is
// deferred (nothing was sent).
var errNotRecorded = errors.New("outbox: the moment before completing the message could not be recorded, so it was not completed")

// errNotDue is returned by claim for a job whose time has not come.
var errNotDue = errors.New("outbox: not due")

// Deliver makes one delivery attempt of job id now, whatever its
// NextAttempt, and records the outcome. It returns the updated record
// (also on error, when the job exists) and, when the job was not sent,
// an error: the SubmitFunc's error (errors.Is(err, send.ErrTemporary)
// tells a deferral) or ErrNeedsConfirmation, ErrBusy, ErrState,
// ErrExpired. A job accepted for some recipients only is sent (resending
// would duplicate it for the others) and the error wraps
// send.ErrRecipientsRejected.
func (o *Outbox) Deliver(ctx context.Context, id string, submit SubmitFunc) (*Record, error) {
	rec, release, err := o.claim(id, false)
	if err != nil {
		return rec, err
	}
	defer release()
	return o.attempt(ctx, rec, submit)
}

// RunDue delivers every job that is due (queued, deferred whose
// NextAttempt has come, possibly-sent when confirmed or allowed by
// policy), one after the other, oldest first, and fails deferred jobs
// older than MaxAge. It skips jobs another process is delivering. It
// returns the records it changed; a delivery failure of one job is in its
// record, not in the error, which is only for failures of the outbox
// itself.
func (o *Outbox) RunDue(ctx context.Context, submit SubmitFunc) ([]*Record, error) {
	recs, err := o.List()
	if err != nil {
		return nil, err
	}
	var changed []*Record
	var errs []error
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return changed, err
		}
		if r.Done() {
			continue
		}
		rec, release, err := o.claim(r.ID, true)
		switch {
		case errors.Is(err, ErrExpired):
			changed = append(changed, rec)
			continue
		case errors.Is(err, errNotDue), errors.Is(err, ErrBusy), errors.Is(err, ErrNeedsConfirmation),
			errors.Is(err, ErrState), errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		rec, err = o.attempt(ctx, rec, submit)
		release()
		changed = append(changed, rec)
		if errors.Is(err, ErrAudit) {
			errs = append(errs, err)
		}
	}
	return changed, errors.Join(errs...)
}

// NextDue returns the earliest NextAttempt among queued and deferred jobs;
// ok is false when none is waiting.
func (o *Outbox) NextDue() (t time.Time, ok bool, err error) {
	recs, err := o.List()
	if err != nil {
		return time.Time{}, false, err
	}
	for _, r := range recs {
		if r.State != Queued && r.State != Deferred {
			continue
		}
		if !ok || r.NextAttempt.Before(t) {
			t, ok = r.NextAttempt, true
		}
	}
	return t, ok, nil
}

// Watch runs RunDue until ctx is done: at once, then whenever the next job
// is due, and at least every poll (for jobs enqueued by other processes;
// one minute when zero). Errors of single rounds go to report (if non-nil)
// and do not stop it.
func (o *Outbox) Watch(ctx context.Context, submit SubmitFunc, poll time.Duration, report func(error)) error {
	if poll <= 0 {
		poll = time.Minute
	}
	for {
		if _, err := o.RunDue(ctx, submit); err != nil && report != nil && ctx.Err() == nil {
			report(err)
		}
		wait := poll
		if next, ok, err := o.NextDue(); err == nil && ok {
			wait = min(poll, max(next.Sub(o.now()), time.Second))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// claim checks that job id may be attempted now, takes its delivery lock
// and records it as sending. With due set, a job whose NextAttempt has not
// come is refused with errNotDue.
func (o *Outbox) claim(id string, due bool) (*Record, func(), error) {
	unlock, err := o.lockDir()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	rec, err := o.load(id)
	if err != nil {
		return nil, nil, err
	}
	release, ok, err := o.tryLockMsg(id)
	if err != nil {
		return rec, nil, err
	}
	if !ok {
		return rec, nil, ErrBusy
	}
	fail := func(err error) (*Record, func(), error) {
		release()
		return rec, nil, err
	}
	if err := o.recoverInterrupted(rec); err != nil {
		return fail(err)
	}
	now := o.now().UTC()
	switch rec.State {
	case Queued, Deferred:
	case PossiblySent:
		if !rec.ResendConfirmed && !o.opts.AutoResend {
			return fail(ErrNeedsConfirmation)
		}
	default:
		return fail(fmt.Errorf("%w: the job is %s", ErrState, rec.State))
	}
	if rec.Attempts > 0 && now.Sub(rec.Since) >= o.maxAge() {
		reason := fmt.Sprintf("not delivered within %s after %d attempts", o.maxAge(), rec.Attempts)
		if rec.LastError != "" {
			reason += "; last error: " + rec.LastError
		}
		reason = BoundError(reason)
		rec.State, rec.LastError, rec.NextAttempt = Failed, reason, time.Time{}
		if err := o.save(rec); err != nil {
			return fail(err)
		}
		o.notify(rec)
		if err := o.audit(rec, eventFailed); err != nil {
			return fail(err)
		}
		return fail(fmt.Errorf("%w: %s", ErrExpired, reason))
	}
	if due && now.Before(rec.NextAttempt) {
		return fail(errNotDue)
	}
	// Log the attempt before making it: a send that cannot be audited does
	// not happen.
	prevState, prevAttempt := rec.State, rec.LastAttempt
	rec.Attempts++
	rec.State, rec.LastAttempt = Sending, now
	rec.TracksCommit, rec.Committed = true, time.Time{}
	if err := o.audit(rec, eventAttempt); err != nil {
		rec.Attempts--
		rec.State, rec.LastAttempt = prevState, prevAttempt
		return fail(err)
	}
	if err := o.save(rec); err != nil {
		return fail(err)
	}
	o.notify(rec)
	return rec, release, nil
}

// recoverInterrupted handles a job left in Sending by a process that no
// longer holds its lock (a crash): before its commit point the end of data
// never went out and the server discarded the message, so the job is
// queued again, due now; after it (or when the attempt did not record its
// commit point) the job is PossiblySent. The caller holds the directory
// lock and the job's delivery lock.
func (o *Outbox) recoverInterrupted(rec *Record) error {
	if rec.State != Sending {
		return nil
	}
	if rec.TracksCommit && rec.Committed.IsZero() {
		rec.State, rec.NextAttempt = Queued, o.now().UTC()
		rec.LastError = "securesend stopped while this message was being sent, before it was complete, so the server discarded it; it is sent again automatically"
		if err := o.save(rec); err != nil {
			return err
		}
		o.notify(rec)
		return o.audit(rec, eventInterrupted)
	}
	rec.State = PossiblySent
	rec.ResendConfirmed = false
	rec.LastError = "securesend stopped while this message was being sent; the server may have received it"
	if err := o.save(rec); err != nil {
		return err
	}
	o.notify(rec)
	return o.audit(rec, eventPossiblySent)
}

// attempt submits the stored message of a claimed job and records the
// outcome.
func (o *Outbox) attempt(ctx context.Context, rec *Record, submit SubmitFunc) (*Record, error) {
	res, subErr := o.submitStored(ctx, rec, submit)
	if o.opts.AfterSubmit != nil {
		o.opts.AfterSubmit(rec.ID, subErr)
	}
	unlock, err := o.lockDir()
	if err != nil {
		return rec, err
	}
	defer unlock()
	kind := o.classify(rec, res, subErr)
	if err := o.save(rec); err != nil {
		return rec, errors.Join(err, subErr)
	}
	o.notify(rec)
	if err := o.audit(rec, kind); err != nil {
		return rec, errors.Join(err, subErr)
	}
	switch rec.State {
	case Sent:
		return rec, subErr // nil, or ErrRecipientsRejected when sent to some
	case PossiblySent:
		return rec, errors.Join(ErrNeedsConfirmation, subErr)
	}
	return rec, subErr
}

// errDamaged marks a stored message that failed its integrity check.
var errDamaged = errors.New("the stored message is damaged or was altered, so it was not sent")

// submitStored streams the stored message to submit, decrypting it on the
// way: one pass over the file, no copy of the plaintext on disk or in
// memory.
//
// Damage is still never sent. atrest.Decrypt authenticates the header and
// the first chunk (256 KiB) before it returns, so damage there stops the
// job before any network I/O. Every later chunk is authenticated before
// its plaintext is read, and the reader returns io.EOF only after the
// final tag (over the total length) has been checked; damage or
// truncation further in makes a Read fail instead, and the SubmitFunc
// must then abandon the message: send.Submit drops the connection without
// the final ".", so the server discards what it received. Either way the
// job fails as damaged (errDamaged, no retry), with the same text as when
// the whole file was checked before the upload.
func (o *Outbox) submitStored(ctx context.Context, rec *Record, submit SubmitFunc) (*send.Result, error) {
	f, err := os.Open(o.msgPath(rec.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errDamaged, err)
	}
	defer f.Close()
	pr, err := o.decrypt(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errDamaged, err)
	}
	cp := &commitPoint{o: o, rec: rec}
	body := &storedBody{r: pr, want: rec.MessageSHA256, atEOF: cp.atEOF}
	if body.want != "" {
		body.sum = sha256.New()
	}
	job := *rec
	ctx = context.WithValue(context.WithValue(ctx, jobKey{}, &job), commitKey{}, cp)
	res, err := submit(ctx, rec.Envelope, body)
	cp.close()
	if rerr := body.readErr(); errors.Is(rerr, errNotRecorded) {
		// Not damaged: the message was not completed, and is retried.
		if err == nil {
			return nil, fmt.Errorf("%w (but the submission completed; the recipient may have received it)", rerr)
		}
		return nil, rerr
	}
	if rerr := body.readErr(); rerr != nil {
		// Whatever submit made of it (send.Submit: an *send.Error of kind
		// ErrInvalidMessage at stage "data" wrapping rerr), the cause is
		// the stored message.
		if err == nil {
			// A SubmitFunc that completed the message anyway (send.Submit
			// never does) may have delivered a truncated copy.
			return nil, fmt.Errorf("%w: outbox: %v (but the submission completed; the recipient may have received an incomplete message)", errDamaged, rerr)
		}
		return nil, fmt.Errorf("%w: outbox: %v", errDamaged, rerr)
	}
	return res, err
}

// errNotThisMessage: the message file decrypted, but it is not the one
// composed for this job (Record.MessageSHA256): another job's message was
// put in its place.
var errNotThisMessage = errors.New("the stored message is not the one queued for this job (its file was replaced)")

// storedBody is the decrypting reader of a stored message handed to the
// SubmitFunc; it remembers the first read error other than io.EOF (the
// stored data failed authentication: atrest.ErrTampered). With want set it
// hashes what is read and, at the end, returns errNotThisMessage instead
// of io.EOF when the message is not the job's, so the SubmitFunc never
// completes it.
type storedBody struct {
	r    io.Reader
	want string    // hex SHA-256 of the job's message; "" unchecked
	sum  hash.Hash // of what was read, when want is set
	// atEOF, when set, runs before io.EOF is returned (the commit point
	// of a SubmitFunc that did not take BeforeCommit); its error is
	// returned instead, wrapped in errNotRecorded.
	atEOF func() error

	mu  sync.Mutex
	err error
}

func (b *storedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if b.sum != nil {
		b.sum.Write(p[:n])
		if err == io.EOF && hex.EncodeToString(b.sum.Sum(nil)) != b.want {
			err = errNotThisMessage
		}
	}
	if err == io.EOF && b.atEOF != nil {
		if cerr := b.atEOF(); cerr != nil {
			err = fmt.Errorf("%w: %w", errNotRecorded, cerr)
		}
	}
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *storedBody) readErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// classify sets rec's state from an attempt's outcome and returns the
// audit event to log.
func (o *Outbox) classify(rec *Record, res *send.Result, err error) eventKind {
	now := o.now().UTC()
	rec.NextAttempt = time.Time{}
	var se *send.Error
	switch {
	case err == nil:
		rec.State, rec.LastError = Sent, ""
		rec.Result = o.fill(rec, res)
		return eventSent
	case errors.Is(err, errDamaged), errors.Is(err, ErrWrongKey), errors.Is(err, send.ErrInvalidMessage), errors.Is(err, ErrRefused):
		rec.State, rec.LastError = Failed, BoundError(err.Error())
		return eventFailed
	case errors.As(err, &se) && errors.Is(err, send.ErrRecipientsRejected):
		// Accepted for some recipients: resending would duplicate it for
		// them, so it is sent, with the rejections noted.
		rec.State, rec.LastError = Sent, BoundError(err.Error())
		rec.Result = o.fill(rec, se.Result)
		return eventSent
	case errors.As(err, &se) && se.Temporary() && se.Stage == "data-reply" && se.Reply.Code == 0:
		// The connection broke after the whole message and its final "."
		// went out, before the server's reply: it may have accepted it.
		// (A break mid-upload, stage "data", is deferred: the server
		// discards an unterminated message, so a retry is safe.)
		rec.State = PossiblySent
		rec.ResendConfirmed = false
		rec.LastError = BoundError("the connection was lost after the message was transmitted, before the server confirmed it; it may have been received: " + err.Error())
		return eventPossiblySent
	case se != nil && !se.Temporary():
		rec.State, rec.LastError = Failed, BoundError(err.Error())
		return eventFailed
	default:
		rec.State, rec.LastError = Deferred, BoundError(err.Error())
		rec.NextAttempt = now.Add(o.opts.Backoff.Delay(rec.Attempts))
		if deadline := rec.Since.Add(o.maxAge()); rec.NextAttempt.After(deadline) {
			rec.NextAttempt = deadline
		}
		return eventDeferred
	}
}

// fill copies res and completes it from the job.
func (o *Outbox) fill(rec *Record, res *send.Result) *send.Result {
	var out send.Result
	if res != nil {
		out = *res
	}
	if out.MessageID == "" {
		out.MessageID = rec.MessageID
	}
	if len(out.Documents) == 0 {
		out.Documents = rec.Documents
	}
	out.Encrypted, out.Signed, out.SignerFingerprint = rec.Encrypted, rec.Signed, rec.SignerFingerprint
	return &out
}

func (o *Outbox) maxAge() time.Duration {
	if o.opts.MaxAge > 0 {
		return o.opts.MaxAge
	}
	return DefaultMaxAge
}

// notify queues a copy of rec for Options.Notify, which is called once the
// locks are released (so it may call back into the Outbox). The caller
// holds the directory lock.
func (o *Outbox) notify(rec *Record) {
	if o.opts.Notify != nil {
		o.pending = append(o.pending, *rec)
	}
}

// MaxErrorText bounds Record.LastError, in characters: a server's reply
// can be as long as it likes (one of a megabyte was seen to pass), and
// the reason is stored, audited and shown in every list and report.
const MaxErrorText = 1000

// BoundError is s cut to MaxErrorText characters, ending in "…" when it
// was longer.
func BoundError(s string) string {
	if utf8.RuneCountInString(s) <= MaxErrorText {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxErrorText-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
