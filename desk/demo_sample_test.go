package desk

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/securesend/securesend/receive"
)

// TestSendDemoSample: the demo's sample send goes from the demo
// clinician's Desk over the demo mail system (TLS, REQUIRETLS) to the
// demo pharmacy's Desk and arrives Verified, with the document's bytes;
// a document that cannot be read is refused before anything is sent.
func TestSendDemoSample(t *testing.T) {
	sys := startDemo(t)
	doc := demoDoc(t)
	raw, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	got, err := SendDemoSample(t.Context(), sys, t.TempDir(), []string{doc})
	if err != nil || got.DeliverErr != nil {
		t.Fatalf("SendDemoSample: %v, %+v", err, got)
	}
	if got.Result == nil || len(got.Result.Accepted) != 1 || got.Result.TLS.Version == "" {
		t.Errorf("result %+v", got.Result)
	}
	if len(got.Received) != 1 {
		t.Fatalf("received %d messages", len(got.Received))
	}
	rep := got.Received[0].Report
	if rep.Verdict != receive.Verified || len(rep.Documents) != 1 || rep.Documents[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("report %+v", rep)
	}

	missing := filepath.Join(t.TempDir(), "missing.pdf")
	if got, err := SendDemoSample(t.Context(), sys, t.TempDir(), []string{missing}); err == nil {
		t.Errorf("a missing document: %+v, no error", got)
	}
}
