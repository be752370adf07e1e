package outbox

import (
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// List returns every job, oldest first. Jobs left in sending by a process
// that stopped are reported (and recorded) as possibly-sent.
func (o *Outbox) List() ([]*Record, error) {
	unlock, err := o.lockDir()
	if err != nil {
		return nil, err
	}
	defer unlock()
	ids, err := o.ids()
	if err != nil {
		return nil, err
	}
	recs := make([]*Record, 0, len(ids))
	for _, id := range ids {
		rec, err := o.load(id)
		if err != nil {
			return nil, err
		}
		if err := o.reconcile(rec); err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	slices.SortStableFunc(recs, func(a, b *Record) int { return a.Created.Compare(b.Created) })
	return recs, nil
}

// Get returns job id.
func (o *Outbox) Get(id string) (*Record, error) {
	unlock, err := o.lockDir()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return o.loadReconciled(id)
}

func (o *Outbox) loadReconciled(id string) (*Record, error) {
	rec, err := o.load(id)
	if err != nil {
		return nil, err
	}
	if err := o.reconcile(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// reconcile detects an interrupted delivery: a job in sending whose
// delivery lock is free. The caller holds the directory lock.
func (o *Outbox) reconcile(rec *Record) error {
	if rec.State != Sending {
		return nil
	}
	release, ok, err := o.tryLockMsg(rec.ID)
	if err != nil || !ok {
		return err // being delivered right now
	}
	defer release()
	return o.recoverInterrupted(rec)
}

// change applies fn to job id under the locks and saves it. Jobs being
// delivered give ErrBusy.
func (o *Outbox) change(id string, fn func(*Record) error) (*Record, error) {
	unlock, err := o.lockDir()
	if err != nil {
		return nil, err
	}
	defer unlock()
	rec, err := o.load(id)
	if err != nil {
		return nil, err
	}
	release, ok, err := o.tryLockMsg(id)
	if err != nil {
		return rec, err
	}
	if !ok {
		return rec, ErrBusy
	}
	defer release()
	if err := o.recoverInterrupted(rec); err != nil {
		return rec, err
	}
	if err := fn(rec); err != nil {
		return rec, err
	}
	if err := o.save(rec); err != nil {
		return rec, err
	}
	o.notify(rec)
	return rec, nil
}

// Retry queues a deferred, failed or cancelled job again, due now, and
// restarts its MaxAge window. A possibly-sent job needs ConfirmResend.
func (o *Outbox) Retry(id string) (*Record, error) {
	return o.change(id, func(rec *Record) error {
		switch rec.State {
		case Queued, Deferred, Failed, Cancelled:
		case PossiblySent:
			return ErrNeedsConfirmation
		default:
			return fmt.Errorf("%w: the job is %s", ErrState, rec.State)
		}
		now := o.now().UTC()
		rec.State, rec.NextAttempt, rec.Since = Queued, now, now
		return nil
	})
}

// ConfirmResend records the user's decision that a possibly-sent job
// should be sent again (same bytes, same Message-ID), and queues it, due
// now.
func (o *Outbox) ConfirmResend(id string) (*Record, error) {
	return o.change(id, func(rec *Record) error {
		if rec.State != PossiblySent {
			return fmt.Errorf("%w: only a possibly-sent job needs confirmation; this one is %s", ErrState, rec.State)
		}
		now := o.now().UTC()
		rec.State, rec.ResendConfirmed, rec.NextAttempt, rec.Since = Queued, true, now, now
		return nil
	})
}

// Cancel stops delivery of a job that is not yet sent. Its message is kept
// until Remove.
func (o *Outbox) Cancel(id string) (*Record, error) {
	rec, err := o.change(id, func(rec *Record) error {
		switch rec.State {
		case Queued, Deferred, PossiblySent, Failed:
		default:
			return fmt.Errorf("%w: the job is %s", ErrState, rec.State)
		}
		rec.State, rec.NextAttempt, rec.LastError = Cancelled, time.Time{}, "cancelled by the user"
		return nil
	})
	if err != nil {
		return rec, err
	}
	return rec, o.audit(rec, eventFailed)
}

// Remove deletes a sent, failed or cancelled job and its stored message.
// Jobs still to be delivered must be cancelled first.
func (o *Outbox) Remove(id string) error {
	unlock, err := o.lockDir()
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := o.loadReconciled(id)
	if err != nil {
		return err
	}
	if !rec.Done() {
		return fmt.Errorf("%w: the job is %s; cancel it first", ErrState, rec.State)
	}
	// A record without its message is what a crash in an earlier Remove
	// leaves; it is removed all the same.
	if exists(o.msgPath(id)) {
		release, ok, err := o.tryLockMsg(id)
		if err != nil {
			return err
		}
		if !ok {
			return ErrBusy
		}
		release() // Windows cannot remove an open file.
		// The message goes first: a crash in between leaves a record
		// without content rather than content without a record.
		if err := os.Remove(o.msgPath(id)); err != nil {
			return fmt.Errorf("outbox: remove job %s: %w", id, err)
		}
	}
	if err := os.Remove(o.jobPath(id)); err != nil {
		return fmt.Errorf("outbox: remove job %s: %w", id, err)
	}
	return o.syncDir()
}

// OpenMessage returns the stored message of job id, decrypted, as it was
// (or will be) sent. The caller must read it to io.EOF and discard it on
// error (atrest.ErrTampered), and close it.
func (o *Outbox) OpenMessage(id string) (io.ReadCloser, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q is not a job id", ErrNotFound, id)
	}
	f, err := os.Open(o.msgPath(id))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, fmt.Errorf("outbox: %w", err)
	}
	r, err := o.decrypt(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// Prune removes sent jobs (record and message) whose last attempt was
// before cutoff, and returns how many it removed. Failed and cancelled
// jobs are left for the user to decide about.
func (o *Outbox) Prune(cutoff time.Time) (int, error) {
	recs, err := o.List()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		if r.State != Sent || !r.LastAttempt.Before(cutoff) {
			continue
		}
		if err := o.Remove(r.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
