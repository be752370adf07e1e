package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// TestSubmitRefused: a SubmitFunc that refuses a job (the policy check at
// delivery) fails it at once with the reason, audited as failed, without a
// retry and without anything reaching the server; the SubmitFunc saw the
// job's record, keys included, and cannot alter the stored one through it.
func TestSubmitRefused(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, _ := f.message(1000)
	job := jobOf(m)
	job.Encrypted = true
	job.EncryptedTo = map[string]string{testTo: strings.Repeat("AB", 20)}
	id, err := f.ob.Enqueue(t.Context(), job, composer(m))
	if err != nil {
		t.Fatal(err)
	}
	var seen outbox.Record
	refuse := func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
		rec, ok := outbox.JobRecord(ctx)
		if !ok {
			t.Error("no JobRecord inside the SubmitFunc")
		}
		seen = rec
		seen.EncryptedTo = map[string]string{testTo: rec.EncryptedTo[testTo]}
		seen.Envelope.To = slices.Clone(rec.Envelope.To)
		rec.EncryptedTo[testTo] = "changed"
		rec.Envelope.To[0] = "changed@example.org"
		return nil, fmt.Errorf("%w: policy: %s: not allowed", outbox.ErrRefused, env.To[0])
	}
	recs, err := f.ob.RunDue(t.Context(), refuse)
	if err != nil || len(recs) != 1 {
		t.Fatalf("RunDue = %v, %v", recs, err)
	}
	rec := f.get(id)
	if rec.State != outbox.Failed || !strings.Contains(rec.LastError, "refused by your organisation's policy at delivery") ||
		!strings.Contains(rec.LastError, testTo+": not allowed") || !rec.NextAttempt.IsZero() {
		t.Errorf("refused job: %s %q next %v", rec.State, rec.LastError, rec.NextAttempt)
	}
	if seen.ID != id || !seen.Encrypted || seen.EncryptedTo[testTo] != strings.Repeat("AB", 20) || seen.Account != "clinic" || seen.Envelope.To[0] != testTo {
		t.Errorf("JobRecord inside the SubmitFunc: %+v", seen)
	}
	if rec.EncryptedTo[testTo] != strings.Repeat("AB", 20) || rec.Envelope.To[0] != testTo {
		t.Errorf("the SubmitFunc altered the stored job: %+v", rec)
	}
	if n := len(f.srv.messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
	if kinds := f.auditKinds(); !slices.Contains(kinds, audit.SendFailed) {
		t.Errorf("audit: %v", kinds)
	}
	if _, ok := outbox.JobRecord(t.Context()); ok {
		t.Error("JobRecord outside a delivery")
	}
	if _, err := f.ob.Deliver(t.Context(), id, f.srv.submit); !errors.Is(err, outbox.ErrState) {
		t.Errorf("a refused job is delivered again without Retry: %v", err)
	}
}
