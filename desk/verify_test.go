package desk

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/receive"
)

// TestRedactWithheldJSON: the JSON of a withheld report carries nothing
// from inside the message either.
func TestRedactWithheldJSON(t *testing.T) {
	r := &receive.Report{Verdict: receive.CannotDecrypt, Subject: "inner", Note: "Dispense 90",
		Documents: []receive.Document{{Name: "rx.pdf"}}}
	got := Redact(r)
	if got.Note != "" || got.Subject != "" || len(got.Documents) != 0 || !got.Withheld {
		t.Errorf("redacted: %+v", got)
	}
	if r.Note == "" || len(r.Documents) != 1 {
		t.Error("Redact changed its argument")
	}
	ok := &receive.Report{Verdict: receive.NotSigned, Note: "n"}
	if Redact(ok) != ok {
		t.Error("a releasable report was copied or changed")
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	return names
}

// TestExtractStagePublishesAfterVerdict: a staged document is not in the
// extraction folder at all until publish, publishing never overwrites and
// leaves no temporary file, and discard leaves nothing, in the folder or
// in the temp folder.
func TestExtractStagePublishesAfterVerdict(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rx.pdf"), []byte("earlier"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := (&Desk{}).newExtractStage(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.sink("rx.pdf", "application/pdf", strings.NewReader("%PDF-1.7 new"))
	if err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); strings.Join(got, ",") != "rx.pdf" {
		t.Fatalf("before the verdict the folder holds %q", got)
	}
	if !strings.HasPrefix(p, tmp) {
		t.Errorf("staged at %s, not in the private temp folder", p)
	}
	rep := &receive.Report{Documents: []receive.Document{{Name: "rx.pdf", Path: p}}}
	if err := s.publish(rep); err != nil {
		t.Fatal(err)
	}
	s.discard()
	if got := listDir(t, dir); strings.Join(got, ",") != "rx (2).pdf,rx.pdf" {
		t.Errorf("after publish: %q", got)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "rx.pdf")); string(data) != "earlier" {
		t.Error("publish overwrote an existing file")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "rx (2).pdf")); string(data) != "%PDF-1.7 new" {
		t.Errorf("published content %q", data)
	}
	if rep.Documents[0].Path != filepath.Join(dir, "rx (2).pdf") {
		t.Errorf("Path = %s", rep.Documents[0].Path)
	}

	s2, _ := (&Desk{}).newExtractStage(dir)
	s2.sink("other.pdf", "application/pdf", strings.NewReader("x"))
	s2.discard()
	if got := listDir(t, dir); len(got) != 2 {
		t.Errorf("a discarded document reached the folder: %q", got)
	}
	if got := listDir(t, tmp); len(got) != 0 {
		t.Errorf("the temp folder keeps %q", got)
	}
}

// TestExtractable is the extraction rule for every verdict.
func TestExtractable(t *testing.T) {
	imp := &receive.Report{Verdict: receive.Verified}
	imp.Impostor = true
	held := &receive.Report{Verdict: receive.UnknownSigner}
	held.Withheld = true
	tests := []struct {
		rep                   *receive.Report
		plain, withUnverified bool
	}{
		{&receive.Report{Verdict: receive.Verified}, true, true},
		{&receive.Report{Verdict: receive.NotSigned}, false, true},
		{&receive.Report{Verdict: receive.UnknownSigner}, false, true},
		{&receive.Report{Verdict: receive.NotAddressed}, false, true},
		{&receive.Report{Verdict: receive.SenderMismatch}, false, true},
		{&receive.Report{Verdict: receive.BadSignature}, false, false},
		{&receive.Report{Verdict: receive.CannotDecrypt}, false, false},
		{&receive.Report{Verdict: "some-future-verdict"}, false, false},
		{imp, false, true},
		{held, false, false},
	}
	for _, tt := range tests {
		if ok, why := Extractable(tt.rep, false); ok != tt.plain || (!ok && why == "") {
			t.Errorf("%s (impostor %v, withheld %v): Extractable = %v %q", tt.rep.Verdict, tt.rep.Impostor, tt.rep.Withheld, ok, why)
		}
		if ok, _ := Extractable(tt.rep, true); ok != tt.withUnverified {
			t.Errorf("%s (impostor %v, withheld %v) with --extract-unverified: %v", tt.rep.Verdict, tt.rep.Impostor, tt.rep.Withheld, ok)
		}
	}
}

// TestVerifyExtractRules: Verify of an opened .eml by Bob's desk extracts
// a verified message's documents, a not-verified one's only when allowed,
// a withheld one's never; a refusal says why and leaves the folder empty;
// every verification is in the audit log.
func TestVerifyExtractRules(t *testing.T) {
	requireKeychain(t)
	t.Setenv("TMPDIR", t.TempDir())
	d, warnings := testDesk(t)
	bobsKeys(t, d)
	tests := []struct {
		file       string
		unverified bool
		verdict    receive.Verdict
		extracted  bool
	}{
		{"good_encrypted.eml", false, receive.Verified, true},
		{"unknown_signer.eml", false, receive.UnknownSigner, false},
		{"unknown_signer.eml", true, receive.UnknownSigner, true},
		{"bad_signature_body_altered.eml", false, receive.BadSignature, false},
		{"bad_signature_body_altered.eml", true, receive.BadSignature, false},
		{"cannot_decrypt_wrong_key.eml", true, receive.CannotDecrypt, false},
	}
	for _, tt := range tests {
		dir := filepath.Join(t.TempDir(), "out")
		v, err := d.Verify(context.Background(), bytes.NewReader(testdata(t, tt.file)), VerifyOptions{Extract: dir, ExtractUnverified: tt.unverified})
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		got := listDir(t, dir)
		if v.Report.Verdict != tt.verdict || (len(got) > 0) != tt.extracted || (v.Refused == "") != tt.extracted {
			t.Errorf("%s (unverified %v): %s, extracted %q, refused %q", tt.file, tt.unverified, v.Report.Verdict, got, v.Refused)
		}
		for _, doc := range v.Report.Documents {
			if tt.extracted != (doc.Path != "") {
				t.Errorf("%s: document %s has path %q", tt.file, doc.Name, doc.Path)
			}
		}
		if Withheld(v.Report) && len(v.Shown().Documents) != 0 {
			t.Errorf("%s: the shown report lists documents", tt.file)
		}
	}
	if _, err := d.Verify(context.Background(), strings.NewReader(""), VerifyOptions{ExtractUnverified: true}); err == nil {
		t.Error("ExtractUnverified without a folder: no error")
	}
	l, err := d.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := l.Export(&log, audit.JSON, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), string(audit.ReceiveVerified)); n != len(tests) {
		t.Errorf("%d receive.verified events, want %d", n, len(tests))
	}
	if len(*warnings) != 0 {
		t.Errorf("warnings: %v", *warnings)
	}
}
