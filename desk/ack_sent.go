package desk

import (
	"slices"
	"time"

	"github.com/securesend/securesend/ack"
)

// SentAck is an acknowledgement this home sent (queued) for an inbox
// item: what a front end shows on the message ("Accepted at 09:14",
// "Rejected at …: reason").
type SentAck struct {
	Kind ack.Kind
	// Reason is a rejection's (or an acceptance's note); "" without one.
	Reason string
	// To is the verified sender it went to.
	To string
	// Time is when it was made.
	Time time.Time
	// Job is the outbox job that carries it.
	Job JobID
}

// SentAcknowledgements returns the acknowledgements this home queued for
// inbox item inboxID, oldest first (none for a demo Desk, which has no
// acknowledgement loop). They come from the sealed acknowledgement log,
// the record Acknowledge checks against (ErrAckTwice).
func (d *Desk) SentAcknowledgements(inboxID string) ([]SentAck, error) {
	es, err := d.ackEntries()
	if err != nil {
		return nil, err
	}
	var out []SentAck
	for _, e := range es {
		if e.Dir == ackOut && e.InboxID == inboxID {
			out = append(out, SentAck{Kind: e.Kind, Reason: e.Reason, To: e.Peer, Time: e.Time, Job: e.Job})
		}
	}
	slices.SortStableFunc(out, func(a, b SentAck) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// Acknowledger is the Desk whose inbox the Setup shows, to acknowledge
// its items with (Desk.AcknowledgeJob, Desk.SentAcknowledgements); nil in
// demo mode, which has no acknowledgement loop.
func (st *Setup) Acknowledger() *Desk {
	if st.Demo {
		return nil
	}
	return st.recv
}
