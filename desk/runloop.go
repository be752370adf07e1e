package desk

import (
	"context"
	"sync"
	"time"

	"github.com/securesend/securesend/send/outbox"
)

// RunOutcome is what one delivery attempt of a Run came to.
type RunOutcome string

// The outcomes a Run reports.
const (
	// RunSent: the server took the message now.
	RunSent RunOutcome = "sent"
	// RunAlreadySent: the job was sent before this run found it (a file
	// queued before a restart).
	RunAlreadySent RunOutcome = "already-sent"
	// RunDeferred: the server could not take it yet; the run tries again
	// from Record.NextAttempt (RetryDue).
	RunDeferred RunOutcome = "deferred"
	// RunFailed: given up (Err says why when there is an error; Record,
	// when not nil, is the failed job).
	RunFailed RunOutcome = "failed"
	// RunHandedOver: the job is no longer this run's to deliver: it was
	// cancelled, is possibly sent, or 'outbox run' or the app is
	// delivering it. Record is the job as found.
	RunHandedOver RunOutcome = "handed-over"
	// RunLost: the job could not be read (Err).
	RunLost RunOutcome = "lost"
)

// RunEvent reports one delivery attempt of a Run.
type RunEvent struct {
	JobID JobID
	// Label is what the front end called the job when it handed it to
	// the run (the hot folder: the file's name).
	Label   string
	Outcome RunOutcome
	// Record is the job after the attempt; nil for RunLost and when a
	// failed delivery returned none.
	Record *outbox.Record
	// Err is the delivery's error, nil when there is none.
	Err error
}

// Run delivers the jobs one front end queues, each at once, then the
// deferred ones as they become due, until each is sent or given up; it
// reports every attempt's outcome to the report function. It is the
// delivery loop of the hot folder ('securesend hotfolder', which retries
// in its watch rounds); any front end that queues jobs and delivers them
// itself (the relay) can use it the same way. Deliveries go through
// Outbox.Deliver: the policy in force, the gate's checks, the account's
// sign-in. Its methods are safe for concurrent use; report may be called
// from several goroutines at once when they are.
type Run struct {
	o      *Outbox
	report func(RunEvent)

	mu   sync.Mutex
	jobs map[JobID]string // jobs of this run not yet sent or given up, with their labels
}

// NewRun starts an empty run on o; report, when not nil, receives each
// attempt's outcome.
func (o *Outbox) NewRun(report func(RunEvent)) *Run {
	if report == nil {
		report = func(RunEvent) {}
	}
	return &Run{o: o, report: report, jobs: map[JobID]string{}}
}

// Deliver adds job id (queued or found by the front end) to the run under
// label and makes its first delivery attempt now.
func (r *Run) Deliver(ctx context.Context, id JobID, label string) {
	r.mu.Lock()
	r.jobs[id] = label
	r.mu.Unlock()
	r.attempt(ctx, id, label, false)
}

// Adopt adds to the run every job of the outbox that is queued or
// deferred (a front end that owns its outbox, such as the relay, finding
// what a crash or a stop left behind), labelled by their IDs, and makes a
// delivery attempt now of each queued one and of each deferred one that is
// due. It returns how many jobs it adopted.
func (r *Run) Adopt(ctx context.Context) (int, error) {
	recs, err := r.o.List()
	if err != nil {
		return 0, err
	}
	type adopted struct {
		id       JobID
		deferred bool
	}
	var ids []adopted
	r.mu.Lock()
	for _, rec := range recs {
		if rec.State != outbox.Queued && rec.State != outbox.Deferred {
			continue
		}
		if _, ok := r.jobs[rec.ID]; !ok {
			r.jobs[rec.ID] = rec.ID
			ids = append(ids, adopted{rec.ID, rec.State == outbox.Deferred})
		}
	}
	r.mu.Unlock()
	for _, a := range ids {
		if ctx.Err() != nil {
			break
		}
		r.attempt(ctx, a.id, a.id, a.deferred)
	}
	return len(ids), nil
}

// RetryDue makes a delivery attempt of each deferred job of the run whose
// next attempt is due, and stops early when ctx ends.
func (r *Run) RetryDue(ctx context.Context) {
	r.mu.Lock()
	pending := make(map[JobID]string, len(r.jobs))
	for id, label := range r.jobs {
		pending[id] = label
	}
	r.mu.Unlock()
	for id, label := range pending {
		if ctx.Err() != nil {
			return
		}
		r.attempt(ctx, id, label, true)
	}
}

// RetryEvery calls RetryDue every poll until ctx ends, for a front end
// without rounds of its own (the relay: Deliver each submission as it is
// queued, in its own goroutine, and RetryEvery in another).
func (r *Run) RetryEvery(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.RetryDue(ctx)
		}
	}
}

// Pending is the number of jobs of the run not yet sent or given up.
func (r *Run) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.jobs)
}

// attempt delivers job id when it is queued, or deferred and (with
// dueOnly) due, and reports the outcome; a job that is sent, given up or
// no longer the run's leaves the run.
func (r *Run) attempt(ctx context.Context, id JobID, label string, dueOnly bool) {
	ev := RunEvent{JobID: id, Label: label}
	rec, err := r.o.Get(id)
	switch {
	case err != nil:
		ev.Outcome, ev.Err = RunLost, err
	case rec.State == outbox.Sent:
		ev.Outcome, ev.Record = RunAlreadySent, rec
	case rec.State != outbox.Queued && rec.State != outbox.Deferred:
		ev.Outcome, ev.Record = RunHandedOver, rec
	case dueOnly && r.o.d.Now().Before(rec.NextAttempt):
		return
	default:
		rec, err = r.o.Deliver(ctx, id, nil)
		ev.Record, ev.Err = rec, err
		switch {
		case err == nil && rec != nil && rec.State == outbox.Sent:
			ev.Outcome = RunSent
		case rec != nil && rec.State == outbox.Deferred:
			ev.Outcome = RunDeferred
		default:
			ev.Outcome = RunFailed
		}
	}
	if ev.Outcome != RunDeferred {
		r.mu.Lock()
		delete(r.jobs, id)
		r.mu.Unlock()
	}
	r.report(ev)
}
