package desk

import (
	"fmt"
	"strings"
	"time"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send/outbox"
)

// TrackState is where a sent message is, from queued to the recipient's
// signed acknowledgement. Its string value is the stable token of
// `securesend outbox list --json` (field "state").
type TrackState string

// The track states. Besides these, a job may be in the outbox's own
// states: "sending", "deferred", "failed", "possibly-sent", "cancelled".
const (
	TrackQueued       TrackState = "queued"
	TrackSent         TrackState = "sent"
	TrackAcknowledged TrackState = "acknowledged"
	TrackAccepted     TrackState = "accepted"
	TrackRejected     TrackState = "rejected"
	// TrackPossiblySent and the others are the outbox's states.
	TrackSending      TrackState = "sending"
	TrackDeferred     TrackState = "deferred"
	TrackFailed       TrackState = "failed"
	TrackPossiblySent TrackState = "possibly-sent"
	TrackCancelled    TrackState = "cancelled"
)

// OverdueText is what a sent message that is overdue for its
// acknowledgement says (in amber).
const OverdueText = "not acknowledged yet — phone the pharmacy"

// Tracking is what the sender knows of one outbox job.
type Tracking struct {
	State TrackState
	// Receipt is the acknowledgement that set State (acknowledged,
	// accepted or rejected): the recipient's verified, signed receipt.
	Receipt *ack.Receipt
	// From is the recipient that acknowledged ("" without a Receipt).
	From string
	// Overdue: sent (or possibly sent), no acknowledgement, and older
	// than the policy's acknowledgement wait; show OverdueText in amber.
	Overdue bool
	// IsAcknowledgement: the job is itself an acknowledgement this home
	// sent (never acknowledged, never overdue).
	IsAcknowledgement bool
	// SupersededBy is the latest later job of this outbox that replaces
	// or cancels this message (nil when none, or when every such job was
	// stopped in the outbox or failed: those superseded nothing).
	SupersededBy *Superseding
}

// Superseding is a job of this outbox that replaces or cancels an earlier
// message (its Job.Supersedes names that message).
type Superseding struct {
	// Kind is manifest.Replace or manifest.Cancel.
	Kind manifest.Kind
	// Job and MessageID are the later job's.
	Job       JobID
	MessageID string
	// State is the later job's outbox state: sent, possibly sent, or on
	// its way (queued, sending, deferred).
	State outbox.State
	// Time is when the mail server accepted it (when it was queued until
	// then).
	Time time.Time
	// Subject (the document type) and PatientNHI are the later job's.
	Subject, PatientNHI string
}

// supersessions maps the Message-ID of each message of recs that a later
// job of recs replaces or cancels to the latest such job. A job stopped in
// the outbox (cancelled) or failed for good supersedes nothing.
func supersessions(recs []*outbox.Record) map[string]*Superseding {
	out := map[string]*Superseding{}
	for _, r := range recs { // oldest first: the latest wins
		s := r.Supersedes
		if s == nil || r.State == outbox.Cancelled || r.State == outbox.Failed {
			continue
		}
		out[s.MessageID] = &Superseding{Kind: s.Kind, Job: r.ID, MessageID: r.MessageID, State: r.State, Time: finishedAt(r),
			Subject: r.Subject, PatientNHI: r.PatientNHI}
	}
	return out
}

// Label is the state in words for a list: "rejected: REASON", the
// overdue warning, or the state.
func (t Tracking) Label() string {
	switch {
	case t.State == TrackRejected && t.Receipt != nil:
		return "rejected: " + t.Receipt.Reason
	case t.Overdue:
		return string(t.State) + " — " + OverdueText
	case t.IsAcknowledgement:
		return string(t.State) + " (acknowledgement)"
	}
	return string(t.State)
}

// Track returns the state of job rec: the outbox's, raised to
// acknowledged, accepted or rejected by a verified acknowledgement
// recorded for it (only Verified acknowledgements from one of its
// recipients, for its Message-ID and documents, are ever recorded; see
// Fetch). Accepted or rejected wins over received; of one recipient's
// decisions the latest (by that recipient's time) counts, and a
// rejection by any recipient wins over another's acceptance. An
// acknowledgement also settles a possibly-sent job: it proves delivery.
// The acknowledgement log is read at each call; when it cannot be read the
// outbox's state is returned and the reason goes to Options.Warn.
func (o *Outbox) Track(rec *outbox.Record) Tracking {
	es, err := o.d.ackEntries()
	if err != nil {
		o.d.warn(fmt.Errorf("acknowledgements cannot be read: %w", err))
	}
	t := o.track(rec, es, o.ackWait())
	recs, err := o.ob.List()
	if err != nil {
		o.d.warn(fmt.Errorf("the outbox cannot be listed to find what replaces or cancels a message: %w", err))
	}
	t.SupersededBy = supersessions(recs)[rec.MessageID]
	return t
}

// TrackAll is Track of each of recs, reading the acknowledgement log once.
func (o *Outbox) TrackAll(recs []*outbox.Record) []Tracking {
	es, err := o.d.ackEntries()
	if err != nil {
		o.d.warn(fmt.Errorf("acknowledgements cannot be read: %w", err))
	}
	out := make([]Tracking, len(recs))
	wait := o.ackWait()
	sup := supersessions(recs)
	for i, r := range recs {
		out[i] = o.track(r, es, wait)
		out[i].SupersededBy = sup[r.MessageID]
	}
	return out
}

func (o *Outbox) track(rec *outbox.Record, es []ackEntry, wait time.Duration) Tracking {
	t := Tracking{State: TrackState(rec.State)}
	var received *ackEntry
	// Each recipient's latest decision, by the time that recipient gave
	// it: a recipient's time orders only its own decisions, so a
	// co-recipient cannot hide another's rejection behind a later (or
	// future) acceptance.
	latest := map[string]*ackEntry{}
	var peers []string
	for i := range es {
		e := &es[i]
		if e.Dir == ackOut && e.Job == rec.ID {
			t.IsAcknowledgement = true
		}
		if e.Dir != ackIn || e.Job != rec.ID || !strings.EqualFold(e.OriginalMessageID, rec.MessageID) {
			continue
		}
		peer := strings.ToLower(e.Peer)
		switch {
		case e.Kind.Manual():
			m, ok := latest[peer]
			if !ok {
				peers = append(peers, peer)
			}
			if m == nil || !e.Time.Before(m.Time) {
				latest[peer] = e
			}
		case received == nil:
			received = e
		}
	}
	// A rejection by any recipient wins over acceptances by others.
	var manual *ackEntry
	for _, p := range peers {
		e := latest[p]
		if manual == nil || e.Kind == ack.Rejected && manual.Kind != ack.Rejected ||
			e.Kind == manual.Kind && !e.Time.Before(manual.Time) {
			manual = e
		}
	}
	switch {
	case manual != nil:
		t.State, t.Receipt, t.From = TrackState(manual.Kind), manual.receipt(), manual.Peer
	case received != nil:
		t.State, t.Receipt, t.From = TrackAcknowledged, received.receipt(), received.Peer
	}
	if t.Receipt == nil && !t.IsAcknowledgement && rec.Signed && (rec.State == outbox.Sent || rec.State == outbox.PossiblySent) {
		sent := rec.LastAttempt
		if rec.Result != nil && !rec.Result.Finished.IsZero() {
			sent = rec.Result.Finished
		}
		t.Overdue = !sent.IsZero() && o.d.Now().Sub(sent) > wait
	}
	return t
}

// ackWait is the policy's acknowledgement wait (4 hours without one).
func (o *Outbox) ackWait() time.Duration {
	pol, err := o.d.side().policy(profile.UserSettings{})
	if err != nil {
		return profile.DefaultAcknowledgementWait
	}
	return pol.AcknowledgementWait()
}
