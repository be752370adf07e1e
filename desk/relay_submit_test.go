package desk

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/securesend/securesend/relay"
	"github.com/securesend/securesend/send/outbox"
)

// TestRelaySubmitter: a relayed scan is queued encrypted through the
// Send journey (subject: the type the device's subject names, else the
// default), Queued hears of it, FindJob finds it by recipients and
// document sums only; a recipient that is not an address or a key that
// is missing is a relay.Refusal (a 5xx for the device), and nothing is
// queued for it.
func TestRelaySubmitter(t *testing.T) {
	c := newClinicHome(t)
	ob, err := c.d.Outbox(OutboxOptions{Via: Via{Account: "clinic"}})
	if err != nil {
		t.Fatal(err)
	}
	var queued []JobID
	s := &RelaySubmitter{Outbox: ob, DocType: "Other", Queued: func(id JobID) { queued = append(queued, id) }}
	scan := filepath.Join(t.TempDir(), "scan.pdf")
	if err := os.WriteFile(scan, []byte("%PDF-1.4\nscan\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := func(subject, to string) relay.Submission {
		return relay.Submission{Device: "frontdesk", Subject: subject, Recipients: []relay.Recipient{{Requested: to, Address: to}},
			Documents: []relay.Document{{Path: scan, Name: "scan.pdf", ContentType: "application/pdf"}}}
	}
	start := time.Now().Add(-time.Second)
	for _, tc := range []struct{ subject, want string }{{" referral ", "Referral"}, {"Scan from MFD", "Other"}} {
		id, err := s.Submit(t.Context(), sub(tc.subject, "bob@pharmacy.test"))
		if err != nil {
			t.Fatalf("%q: %v", tc.subject, err)
		}
		rec, err := ob.Get(id)
		if err != nil || rec.State != outbox.Queued || !rec.Encrypted || rec.Subject != tc.want {
			t.Errorf("%q: job %+v, %v; want queued, encrypted, subject %q", tc.subject, rec, err, tc.want)
		}
		if len(queued) == 0 || queued[len(queued)-1] != id {
			t.Errorf("%q: Queued heard %v, not %s", tc.subject, queued, id)
		}
	}
	if got, err := s.FindJob(t.Context(), []string{"BOB@pharmacy.test"}, []string{queuedSum(t, ob, queued[0])}, start); err != nil || got != queued[0] {
		t.Errorf("FindJob = %q, %v; want %s", got, err, queued[0])
	}
	if got, _ := s.FindJob(t.Context(), []string{"carol@pharmacy.test"}, []string{queuedSum(t, ob, queued[0])}, start); got != "" {
		t.Errorf("FindJob for another recipient = %q", got)
	}

	for _, to := range []string{"not an address", "carol@pharmacy.test"} {
		_, err := s.Submit(t.Context(), sub("Referral", to))
		var refusal *relay.Refusal
		if !errors.As(err, &refusal) {
			t.Errorf("to %q: %v, want a relay.Refusal", to, err)
		}
	}
	if recs, _ := ob.List(); len(recs) != 2 || len(queued) != 2 {
		t.Errorf("%d jobs, %d queued; want the 2 accepted", len(recs), len(queued))
	}
}

func queuedSum(t *testing.T, ob *Outbox, id JobID) string {
	t.Helper()
	rec, err := ob.Get(id)
	if err != nil || len(rec.Documents) != 1 {
		t.Fatalf("job %s: %+v, %v", id, rec, err)
	}
	return rec.Documents[0].SHA256
}
