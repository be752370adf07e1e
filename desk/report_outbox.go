package desk

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// ShortID is a job ID as lists and progress lines show it: its first 12
// characters, which the outbox resolves as the ID.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// fieldLines are fs as report lines: each label with its colon in a
// column width characters wide, then the value.
func fieldLines(fs []Field, width int) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%-*s %s", width, f.Label+":", f.Value)
	}
	return out
}

// reportWidth is the label column of the transmission and job reports.
const reportWidth = 14

// TransmissionLines are the transmission report (transmissionReport)
// under its title, as printed after 'send' and for a sent job.
func TransmissionLines(res *send.Result, sendErr error) []string {
	return append([]string{transmissionTitle, strings.Repeat("=", len(transmissionTitle))},
		fieldLines(transmissionReport(res, sendErr), reportWidth)...)
}

// JobLines are what 'outbox show' prints of job r with its tracking t:
// the job's fields (a server's text made safe and bounded, shownError),
// the transmission report of a sent job (else how it is protected), the
// acknowledgement and what happens next.
func JobLines(r *outbox.Record, t Tracking) []string {
	var fs fields
	fs.add("Job", "%s", r.ID)
	fs.add("State", "%s", r.State)
	if r.Account != "" {
		fs.add("Account", "%s", r.Account)
	}
	fs.add("From", "%s", r.Envelope.From)
	fs.add("To", "%s", strings.Join(r.Envelope.To, ", "))
	fs.add("Queued", "%s", r.Created.Local().Format(time.RFC1123))
	fs.add("Attempts", "%d", r.Attempts)
	if !r.LastAttempt.IsZero() {
		fs.add("Last attempt", "%s", r.LastAttempt.Local().Format(time.RFC1123))
	}
	if !r.NextAttempt.IsZero() {
		fs.add("Next attempt", "%s", r.NextAttempt.Local().Format(time.RFC1123))
	}
	if r.LastError != "" {
		fs.add("Last error", "%s", shownError(r.LastError))
	}
	var lines []string
	if r.Result != nil { // sent: the report 'send' printed
		lines = append(fieldLines(fs, reportWidth), "")
		lines = append(lines, TransmissionLines(r.Result, nil)...)
	} else {
		fs.add("Message-ID", "<%s>", r.MessageID)
		fs = append(fs, protectionFields(r.Encrypted, r.Signed, r.SignerFingerprint, r.Size, r.Documents)...)
		lines = fieldLines(fs, reportWidth)
	}
	lines = append(lines, trackingLines(t)...)
	if s := NextStep(r); s != "" {
		lines = append(lines, s)
	}
	return lines
}

// trackingLines are the acknowledgement lines of 'outbox show'.
func trackingLines(t Tracking) []string {
	switch {
	case t.Receipt != nil:
		out := []string{fmt.Sprintf("Acknowledged: %s by %s at %s (signed and verified)", t.Receipt.Kind, termsafe.String(t.From), t.Receipt.Time.Local().Format(time.RFC1123))}
		if t.Receipt.Reason != "" {
			out = append(out, "Reason:       "+termsafe.String(t.Receipt.Reason))
		}
		return out
	case t.Overdue:
		return []string{"Acknowledged: no — " + OverdueText}
	case t.IsAcknowledgement:
		return []string{"Acknowledged: (this job is an acknowledgement you sent)"}
	}
	return nil
}

// NextStep tells the user what happens next to a job that was not sent
// (deferred, possibly sent, failed); "" for any other job, or nil.
func NextStep(rec *outbox.Record) string {
	if rec == nil {
		return ""
	}
	switch rec.State {
	case outbox.Deferred:
		return fmt.Sprintf("The message is safe in the outbox (job %s) and will be retried from %s; 'securesend outbox run' delivers it.",
			rec.ID, rec.NextAttempt.Local().Format("15:04 Mon 2 Jan"))
	case outbox.PossiblySent:
		return fmt.Sprintf("The server may already have received the message. Check with the recipient; to send it again run 'securesend outbox confirm %s'.", rec.ID)
	case outbox.Failed:
		return fmt.Sprintf("The message is kept in the outbox (job %s); fix the cause and run 'securesend outbox retry %s', or remove it.", rec.ID, rec.ID)
	}
	return ""
}

// ProgressLine is the line a delivery prints when job r changes state
// ('outbox run', the hot folder, the relay); "" for a state it does not
// report. Every string in it is made safe for a terminal (termsafe).
func ProgressLine(r *outbox.Record) string {
	to := termsafe.String(strings.Join(r.Envelope.To, ", "))
	id := ShortID(r.ID)
	switch r.State {
	case outbox.Sending:
		return fmt.Sprintf("%s  sending to %s (attempt %d)", id, to, r.Attempts)
	case outbox.Sent:
		reply := ""
		if r.Result != nil {
			reply = fmt.Sprintf(" (server said: %d %s)", r.Result.Reply.Code, shownError(r.Result.Reply.Text))
		}
		return fmt.Sprintf("%s  SENT to %s%s", id, to, reply)
	case outbox.Deferred:
		return fmt.Sprintf("%s  deferred until %s: %s", id, r.NextAttempt.Local().Format("15:04 2 Jan"), shownError(r.LastError))
	case outbox.Failed:
		return fmt.Sprintf("%s  FAILED: %s", id, shownError(r.LastError))
	case outbox.PossiblySent:
		return fmt.Sprintf("%s  POSSIBLY SENT: %s; check with the recipient, then 'securesend outbox confirm %s' to resend", id, shownError(r.LastError), id)
	}
	return ""
}

// shownError is a server's reply or a job's last error as a report shows
// it: made safe for a terminal, then cut to outbox.MaxErrorText
// characters (a record stored before the outbox bounded its last error,
// or a reply stored with a job's result, may hold a hostile megabyte).
func shownError(s string) string { return outbox.BoundError(termsafe.String(s)) }

// JobRow is the row of job r in 'outbox list': its columns ID, STATE,
// QUEUED, TO, DOCS, ATTEMPTS and NEXT / NOTE, with t its tracking.
func JobRow(r *outbox.Record, t Tracking) []string {
	note := ""
	switch r.State {
	case outbox.Queued, outbox.Deferred:
		note = r.NextAttempt.Local().Format("15:04 2 Jan")
	case outbox.Sent:
		if r.Result != nil {
			note = r.Result.Reply.Text
		}
	case outbox.PossiblySent:
		note = "check with the recipient, then 'outbox confirm'"
	default:
		note = r.LastError
	}
	return []string{ShortID(r.ID), clip(termsafe.String(t.Label()), 70), r.Created.Local().Format("15:04 2 Jan"),
		termsafe.String(strings.Join(r.Envelope.To, ", ")), fmt.Sprint(len(r.Documents)), fmt.Sprint(r.Attempts), clip(termsafe.String(note), 60)}
}

// clip shortens s to at most n bytes, ending in "...", at a character
// boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// JobRowHeader are the column titles of JobRow.
var JobRowHeader = []string{"ID", "STATE", "QUEUED", "TO", "DOCS", "ATTEMPTS", "NEXT / NOTE"}

// TrackedJob is an outbox job as `outbox list --json` and `outbox show
// --json` print it: the record, with "state" the tracked state (queued,
// sent, acknowledged, accepted, rejected, or the outbox's deferred,
// failed, possibly-sent, cancelled) and the outbox's own state in
// "outbox_state".
type TrackedJob struct {
	*outbox.Record
	State           TrackState   `json:"state"`
	OutboxState     outbox.State `json:"outbox_state"`
	Overdue         bool         `json:"overdue,omitempty"`
	Acknowledgement *TrackedAck  `json:"acknowledgement,omitempty"`
	IsAck           bool         `json:"is_acknowledgement,omitempty"`
}

// TrackedAck is the acknowledgement that set a job's state.
type TrackedAck struct {
	Kind   ack.Kind  `json:"kind"`
	From   string    `json:"from"`
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time"`
}

// NewTrackedJob is job r with its tracking t.
func NewTrackedJob(r *outbox.Record, t Tracking) TrackedJob {
	j := TrackedJob{Record: r, State: t.State, OutboxState: r.State, Overdue: t.Overdue, IsAck: t.IsAcknowledgement}
	if t.Receipt != nil {
		j.Acknowledgement = &TrackedAck{Kind: t.Receipt.Kind, From: t.From, Reason: t.Receipt.Reason, Time: t.Receipt.Time}
	}
	return j
}

// TrackedJobs are recs with their tracked states (TrackAll).
func (o *Outbox) TrackedJobs(recs []*outbox.Record) []TrackedJob {
	ts := o.TrackAll(recs)
	out := make([]TrackedJob, len(recs))
	for i, r := range recs {
		out[i] = NewTrackedJob(r, ts[i])
	}
	return out
}
