package send_test

import (
	"bytes"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/send"
)

// TestComposeProtectedHeaderProtection: the Cryptographic Payload of
// what we send, once gpg has decrypted or verified it, carries RFC 9788
// header protection as go-message reads it: hp="cipher" (encrypted) or
// hp="clear" (signed only) beside protected-headers="v1"; the six fields
// Date, From, To, Cc, Subject and Message-Id with their real values; and,
// when encrypted, HP-Outer fields for what the outer header carried, whose
// Subject is "[...]".
func TestComposeProtectedHeaderProtection(t *testing.T) {
	alice := pgptest.Key(t, "Dr Alice Test", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob Test", "bob@pharmacy.test")
	g := pgptest.New(t)
	g.Import(pgptest.Armored(t, alice.Public()))
	g.Import(pgptest.ArmoredSecret(t, bob))
	m, _ := protectFixture(t)
	m.Subject = "Referral — Ngā mihi, NHI ZZZ0016"
	m.Cc = []mail.Address{{Name: "Carol Copy", Address: "carol@pharmacy.test"}}

	want := map[string]string{
		"Date":       "Mon, 23 Nov 2026 09:00:00 +0000",
		"From":       `"Dr Alice Test" <alice@clinic.test>`,
		"To":         "<bob@pharmacy.test>",
		"Cc":         `"Carol Copy" <carol@pharmacy.test>`,
		"Subject":    m.Subject,
		"Message-Id": "protect-test@clinic.test",
	}
	tests := []struct {
		name    string
		encrypt bool
		hp      string
		outer   string // the outer Subject
	}{
		{"encrypted", true, "cipher", "[...]"},
		{"signed", false, "clear", m.Subject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := send.Protection{Signer: alice}
			if tt.encrypt {
				p.Recipients, p.Encrypt = []*pgp.PublicKey{bob.Public()}, true
			}
			var out bytes.Buffer
			if _, err := send.ComposeProtected(&out, m, p); err != nil {
				t.Fatal(err)
			}
			whole, err := message.Read(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			outer := gomail.Header{Header: whole.Header}
			if s, err := outer.Subject(); err != nil || s != tt.outer {
				t.Errorf("outer Subject %q, %v; want %q", s, err, tt.outer)
			}
			payload := cryptographicPayload(t, g, out.String(), tt.encrypt)
			ent, err := message.Read(bytes.NewReader(payload))
			if err != nil {
				t.Fatalf("go-message cannot read the payload: %v\n%.800s", err, payload)
			}
			mt, params, err := ent.Header.ContentType()
			if err != nil || mt != "multipart/mixed" || params["hp"] != tt.hp || params["protected-headers"] != "v1" {
				t.Errorf("payload Content-Type %s %v, %v; want multipart/mixed hp=%q protected-headers=v1", mt, params, err, tt.hp)
			}
			h := gomail.Header{Header: ent.Header}
			got := map[string]string{}
			if d, err := h.Date(); err == nil {
				got["Date"] = d.Format("Mon, 02 Jan 2006 15:04:05 -0700")
			}
			for _, f := range []string{"From", "To", "Cc"} {
				if as, err := h.AddressList(f); err == nil && len(as) == 1 {
					got[f] = as[0].String()
				}
			}
			got["Subject"], _ = h.Subject()
			got["Message-Id"], _ = h.MessageID()
			for f, w := range want {
				if got[f] != w {
					t.Errorf("protected %s = %q, want %q", f, got[f], w)
				}
			}
			hpOuter := ent.Header.Values("HP-Outer")
			if !tt.encrypt {
				if len(hpOuter) != 0 {
					t.Errorf("HP-Outer in a signed-only payload: %q", hpOuter)
				}
				return
			}
			var names []string
			for _, v := range hpOuter {
				name, val, _ := strings.Cut(v, ": ")
				names = append(names, name)
				if name == "Subject" && val != "[...]" {
					t.Errorf("HP-Outer Subject %q, want [...]", val)
				}
			}
			if !slices.Equal(names, []string{"Date", "From", "To", "Cc", "Subject", "Message-Id"}) {
				t.Errorf("HP-Outer fields %q", hpOuter)
			}
		})
	}
}

// cryptographicPayload returns the entity gpg decrypted (and found well
// signed) or verified in msg, failing the test otherwise.
func cryptographicPayload(t *testing.T, g *pgptest.GPG, msg string, encrypted bool) []byte {
	t.Helper()
	if encrypted {
		i := strings.Index(msg, "-----BEGIN PGP MESSAGE-----")
		j := strings.Index(msg, "-----END PGP MESSAGE-----")
		plain, stderr, err := g.Try([]byte(msg[i:j+len("-----END PGP MESSAGE-----")]), "--decrypt")
		if err != nil || !strings.Contains(string(stderr), `Good signature from "Dr Alice Test <alice@clinic.test>"`) {
			t.Fatalf("gpg --decrypt: %v\n%s", err, stderr)
		}
		return plain
	}
	i := strings.Index(msg, `boundary="`) + len(`boundary="`)
	boundary := msg[i : i+strings.IndexByte(msg[i:], '"')]
	parts := strings.Split(msg, "\r\n--"+boundary)
	content := strings.TrimPrefix(parts[1], "\r\n")
	_, sig, _ := strings.Cut(parts[2], "\r\n\r\n")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "content"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sig.asc"), []byte(sig), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := g.Try(nil, "--verify", filepath.Join(dir, "sig.asc"), filepath.Join(dir, "content")); err != nil || !strings.Contains(string(stderr), "Good signature") {
		t.Fatalf("gpg --verify: %v\n%s", err, stderr)
	}
	return []byte(content)
}
