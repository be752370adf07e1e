package desk

import (
	"strings"
	"testing"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/send/outbox"
)

// TestSentRecordTellsTheStory: the Sent records of a prescription, its
// replacement and the replacement's cancellation keep each message's note
// and say what each supersedes (the original's Message-ID, document type,
// patient and time, from its own record); tracking marks the original
// replaced by the second and the second cancelled by the third.
func TestSentRecordTellsTheStory(t *testing.T) {
	c := newClinicHome(t)
	m := prescription(t, "amoxicillin 500mg")
	m.PatientNHI, m.Note = "WLD9413", "Please dispense today"
	orig := c.send(t, Draft{Message: m})
	repl := prescription(t, "amoxicillin 250mg")
	repl.PatientNHI, repl.Note = "WLD9413", "Dose corrected to 250mg"
	replID := c.send(t, Draft{Message: repl, Replaces: orig})
	cancelID := c.cancel(t, replID, "wrong patient")

	ob, err := c.d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ob.List()
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*outbox.Record{}
	for _, r := range recs {
		by[r.MessageID] = r
	}
	o, r, x := by[orig], by[replID], by[cancelID]
	if o == nil || r == nil || x == nil {
		t.Fatalf("records: %d, want the original, the replacement and the cancellation", len(recs))
	}
	for _, tc := range []struct {
		what string
		rec  *outbox.Record
		note string
		sup  *outbox.Supersedes
	}{
		{"original", o, "Please dispense today", nil},
		{"replacement", r, "Dose corrected to 250mg", &outbox.Supersedes{Kind: manifest.Replace, MessageID: orig,
			Subject: "Prescription", PatientNHI: "WLD9413", SentAt: o.Result.Finished}},
		{"cancellation", x, "wrong patient", &outbox.Supersedes{Kind: manifest.Cancel, MessageID: replID,
			Subject: "Prescription", PatientNHI: "WLD9413", SentAt: r.Result.Finished}},
	} {
		if tc.rec.Note != tc.note {
			t.Errorf("%s: note %q, want %q", tc.what, tc.rec.Note, tc.note)
		}
		switch got := tc.rec.Supersedes; {
		case tc.sup == nil && got != nil:
			t.Errorf("%s supersedes %+v, want nothing", tc.what, got)
		case tc.sup != nil && (got == nil || got.Kind != tc.sup.Kind || got.MessageID != tc.sup.MessageID || got.Subject != tc.sup.Subject ||
			got.PatientNHI != tc.sup.PatientNHI || !got.SentAt.Equal(tc.sup.SentAt)):
			t.Errorf("%s supersedes %+v, want %+v", tc.what, got, tc.sup)
		}
	}

	ts := ob.TrackAll(recs)
	for i, rec := range recs {
		s := ts[i].SupersededBy
		switch rec.MessageID {
		case orig:
			if s == nil || s.Kind != manifest.Replace || s.MessageID != replID || s.Job != r.ID || s.State != outbox.Sent || !s.Time.Equal(r.Result.Finished) {
				t.Errorf("original superseded by %+v, want the replacement, sent", s)
			}
		case replID:
			if s == nil || s.Kind != manifest.Cancel || s.MessageID != cancelID {
				t.Errorf("replacement superseded by %+v, want the cancellation", s)
			}
		default:
			if s != nil {
				t.Errorf("cancellation superseded by %+v", s)
			}
		}
	}
	// Track (one job, as 'outbox show') says the same.
	if s := ob.Track(o).SupersededBy; s == nil || s.MessageID != replID {
		t.Errorf("Track(original).SupersededBy = %+v", s)
	}
}

// TestStoppedReplacementSupersedesNothing: a replacement stopped in the
// outbox before it went out leaves the original current.
func TestStoppedReplacementSupersedesNothing(t *testing.T) {
	c := newClinicHome(t)
	orig := c.send(t, Draft{Message: prescription(t, "amoxicillin 500mg")})
	id, err := c.d.Send(t.Context(), Draft{Message: prescription(t, "amoxicillin 250mg"), Replaces: orig, Via: Via{Account: "clinic"}})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := c.d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := ob.List()
	if s := ob.TrackAll(recs)[0].SupersededBy; s == nil || s.State != outbox.Queued {
		t.Errorf("with the replacement queued: %+v, want it (queued)", s)
	}
	if _, err := ob.Cancel(id); err != nil {
		t.Fatal(err)
	}
	recs, _ = ob.List()
	if s := ob.TrackAll(recs)[0].SupersededBy; s != nil {
		t.Errorf("with the replacement stopped: superseded by %+v", s)
	}
	if !strings.EqualFold(recs[0].MessageID, orig) {
		t.Fatalf("first record %s, want the original", recs[0].MessageID)
	}
}
