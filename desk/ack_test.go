package desk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Nothing is acknowledged for a message that is not Verified: not by an
// unknown signer, not with a bad signature, not one that cannot be
// decrypted, not one from a sender whose key does not match; and a fetch
// of messages that do not ask for it queues nothing.
func TestAckRefusesUnverified(t *testing.T) {
	names := []string{"good_encrypted.eml", "unknown_signer.eml", "bad_signature_body_altered.eml", "cannot_decrypt_wrong_key.eml", "sender_mismatch.eml"}
	d, items, _ := fetchFixtures(t, names...)
	for _, n := range names[1:] {
		for _, k := range []ack.Kind{ack.Received, ack.Accepted} {
			err := d.Acknowledge(context.Background(), items[n].ID, k, "")
			if !errors.Is(err, ErrAckNotVerified) {
				t.Errorf("%s %s: %v, want ErrAckNotVerified", n, k, err)
			}
		}
	}
	ob, err := d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := ob.List(); err != nil || len(recs) != 0 {
		t.Errorf("outbox: %d jobs, %v; want none (the fixtures do not ask for acknowledgements)", len(recs), err)
	}
}

// Accept and reject of a verified message: each queued once, signed by
// the pharmacist's key, encrypted to the key that signed the message
// (alice's, who can read it and finds the acknowledgement of her
// Message-ID and documents), audited; a second of the same kind is
// refused, and so is a rejection without a reason.
func TestAckAcceptRejectOnce(t *testing.T) {
	d, items, _ := fetchFixtures(t, "good_encrypted.eml")
	id := items["good_encrypted.eml"].ID
	ctx := context.Background()
	if err := d.Acknowledge(ctx, id, ack.Rejected, "  "); err == nil || !strings.Contains(err.Error(), "needs a reason") {
		t.Errorf("rejection without reason: %v", err)
	}
	job, err := d.AcknowledgeJob(ctx, id, ack.Accepted, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Acknowledge(ctx, id, ack.Accepted, ""); !errors.Is(err, ErrAckTwice) {
		t.Errorf("second accept: %v, want ErrAckTwice", err)
	}
	rjob, err := d.AcknowledgeJob(ctx, id, ack.Rejected, "Dose unclear, please phone")
	if err != nil {
		t.Fatal(err)
	}
	ob, err := d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := (func() (*receive.Report, error) { st, _ := d.Inbox(); return st.Report(id) })()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		job    JobID
		kind   ack.Kind
		reason string
	}{{job, ack.Accepted, ""}, {rjob, ack.Rejected, "Dose unclear, please phone"}} {
		rec, err := ob.Get(tc.job)
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Encrypted || !rec.Signed || len(rec.Envelope.To) != 1 || rec.Envelope.To[0] != "alice@clinic.test" || rec.Envelope.From != "bob@pharmacy.test" {
			t.Errorf("job %+v", rec.Job)
		}
		if tr := ob.Track(rec); !tr.IsAcknowledgement || tr.Overdue {
			t.Errorf("track of an acknowledgement job: %+v", tr)
		}
		r := readAsAlice(t, d, tc.job)
		if r.Kind != tc.kind || r.Reason != tc.reason || r.OriginalMessageID != rep.MessageID || r.FinalRecipient != "bob@pharmacy.test" || r.Verdict != "verified" {
			t.Errorf("receipt %+v", r)
		}
		if len(r.Documents) != len(rep.Documents) || r.Documents[0].SHA256 != rep.Documents[0].SHA256 {
			t.Errorf("receipt documents %+v, report %+v", r.Documents, rep.Documents)
		}
	}
	log := exportAudit(t, d)
	if n := strings.Count(log, string(audit.AckSent)); n != 2 {
		t.Errorf("%d ack.sent events, want 2:\n%s", n, log)
	}
	if strings.Contains(log, "Dose unclear") {
		t.Error("the rejection's reason is in the audit log")
	}
}

// readAsAlice verifies the queued acknowledgement job as Alice would, and
// returns its receipt: it must be Verified (signed by Bob's pinned key,
// encrypted to her).
func readAsAlice(t *testing.T, d *Desk, job JobID) *ack.Receipt {
	t.Helper()
	ob, err := d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ob.ob.OpenMessage(job)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	alice := testKey(t, "alice")
	st, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pinPublic(t, st, testKey(t, "bob"))
	parts := map[string][]byte{}
	rep, err := receive.Verify(context.Background(), rc, receive.VerifyOptions{Store: st, Secret: []*pgp.Key{alice}, Recipients: []string{"alice@clinic.test"},
		Sink: func(_, ct string, r io.Reader) (string, error) {
			b, err := io.ReadAll(r)
			parts[ct] = b
			return ct, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != receive.Verified || !rep.Encrypted || rep.DispositionNotificationTo != "" {
		t.Fatalf("alice's verdict %s (%s), encrypted %v, asks for an acknowledgement %q", rep.Verdict, rep.Reason, rep.Encrypted, rep.DispositionNotificationTo)
	}
	r, err := ack.ParseParts(parts[ack.NotificationType], parts[ack.MediaType])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func exportAudit(t *testing.T, d *Desk) string {
	t.Helper()
	l, err := d.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := l.Export(&b, audit.JSON, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Track: the outbox's state until a verified acknowledgement is recorded
// for the job (for its Message-ID); then acknowledged, and the latest
// accepted or rejected wins; amber (Overdue) only for a signed message
// sent longer ago than the wait with no acknowledgement; never for an
// acknowledgement job or an unsigned message.
func TestTrackStates(t *testing.T) {
	requireKeychain(t)
	d, _ := testDesk(t)
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	d.opts.Now = func() time.Time { return now }
	o := &Outbox{d: d}
	sent := func(ago time.Duration, signed bool) *outbox.Record {
		r := &outbox.Record{ID: "job1", Job: outbox.Job{MessageID: "m1@clinic.test", Signed: signed}, State: outbox.Sent,
			Result: &send.Result{Finished: now.Add(-ago)}}
		return r
	}
	in := func(kind ack.Kind, reason string, at time.Duration, job, msgID string) ackEntry {
		return ackEntry{Dir: ackIn, Kind: kind, Reason: reason, OriginalMessageID: msgID, Job: job, Peer: "p@pharmacy.test", Verdict: "verified", Time: now.Add(-at)}
	}
	tests := []struct {
		name    string
		rec     *outbox.Record
		es      []ackEntry
		state   TrackState
		overdue bool
		label   string
	}{
		{"sent recently", sent(time.Hour, true), nil, TrackSent, false, "sent"},
		{"sent 5h ago", sent(5*time.Hour, true), nil, TrackSent, true, "sent — " + OverdueText},
		{"unsigned never asks", sent(5*time.Hour, false), nil, TrackSent, false, "sent"},
		{"acknowledged", sent(5*time.Hour, true), []ackEntry{in(ack.Received, "", time.Hour, "job1", "m1@clinic.test")}, TrackAcknowledged, false, "acknowledged"},
		{"other job's ack", sent(5*time.Hour, true), []ackEntry{in(ack.Received, "", time.Hour, "job2", "m1@clinic.test")}, TrackSent, true, "sent — " + OverdueText},
		{"other message id", sent(time.Hour, true), []ackEntry{in(ack.Received, "", time.Hour, "job1", "m2@clinic.test")}, TrackSent, false, "sent"},
		{"accepted over received", sent(5*time.Hour, true), []ackEntry{in(ack.Accepted, "", 30*time.Minute, "job1", "m1@clinic.test"), in(ack.Received, "", time.Hour, "job1", "m1@clinic.test")}, TrackAccepted, false, "accepted"},
		{"latest manual wins", sent(5*time.Hour, true), []ackEntry{in(ack.Rejected, "Dose unclear", 10*time.Minute, "job1", "m1@clinic.test"), in(ack.Accepted, "", 30*time.Minute, "job1", "m1@clinic.test")}, TrackRejected, false, "rejected: Dose unclear"},
		{"ack settles possibly-sent", func() *outbox.Record { r := sent(5*time.Hour, true); r.State = outbox.PossiblySent; return r }(), []ackEntry{in(ack.Received, "", time.Hour, "job1", "m1@clinic.test")}, TrackAcknowledged, false, "acknowledged"},
		{"an acknowledgement job", sent(5*time.Hour, true), []ackEntry{{Dir: ackOut, Job: "job1", Kind: ack.Received}}, TrackSent, false, "sent (acknowledgement)"},
		{"queued", &outbox.Record{ID: "job1", Job: outbox.Job{MessageID: "m1@clinic.test", Signed: true}, State: outbox.Queued}, nil, TrackQueued, false, "queued"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := o.track(tt.rec, tt.es, 4*time.Hour)
			if got.State != tt.state || got.Overdue != tt.overdue || got.Label() != tt.label {
				t.Errorf("got %s overdue %v %q, want %s overdue %v %q", got.State, got.Overdue, got.Label(), tt.state, tt.overdue, tt.label)
			}
		})
	}
}
