package receive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

// signedTruth is what the test keys ever signed in the committed fixtures:
// the documents, notes and protected header values of every fixture that
// is Verified. A fuzzer cannot forge a signature, so whatever a mutated
// message releases as Verified must come from there.
type signedTruth struct {
	docs, notes, subjects, froms, dates, ids map[string]bool
	recipients                               map[string]bool
}

func collectTruth(f *testing.F, opts receive.VerifyOptions, files []string) signedTruth {
	tr := signedTruth{docs: map[string]bool{}, notes: map[string]bool{}, subjects: map[string]bool{}, froms: map[string]bool{},
		dates: map[string]bool{}, ids: map[string]bool{}, recipients: map[string]bool{}}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		rep, err := receive.Verify(context.Background(), bytes.NewReader(data), opts)
		if err != nil || rep.Verdict != receive.Verified {
			continue
		}
		for _, d := range rep.Documents {
			tr.docs[d.SHA256] = true
		}
		tr.notes[rep.Note] = true
		tr.subjects[rep.Subject] = true
		tr.froms[rep.From] = true
		tr.dates[rep.Date.String()] = true
		tr.ids[rep.MessageID] = true
		for _, a := range append(slices.Clone(rep.To), rep.Cc...) {
			tr.recipients[a] = true
		}
	}
	if len(tr.docs) == 0 {
		f.Fatal("no Verified fixture to learn the signed content from")
	}
	return tr
}

// FuzzVerify: no input makes Verify panic or return an I/O error for an
// in-memory message; every result has a verdict and a reason; document
// names are sanitized; a verdict that is not Releasable released nothing
// (no sink call, no note, no documents, no signed fields); and a Verified
// result released only what the test keys signed: every document byte
// (by SHA-256 of what reached the sink), the note and every header field
// marked signed are among the fixtures' signed content. Run it bounded,
// e.g. go test -fuzz FuzzVerify -fuzztime 60s -fuzzminimizetime 50x
// (the default 60 s minimization per new input stalls short runs).
func FuzzVerify(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	var seeds []string
	for _, file := range files {
		if fi, err := os.Stat(file); err == nil && fi.Size() < 64<<10 {
			seeds = append(seeds, file)
			data, _ := os.ReadFile(file)
			f.Add(data)
		}
	}
	ks := loadKeys(f)
	store := bobStore(f, ks)
	opts := receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, MaxDecompressed: 1 << 20, StagingDir: f.TempDir()}
	truth := collectTruth(f, opts, seeds)
	f.Fuzz(func(t *testing.T, data []byte) {
		var released []string // SHA-256 of the bytes that reached the sink
		o := opts
		o.Sink = func(name, _ string, r io.Reader) (string, error) {
			h := sha256.New()
			if _, err := io.Copy(h, r); err != nil {
				return "", err
			}
			released = append(released, hex.EncodeToString(h.Sum(nil)))
			return "", nil
		}
		rep, err := receive.Verify(context.Background(), bytes.NewReader(data), o)
		if err != nil {
			t.Fatalf("I/O error on in-memory input: %v", err)
		}
		if rep.Verdict == "" || rep.Reason == "" {
			t.Fatalf("no verdict: %+v", rep)
		}
		for _, d := range rep.Documents {
			if d.Name != receive.SanitizeName(d.Name) {
				t.Fatalf("unsanitized name %q", d.Name)
			}
		}
		if !rep.Verdict.Releasable() {
			if len(released) != 0 || len(rep.Documents) != 0 || rep.Note != "" || rep.Signed != (receive.SignedFields{}) || !rep.Withheld {
				t.Fatalf("%s released content: sink %d, documents %d, note %q, signed %+v", rep.Verdict, len(released), len(rep.Documents), rep.Note, rep.Signed)
			}
			return
		}
		if len(released) != len(rep.Documents) {
			t.Fatalf("%d documents reported, %d reached the sink", len(rep.Documents), len(released))
		}
		if rep.Verdict != receive.Verified {
			return
		}
		for i, sum := range released {
			if !truth.docs[sum] || rep.Documents[i].SHA256 != sum {
				t.Fatalf("Verified released a document that was never signed: %s", sum)
			}
		}
		if !truth.notes[rep.Note] {
			t.Fatalf("Verified shows a note that was never signed: %q", rep.Note)
		}
		s := rep.Signed
		bad := (s.Subject && !truth.subjects[rep.Subject]) || (s.From && !truth.froms[rep.From]) ||
			(s.Date && !truth.dates[rep.Date.String()]) || (s.MessageID && !truth.ids[rep.MessageID])
		if s.To || s.Cc {
			for _, a := range append(slices.Clone(rep.To), rep.Cc...) {
				bad = bad || !truth.recipients[a]
			}
		}
		if bad {
			t.Fatalf("Verified marks as signed a header value that was never signed: %+v %q %q %v %q %q", s, rep.From, rep.Subject, rep.Date, rep.MessageID, strings.Join(rep.To, ","))
		}
	})
}
