package receive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// TestFoldedHeadersReadBackExactly: a subject with tabs and runs of blanks
// and a document name with a run of blanks, both long enough that the
// header lines fold, reach the pharmacist exactly as the clinician typed
// them, signed only and encrypted. A reader trims the blanks before a
// fold, so send writes such values as encoded words (RFC 2047) and RFC
// 2231 extended parameters (FuzzHeaders found both cases).
func TestFoldedHeadersReadBackExactly(t *testing.T) {
	ks := loadKeys(t)
	st := bobStore(t, ks)
	subject := strings.Repeat("Referral for review ", 4) + "wi\t\t\ttwo  spaces   three"
	name := strings.Repeat("0", 60) + "  scan   of  referral.pdf"
	m := manifestMessage(t)
	m.Subject = subject
	doc := filepath.Join(t.TempDir(), "scan.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.4\n% TEST ONLY\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Documents = []send.Document{{Path: doc, Name: name}}
	for _, p := range []struct {
		name string
		prot send.Protection
	}{
		{"signed", send.Protection{Signer: ks["alice"]}},
		{"encrypted", send.Protection{Signer: ks["alice"], Encrypt: true, Recipients: []*pgp.PublicKey{ks["bob"].Public()}}},
	} {
		t.Run(p.name, func(t *testing.T) {
			var b bytes.Buffer
			if _, err := send.ComposeProtected(&b, m, p.prot); err != nil {
				t.Fatal(err)
			}
			rep, err := receive.Verify(context.Background(), bytes.NewReader(b.Bytes()),
				receive.VerifyOptions{Store: st, Secret: []*pgp.Key{ks["bob"]}, Recipients: []string{"bob@pharmacy.test"}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != receive.Verified {
				t.Fatalf("verdict %s: %s", rep.Verdict, rep.Reason)
			}
			if rep.Subject != subject {
				t.Errorf("subject %q, want %q", rep.Subject, subject)
			}
			if len(rep.Documents) != 1 || rep.Documents[0].Name != name {
				t.Errorf("documents %+v, want one named %q", rep.Documents, name)
			}
		})
	}
}
