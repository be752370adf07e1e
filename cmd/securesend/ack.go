package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/send/outbox"
)

const inboxAckUsage = `Usage: securesend inbox ack ID --accept [--reason TEXT]
       securesend inbox ack ID --reject REASON
       securesend inbox ack ID --received

Send the verified sender of item ID a signed, encrypted acknowledgement:
accepted, or rejected with the reason (one line). --received sends the
"received and verified" acknowledgement by hand (when your organisation's
policy does not send it automatically). Only a verified message is ever
acknowledged, each kind once, and only to the address that signed it.
The acknowledgement is queued in the outbox and sent at once; if that
fails, 'securesend outbox run' sends it later.
`

// inboxAck is `securesend inbox ack`.
func inboxAck(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("inbox ack", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, inboxAckUsage) }
	accept := fs.Bool("accept", false, "accept the message")
	reject := fs.String("reject", "", "reject the message, with this reason")
	received := fs.Bool("received", false, "send the received-and-verified acknowledgement")
	reason := fs.String("reason", "", "a note with --accept")
	id, ok := parseOneArg(fs, args)
	if !ok {
		return 2
	}
	if id == "" {
		return errorf(e, "inbox ack: give the item ID (see 'securesend inbox list')")
	}
	id = strings.TrimPrefix(id, "#")
	var kind ack.Kind
	n := 0
	if *accept {
		kind, n = ack.Accepted, n+1
	}
	if *reject != "" {
		kind, n = ack.Rejected, n+1
	}
	if *received {
		kind, n = ack.Received, n+1
	}
	switch {
	case n != 1:
		return errorf(e, "inbox ack: give exactly one of --accept, --reject REASON or --received")
	case kind != ack.Accepted && *reason != "":
		return errorf(e, "inbox ack: --reason goes with --accept (a rejection's reason is --reject's value)")
	case kind == ack.Rejected:
		*reason = *reject
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "inbox ack: %v", err)
	}
	job, err := d.AcknowledgeJob(ctx, id, kind, *reason)
	if err != nil {
		if errors.Is(err, ack.ErrInvalid) {
			return errorf(e, "inbox ack: the reason cannot be sent: %v", err)
		}
		return errorf(e, "inbox ack: %v", err)
	}
	fmt.Fprintf(e.stdout, "Acknowledgement (%s) of #%s queued as job %s.\n", kind, id, shortID(job))
	ob, err := d.Outbox(desk.OutboxOptions{})
	if err != nil {
		return errorf(e, "inbox ack: it stays queued: %v", err)
	}
	rec, err := ob.Deliver(ctx, job, nil)
	if err != nil || rec.State != outbox.Sent {
		why := ""
		if err != nil {
			why = ": " + termsafe.String(err.Error())
		} else if rec.LastError != "" {
			why = ": " + termsafe.String(rec.LastError)
		}
		fmt.Fprintf(e.stdout, "It is not sent yet%s; 'securesend outbox run' sends it.\n", why)
		return 0
	}
	fmt.Fprintln(e.stdout, "Sent.")
	return 0
}

// trackedJob is an outbox job as `outbox list --json` and `outbox show
// --json` print it: the record, with "state" the tracked state
// (queued, sent, acknowledged, accepted, rejected, or the outbox's
// deferred, failed, possibly-sent, cancelled) and the outbox's own state
// in "outbox_state".
type trackedJob struct {
	*outbox.Record
	State           desk.TrackState `json:"state"`
	OutboxState     outbox.State    `json:"outbox_state"`
	Overdue         bool            `json:"overdue,omitempty"`
	Acknowledgement *trackedAck     `json:"acknowledgement,omitempty"`
	IsAck           bool            `json:"is_acknowledgement,omitempty"`
}

// trackedAck is the acknowledgement that set a job's state.
type trackedAck struct {
	Kind   ack.Kind  `json:"kind"`
	From   string    `json:"from"`
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time"`
}

func newTrackedJob(r *outbox.Record, t desk.Tracking) trackedJob {
	j := trackedJob{Record: r, State: t.State, OutboxState: r.State, Overdue: t.Overdue, IsAck: t.IsAcknowledgement}
	if t.Receipt != nil {
		j.Acknowledgement = &trackedAck{Kind: t.Receipt.Kind, From: t.From, Reason: t.Receipt.Reason, Time: t.Receipt.Time}
	}
	return j
}

// trackedJobs are recs with their tracked states.
func trackedJobs(ob *desk.Outbox, recs []*outbox.Record) []trackedJob {
	ts := ob.TrackAll(recs)
	out := make([]trackedJob, len(recs))
	for i, r := range recs {
		out[i] = newTrackedJob(r, ts[i])
	}
	return out
}

// trackLabel is the STATE column of `outbox list`.
func trackLabel(t desk.Tracking) string {
	s := termsafe.String(t.Label())
	if len(s) > 70 {
		s = s[:67] + "..."
	}
	return s
}

// printTracking adds the acknowledgement lines to `outbox show`.
func printTracking(w io.Writer, t desk.Tracking) {
	switch {
	case t.Receipt != nil:
		fmt.Fprintf(w, "Acknowledged: %s by %s at %s (signed and verified)\n", t.Receipt.Kind, termsafe.String(t.From), t.Receipt.Time.Local().Format(time.RFC1123))
		if t.Receipt.Reason != "" {
			fmt.Fprintf(w, "Reason:       %s\n", termsafe.String(t.Receipt.Reason))
		}
	case t.Overdue:
		fmt.Fprintf(w, "Acknowledged: no — %s\n", desk.OverdueText)
	case t.IsAcknowledgement:
		fmt.Fprintln(w, "Acknowledged: (this job is an acknowledgement you sent)")
	}
}
