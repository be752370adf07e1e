package outbox_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/send/outbox"
)

// TestJobNoteAndSupersedes: the clinician's note and what a replacement
// supersedes are kept with the job, across a restart and a delivery, and
// never in clear on disk (the record is encrypted at rest).
func TestJobNoteAndSupersedes(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, _ := f.message(2000)
	job := jobOf(m)
	job.Note = "Dispense today: dose corrected to 250mg for Jane Doe"
	job.Supersedes = &outbox.Supersedes{Kind: manifest.Replace, MessageID: "orig-1@clinic.example",
		Subject: "Prescription", PatientNHI: "ZZZ0016", SentAt: time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)}
	id, err := f.ob.Enqueue(t.Context(), job, composer(m))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ob.Deliver(t.Context(), id, f.srv.submit); err != nil {
		t.Fatal(err)
	}
	rec := f.open(outbox.Options{}).Get
	got, err := rec(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != outbox.Sent || got.Note != job.Note || got.NoteCut {
		t.Errorf("after delivery and a restart: state %s, note %q (cut %v), want sent and %q", got.State, got.Note, got.NoteCut, job.Note)
	}
	if s := got.Supersedes; s == nil || *s != *job.Supersedes {
		t.Errorf("supersedes = %+v, want %+v", s, job.Supersedes)
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(f.dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{"dose corrected", "orig-1@clinic.example", "ZZZ0016"} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%q found in clear in %s", needle, e.Name())
			}
		}
	}
}

// TestJobNoteBounded: a job keeps at most outbox.MaxNote bytes of the
// note, cut between characters and marked cut; a note that is not UTF-8
// is refused with nothing left behind.
func TestJobNoteBounded(t *testing.T) {
	long := strings.Repeat("a", outbox.MaxNote-1) + "ā" + "more" // "ā" is 2 bytes, straddling the bound
	tests := []struct {
		name, note, want string
		cut              bool
		err              string
	}{
		{name: "none", note: "", want: ""},
		{name: "short", note: "Dispense today", want: "Dispense today"},
		{name: "exactly the bound", note: strings.Repeat("x", outbox.MaxNote), want: strings.Repeat("x", outbox.MaxNote)},
		{name: "one byte over", note: strings.Repeat("x", outbox.MaxNote+1), want: strings.Repeat("x", outbox.MaxNote), cut: true},
		{name: "cut between characters", note: long, want: strings.Repeat("a", outbox.MaxNote-1), cut: true},
		{name: "not UTF-8", note: "dose \xff", err: "the note is not valid UTF-8 text"},
	}
	f := newFixture(t, outbox.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.ob.List()
			m, _ := f.message(500)
			job := jobOf(m)
			job.Note = tc.note
			id, err := f.ob.Enqueue(t.Context(), job, composer(m))
			if tc.err != "" {
				after, _ := f.ob.List()
				if err == nil || !strings.Contains(err.Error(), tc.err) || len(after) != len(before) {
					t.Fatalf("Enqueue = %q, %v (jobs %d → %d); want %q and nothing queued", id, err, len(before), len(after), tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := f.get(id)
			if got.Note != tc.want || got.NoteCut != tc.cut || !utf8.ValidString(got.Note) {
				t.Errorf("note of %d bytes (cut %v), want %d bytes (cut %v)", len(got.Note), got.NoteCut, len(tc.want), tc.cut)
			}
		})
	}
}

// TestJobSupersedesChecked: a job that claims to supersede a message
// without naming it, or in another way than replace or cancel, is
// refused.
func TestJobSupersedesChecked(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	for _, s := range []outbox.Supersedes{
		{Kind: manifest.Replace},
		{Kind: "amend", MessageID: "orig@clinic.example"},
	} {
		m, _ := f.message(500)
		job := jobOf(m)
		job.Supersedes = &s
		if id, err := f.ob.Enqueue(t.Context(), job, composer(m)); err == nil || !strings.Contains(err.Error(), "supersedes") {
			t.Errorf("Enqueue(%+v) = %q, %v; want refused", s, id, err)
		}
	}
	if recs, _ := f.ob.List(); len(recs) != 0 {
		t.Errorf("%d jobs left behind", len(recs))
	}
}

// TestJobJSONNames: the note and the supersession travel under stable
// names in the record's JSON ('securesend outbox list --json' and
// 'outbox show --json' print the record).
func TestJobJSONNames(t *testing.T) {
	rec := outbox.Record{ID: strings.Repeat("a", 32), Job: outbox.Job{MessageID: "new@clinic.example", Note: "Dose corrected", NoteCut: true,
		Supersedes: &outbox.Supersedes{Kind: manifest.Cancel, MessageID: "orig@clinic.example", Subject: "Prescription", PatientNHI: "ZZZ0016",
			SentAt: time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)}}}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"note":"Dose corrected"`, `"note_cut":true`,
		`"supersedes":{"kind":"cancel","message_id":"orig@clinic.example","subject":"Prescription","patient_nhi":"ZZZ0016","sent_at":"2026-03-02T08:30:00Z"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back outbox.Record
	if err := json.Unmarshal(b, &back); err != nil || back.Note != rec.Note || *back.Supersedes != *rec.Supersedes {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
