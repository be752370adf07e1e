package desk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// alicesIMAPDesk is the clinician's Desk: Alice's keys, Bob's pinned, an
// account for alice@clinic.test on an in-process IMAP server, the default
// policy (automatic acknowledgements on).
func alicesIMAPDesk(t *testing.T) (*Desk, *accounttest.IMAPServer) {
	t.Helper()
	requireKeychain(t)
	d, _ := testDesk(t)
	ownKeys(t, d, "alice", "bob")
	return d, addIMAPAccount(t, d, "clinic", "alice@clinic.test", "imap-pass-for-ack-attack")
}

// queueSent puts in d's outbox the job of alicesPrescription(id) to bob
// (what Alice's securesend recorded when it sent it).
func queueSent(t *testing.T, d *Desk, id string) (*Outbox, JobID) {
	t.Helper()
	o, err := d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("%PDF-1.4\n% TEST ONLY prescription\n%%EOF\n"))
	job, err := o.ob.Enqueue(context.Background(), outbox.Job{MessageID: id, Signed: true, Encrypted: true,
		Envelope: send.Envelope{From: "alice@clinic.test", To: []string{"bob@pharmacy.test"}}},
		func(w io.Writer) ([]send.DocumentInfo, error) {
			_, err := io.WriteString(w, "Subject: x\r\n\r\nx\r\n")
			return []send.DocumentInfo{{Name: "script.pdf", ContentType: "application/pdf", Size: 1, SHA256: hex.EncodeToString(sum[:])}}, err
		})
	if err != nil {
		t.Fatal(err)
	}
	return o, job
}

// jobBytes is the message of outbox job id of d, as it would be sent.
func jobBytes(t *testing.T, d *Desk, id JobID) []byte {
	t.Helper()
	o, err := d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := o.ob.OpenMessage(id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The loop between two desks with automatic acknowledgements on both, as
// a hostile server would play it: Bob's securesend acknowledges Alice's
// prescription; the server delivers that acknowledgement to Alice three
// times. Alice's desk counts it once, acknowledges nothing back (no
// automatic one, and a manual one is refused with ErrAckOfAck), and her
// job is acknowledged.
func TestAckAttackTwoDesksNoPingPong(t *testing.T) {
	ctx := context.Background()
	bob, bobSrv := policyDesk(t, "auto")
	alice, aliceSrv := alicesIMAPDesk(t)
	const id = "rx-loop@clinic.test"
	o, job := queueSent(t, alice, id)
	bobSrv.Deliver(t, alicesPrescription(t, id))
	res, err := bob.Fetch(ctx, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Acknowledgements) != 1 {
		t.Fatalf("bob queued %d acknowledgements, want 1", len(res.Acknowledgements))
	}
	ackMsg := jobBytes(t, bob, res.Acknowledgements[0])
	for i := 0; i < 3; i++ {
		aliceSrv.Deliver(t, ackMsg)
	}
	ares, err := alice.Fetch(ctx, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ares.Acknowledgements) != 0 {
		t.Errorf("alice acknowledged an acknowledgement: %v", ares.Acknowledgements)
	}
	for _, it := range ares.New {
		if err := alice.Acknowledge(ctx, it.ID, ack.Accepted, ""); !errors.Is(err, ErrAckOfAck) {
			t.Errorf("manual acknowledgement of item #%s (an acknowledgement): %v, want ErrAckOfAck", it.ID, err)
		}
	}
	rec, err := o.Get(job)
	if err != nil {
		t.Fatal(err)
	}
	if tr := o.Track(rec); tr.State != TrackAcknowledged || tr.From != "bob@pharmacy.test" {
		t.Errorf("alice's job: %+v", tr)
	}
	if n := strings.Count(exportAudit(t, alice), `"kind":"ack.received"`); n != 1 {
		t.Errorf("%d ack.received records after three deliveries, want 1", n)
	}
	if recs, _ := o.List(); len(recs) != 1 {
		t.Errorf("alice's outbox has %d jobs, want only the prescription", len(recs))
	}
}

// hostileAck is an acknowledgement signed by Alice's pinned key, sent to
// Bob, for a message Bob never sent, that (unlike securesend's) asks for
// an acknowledgement in its protected header.
func hostileAck(t *testing.T, kind ack.Kind) []byte {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	m := &send.Message{From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: ack.Subject(kind), MessageID: "hostile-ack@clinic.test", Date: now}
	reason := ""
	if kind == ack.Rejected {
		reason = "Dose unclear"
	}
	rc := &ack.Receipt{OriginalMessageID: "never-sent@pharmacy.test", Kind: kind, Reason: reason, Verdict: "verified",
		Documents:      []manifest.Document{{Name: "x.pdf", ContentType: "application/pdf", Size: 1, SHA256: strings.Repeat("ab", 32)}},
		FinalRecipient: "alice@clinic.test", Time: now}
	var b bytes.Buffer
	p := send.Protection{Signer: testKey(t, "alice"), Encrypt: true, Recipients: []*pgp.PublicKey{testKey(t, "bob").Public()}}
	if err := send.ComposeProtectedEntity(&b, m, p, func(w io.Writer) error { return ack.Write(w, rc) }); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A correspondent with a pinned key sends an acknowledgement that asks
// for an acknowledgement (a ping-pong between two auto-acknowledging
// programs, RFC 8098 section 2.1 forbids answering one). It does not
// count (no job), so it is kept as an ordinary Verified item: it must
// still never be acknowledged, automatically or by hand, and it must say
// that it did not count rather than look like a confirmation.
func TestAckAttackAckAskingForAck(t *testing.T) {
	ctx := context.Background()
	bob, srv := policyDesk(t, "auto")
	srv.Deliver(t, hostileAck(t, ack.Accepted))
	res, err := bob.Fetch(ctx, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.New) != 1 || res.New[0].Verdict != receive.Verified {
		t.Fatalf("fetch: %+v", res.New)
	}
	if len(res.Acknowledgements) != 0 {
		t.Errorf("an acknowledgement was acknowledged automatically: %v", res.Acknowledgements)
	}
	it := res.New[0]
	for _, k := range []ack.Kind{ack.Received, ack.Accepted} {
		if err := bob.Acknowledge(ctx, it.ID, k, ""); !errors.Is(err, ErrAckOfAck) {
			t.Errorf("%s of an acknowledgement: %v, want ErrAckOfAck", k, err)
		}
	}
	st, err := bob.Inbox()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := st.Report(it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.Remarks, AckIgnoredRemark) || slices.Contains(rep.Remarks, AckRemark) {
		t.Errorf("remarks %q, want the ignored-acknowledgement remark", rep.Remarks)
	}
	if !strings.Contains(exportAudit(t, bob), `"kind":"ack.ignored"`) {
		t.Error("the ignored acknowledgement is not audited")
	}
	ob, _ := bob.Outbox(OutboxOptions{})
	if recs, _ := ob.List(); len(recs) != 0 {
		t.Errorf("bob's outbox has %d jobs, want none", len(recs))
	}
}

// A hostile sender's signed Disposition-Notification-To naming a third
// party (or differing from From in case or display name) never sends
// anything there: the acknowledgement goes to the verified From, to the
// key that signed it. One only in the outer header asks for nothing.
func TestAckAttackDispositionNotificationTo(t *testing.T) {
	ctx := context.Background()
	bob, srv := policyDesk(t, "auto")
	doc := filepath.Join(t.TempDir(), "script.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.4\n% TEST ONLY prescription\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &send.Message{From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: "Prescription (TEST ONLY)", Documents: []send.Document{{Path: doc}}, MessageID: "rx-outer@clinic.test", Date: time.Now(),
		NoAcknowledgement: true}
	var b bytes.Buffer
	if _, err := send.ComposeProtected(&b, m, send.Protection{Signer: testKey(t, "alice"), Encrypt: true,
		Recipients: []*pgp.PublicKey{testKey(t, "bob").Public()}}); err != nil {
		t.Fatal(err)
	}
	srv.Deliver(t, append([]byte("Disposition-Notification-To: <mallory@evil.test>\r\n"), b.Bytes()...))
	res, err := bob.Fetch(ctx, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.New) != 1 || res.New[0].Verdict != receive.Verified {
		t.Fatalf("fetch: %+v", res.New)
	}
	st, _ := bob.Inbox()
	rep, err := st.Report(res.New[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.DispositionNotificationTo != "" || len(res.Acknowledgements) != 0 {
		t.Errorf("an outer Disposition-Notification-To was honoured: %q, %d jobs", rep.DispositionNotificationTo, len(res.Acknowledgements))
	}
	for i, dnt := range []string{"mallory@evil.test", "ALICE@clinic.test", "alice@xn--clinc-jua.test"} {
		r := *rep
		r.DispositionNotificationTo = dnt
		kind := []ack.Kind{ack.Received, ack.Accepted, ack.Rejected}[i]
		job, err := bob.queueAck(ctx, &res.New[0], &r, kind, map[bool]string{true: "Dose unclear"}[kind == ack.Rejected])
		if err != nil {
			t.Fatal(err)
		}
		ob, _ := bob.Outbox(OutboxOptions{})
		rec, err := ob.Get(job)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rec.Envelope.To, []string{"alice@clinic.test"}) || len(rec.EncryptedTo) != 1 {
			t.Errorf("Disposition-Notification-To %s: acknowledgement to %v, encrypted to %v", dnt, rec.Envelope.To, rec.EncryptedTo)
		}
	}
}

// Hostile correspondents among a job's recipients: each recipient's
// latest decision counts for that recipient only, and a rejection by any
// recipient is shown, whatever time another recipient claims for a later
// acceptance (the time is the acknowledger's own, and a co-recipient must
// not hide a pharmacy's rejection from the clinician). From one
// recipient, "accepted" before "received" still shows accepted, and
// "rejected" after "accepted" shows rejected.
func TestAckAttackTrackOrder(t *testing.T) {
	requireKeychain(t)
	d, _ := testDesk(t)
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	d.opts.Now = func() time.Time { return now }
	o := &Outbox{d: d}
	rec := &outbox.Record{ID: "job1", Job: outbox.Job{MessageID: "m1@clinic.test", Signed: true}, State: outbox.Sent,
		Result: &send.Result{Finished: now.Add(-5 * time.Hour)}}
	in := func(peer string, kind ack.Kind, at time.Duration) ackEntry {
		reason := ""
		if kind == ack.Rejected {
			reason = "Dose unclear"
		}
		return ackEntry{Dir: ackIn, Kind: kind, Reason: reason, OriginalMessageID: "m1@clinic.test", Job: "job1", Peer: peer, Verdict: "verified", Time: now.Add(at)}
	}
	const a, b = "a@pharmacy.test", "b@pharmacy.test"
	tests := []struct {
		name  string
		es    []ackEntry
		state TrackState
		from  string
	}{
		{"accepted before received", []ackEntry{in(a, ack.Accepted, -time.Hour), in(a, ack.Received, -30*time.Minute)}, TrackAccepted, a},
		{"rejected after accepted", []ackEntry{in(a, ack.Accepted, -time.Hour), in(a, ack.Rejected, -30*time.Minute)}, TrackRejected, a},
		{"rejected after accepted, delivered in reverse", []ackEntry{in(a, ack.Rejected, -30*time.Minute), in(a, ack.Accepted, -time.Hour)}, TrackRejected, a},
		{"accepted after rejected by the same pharmacy", []ackEntry{in(a, ack.Rejected, -time.Hour), in(a, ack.Accepted, -30*time.Minute)}, TrackAccepted, a},
		{"co-recipient accepts in the future", []ackEntry{in(a, ack.Rejected, -time.Hour), in(b, ack.Accepted, 24*365*time.Hour)}, TrackRejected, a},
		{"co-recipient accepts first", []ackEntry{in(b, ack.Accepted, -2*time.Hour), in(a, ack.Rejected, -time.Hour)}, TrackRejected, a},
		{"co-recipient accepts, other only received", []ackEntry{in(a, ack.Received, -2*time.Hour), in(b, ack.Accepted, -time.Hour)}, TrackAccepted, b},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := o.track(rec, tt.es, 4*time.Hour)
			if got.State != tt.state || got.From != tt.from || got.Overdue {
				t.Errorf("got %s from %s (overdue %v), want %s from %s", got.State, got.From, got.Overdue, tt.state, tt.from)
			}
		})
	}
}

// A hostile server replays an old genuine acknowledgement after the
// clinician queued the message again (a resend keeps its Message-ID): it
// counts for the new job only when that job carries exactly the
// documents acknowledged (the recipient did receive and verify that
// content under that Message-ID), never for a job of the same
// Message-ID with other documents.
func TestAckAttackReplayForResend(t *testing.T) {
	requireKeychain(t)
	d, _ := testDesk(t)
	o, err := d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	enqueue := func(sum string) JobID { return enqueueSent(t, o, sum) }
	sum, other := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	first := enqueue(sum)
	rep := func() *receive.Report {
		return &receive.Report{Verdict: receive.Verified, From: "bob@pharmacy.test", SignerFingerprint: "F00D",
			Documents: []receive.Document{{Path: ackPlaceholder + "0"}, {Path: ackPlaceholder + "1"}}}
	}
	if !d.routeAck(rep(), ackParts(ack.Rejected, "rx@clinic.test", "bob@pharmacy.test", "verified", sum)) {
		t.Fatal("the genuine acknowledgement was not counted")
	}
	changed := enqueue(other)
	resend := enqueue(sum)
	if !d.routeAck(rep(), ackParts(ack.Rejected, "rx@clinic.test", "bob@pharmacy.test", "verified", sum)) {
		t.Fatal("the replay was not counted for the resend")
	}
	for _, tc := range []struct {
		job   JobID
		state TrackState
	}{{first, TrackRejected}, {resend, TrackRejected}, {changed, TrackQueued}} {
		rec, err := o.Get(tc.job)
		if err != nil {
			t.Fatal(err)
		}
		if tr := o.Track(rec); tr.State != tc.state {
			t.Errorf("job %s: %s, want %s", tc.job, tr.State, tc.state)
		}
	}
}

// A message of 1,000 acknowledgement-like parts: only the first of each
// kind is held in memory while it is verified, every other goes to the
// inbox store at once, and the message does not count.
func TestAckAttackManyParts(t *testing.T) {
	requireKeychain(t)
	d, _ := testDesk(t)
	parts := ackParts(ack.Received, "rx@clinic.test", "bob@pharmacy.test", "verified", strings.Repeat("ab", 32))
	var during, after int
	done := false
	sink := func(_, _ string, r io.Reader) (string, error) {
		if done {
			after++
		} else {
			during++
		}
		_, err := io.Copy(io.Discard, r)
		return "stored", err
	}
	verify := func(ctx context.Context, _ io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
		rep := &receive.Report{Verdict: receive.Verified, From: "bob@pharmacy.test"}
		for i := 0; i < 1000; i++ {
			p := parts[i%2]
			path, err := sink("part", p.contentType, bytes.NewReader(p.data))
			if err != nil {
				return nil, err
			}
			rep.Documents = append(rep.Documents, receive.Document{Path: path, ContentType: p.contentType})
		}
		done = true
		return rep, nil
	}
	rep, err := d.ackVerifier(verify)(context.Background(), nil, sink)
	if err != nil {
		t.Fatal(err)
	}
	if during != 998 || after != 2 {
		t.Errorf("%d parts stored while verifying and %d after, want 998 and 2 (two held in memory)", during, after)
	}
	if !slices.Contains(rep.Remarks, AckIgnoredRemark) || slices.ContainsFunc(rep.Documents, func(doc receive.Document) bool { return doc.Path != "stored" }) {
		t.Errorf("report: remarks %q, documents %+v", rep.Remarks, rep.Documents[:2])
	}
}
