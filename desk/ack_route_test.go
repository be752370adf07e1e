package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// enqueueSent queues in o a signed job "rx@clinic.test" from Alice to Bob
// whose one document (script.pdf) has the SHA-256 sum, as the job of a
// message Alice sent; its body is a placeholder.
func enqueueSent(t *testing.T, o *Outbox, sum string) JobID {
	t.Helper()
	job, err := o.ob.Enqueue(context.Background(), outbox.Job{MessageID: "rx@clinic.test", Signed: true,
		Envelope: send.Envelope{From: "alice@clinic.test", To: []string{"bob@pharmacy.test"}}},
		func(w io.Writer) ([]send.DocumentInfo, error) {
			_, err := io.WriteString(w, "Subject: x\r\n\r\nx\r\n")
			return []send.DocumentInfo{{Name: "script.pdf", ContentType: "application/pdf", Size: 1, SHA256: sum}}, err
		})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// ackParts are the decoded RFC 8098 and JSON parts of an acknowledgement
// of kind for msgID by final, listing hashes.
func ackParts(kind ack.Kind, msgID, final, verdict string, hashes ...string) []capturedPart {
	disp, _ := ack.Disposition(kind)
	n := fmt.Sprintf("Reporting-UA: securesend; securesend\r\nFinal-Recipient: rfc822; %s\r\nOriginal-Message-ID: <%s>\r\nDisposition: %s\r\n", final, msgID, disp)
	docs := []manifest.Document{}
	for i, h := range hashes {
		docs = append(docs, manifest.Document{Name: fmt.Sprintf("doc%d.pdf", i), ContentType: "application/pdf", Size: 1, SHA256: h})
	}
	reason := ""
	if kind == ack.Rejected {
		reason = "Dose unclear"
	}
	j, _ := json.Marshal(map[string]any{"version": 1, "kind": kind, "original_message_id": msgID, "final_recipient": final,
		"verdict": verdict, "reason": reason, "time": time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), "documents": docs})
	return []capturedPart{{contentType: ack.NotificationType, data: []byte(n), path: ackPlaceholder + "0"},
		{contentType: ack.MediaType, data: j, path: ackPlaceholder + "1"}}
}

// routeAck counts an acknowledgement only when it is Verified (not an
// impostor), well formed, from a recipient of an outbox job with its
// Message-ID and exactly its documents, and signed by its Final-Recipient;
// every other one is ignored with the reason in the audit log, and the
// job's state does not change.
func TestAckRouteIgnores(t *testing.T) {
	requireKeychain(t)
	d, _ := testDesk(t)
	o, err := d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 32)
	job := enqueueSent(t, o, sum)
	verified := func() *receive.Report {
		return &receive.Report{Verdict: receive.Verified, From: "bob@pharmacy.test", SignerFingerprint: "F00D",
			Documents: []receive.Document{{Path: ackPlaceholder + "0"}, {Path: ackPlaceholder + "1"}}}
	}
	good := func() []capturedPart {
		return ackParts(ack.Received, "rx@clinic.test", "bob@pharmacy.test", "verified", sum)
	}
	tests := []struct {
		name   string
		rep    func(*receive.Report)
		parts  []capturedPart
		reason string
	}{
		{"unknown signer", func(r *receive.Report) { r.Verdict = receive.UnknownSigner }, good(), "it is not verified (unknown-signer)"},
		{"impostor", func(r *receive.Report) { r.Verdict, r.Impostor = receive.UnknownSigner, true }, good(), "it is not verified"},
		{"sender mismatch", func(r *receive.Report) { r.Verdict = receive.SenderMismatch }, good(), "it is not verified (sender-mismatch)"},
		{"not addressed", func(r *receive.Report) { r.Verdict = receive.NotAddressed }, good(), "it is not verified (not-addressed-to-you)"},
		{"unknown message id", nil, ackParts(ack.Received, "other@clinic.test", "bob@pharmacy.test", "verified", sum), "no message with that Message-ID"},
		{"not a recipient", func(r *receive.Report) { r.From = "carol@pharmacy.test" },
			ackParts(ack.Received, "rx@clinic.test", "carol@pharmacy.test", "verified", sum), "not from a recipient"},
		{"other documents", nil, ackParts(ack.Accepted, "rx@clinic.test", "bob@pharmacy.test", "verified", strings.Repeat("cd", 32)), "not the ones sent"},
		{"no documents", nil, ackParts(ack.Accepted, "rx@clinic.test", "bob@pharmacy.test", "verified"), "not the ones sent"},
		{"final recipient is not the signer", nil, ackParts(ack.Received, "rx@clinic.test", "carol@pharmacy.test", "verified", sum), "Final-Recipient is not the address that signed it"},
		{"receiver's verdict", nil, ackParts(ack.Received, "rx@clinic.test", "bob@pharmacy.test", "unknown-signer", sum), "did not verify"},
		{"documents beside it", func(r *receive.Report) { r.Documents = append(r.Documents, receive.Document{Path: "doc-1.enc"}) }, good(), "carries documents besides"},
		{"two notifications", nil, append(good(), good()[0]), "more than one"},
		{"no JSON part", nil, good()[:1], "lacks securesend's acknowledgement part"},
		{"disagreeing parts", nil, []capturedPart{good()[0], ackParts(ack.Rejected, "rx@clinic.test", "bob@pharmacy.test", "verified", sum)[1]}, "Disposition does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := verified()
			if tt.rep != nil {
				tt.rep(rep)
			}
			if routeAck := d.routeAck(rep, tt.parts); routeAck {
				t.Fatal("counted")
			}
			log := exportAudit(t, d)
			last := log[strings.LastIndex(log, `"kind":"ack.`):]
			if !strings.HasPrefix(last, `"kind":"ack.ignored"`) || !strings.Contains(last, tt.reason) {
				t.Errorf("last audit record %s, want ack.ignored with %q", last, tt.reason)
			}
			rec, _ := o.Get(job)
			if tr := o.Track(rec); tr.Receipt != nil {
				t.Errorf("the job's state changed: %+v", tr)
			}
		})
	}
	// The genuine one counts, once, whatever the number of fetches.
	for i := 0; i < 2; i++ {
		if !d.routeAck(verified(), good()) {
			t.Fatal("a genuine acknowledgement was not counted")
		}
	}
	rec, _ := o.Get(job)
	if tr := o.Track(rec); tr.State != TrackAcknowledged || tr.From != "bob@pharmacy.test" {
		t.Errorf("after the genuine acknowledgement: %+v", tr)
	}
	if n := strings.Count(exportAudit(t, d), `"kind":"ack.received"`); n != 1 {
		t.Errorf("%d ack.received records, want 1", n)
	}
}
