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
	doc := filepath.Join(t.TempDir(), "scan.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.4\n% TEST ONLY\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Every shift from 0 to 39 moves the runs of blanks across the places
	// where the lines fold.
	for shift := 0; shift < 40; shift++ {
		subject := strings.Repeat("x", shift) + strings.Repeat(" Referral\t\t\tfor  review  ", 8)
		name := strings.Repeat("0", shift) + "x" + strings.Repeat(" scan   of  referral", 4) + ".pdf"
		m := manifestMessage(t)
		m.Subject = subject
		m.Documents = []send.Document{{Path: doc, Name: name}}
		for _, p := range []struct {
			name string
			prot send.Protection
		}{
			{"signed", send.Protection{Signer: ks["alice"]}},
			{"encrypted", send.Protection{Signer: ks["alice"], Encrypt: true, Recipients: []*pgp.PublicKey{ks["bob"].Public()}}},
		} {
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
				t.Fatalf("%s, shift %d: verdict %s: %s", p.name, shift, rep.Verdict, rep.Reason)
			}
			if rep.Subject != subject {
				t.Errorf("%s, shift %d: subject %q, want %q", p.name, shift, rep.Subject, subject)
			}
			if len(rep.Documents) != 1 || rep.Documents[0].Name != name {
				t.Errorf("%s, shift %d: documents %+v, want one named %q", p.name, shift, rep.Documents, name)
			}
		}
	}
}
