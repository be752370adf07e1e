package send_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/send"
)

func protectFixture(t *testing.T) (*send.Message, []byte) {
	t.Helper()
	doc := filepath.Join(t.TempDir(), "scan.pdf")
	content := []byte("%PDF-1.4\n% TEST ONLY\n" + strings.Repeat("x", 5000) + "\n%%EOF\n")
	if err := os.WriteFile(doc, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return &send.Message{
		From:      mail.Address{Name: "Dr Alice Test", Address: "alice@clinic.test"},
		To:        []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject:   "Referral for NHI ZZZ0016",
		Note:      "Confidential note, TEST ONLY.",
		Documents: []send.Document{{Path: doc}},
		MessageID: "protect-test@clinic.test",
		Date:      time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
	}, content
}

// TestComposeProtectedGnuPG: what we send decrypts and verifies with
// GnuPG 2.2 (gpg --decrypt, gpg --verify).
func TestComposeProtectedGnuPG(t *testing.T) {
	alice := pgptest.Key(t, "Dr Alice Test", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob Test", "bob@pharmacy.test")
	g := pgptest.New(t)
	g.Import(pgptest.Armored(t, alice.Public()))
	g.Import(pgptest.ArmoredSecret(t, bob))
	m, _ := protectFixture(t)

	t.Run("encrypted", func(t *testing.T) {
		var out bytes.Buffer
		infos, err := send.ComposeProtected(&out, m, send.Protection{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Encrypt: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 1 || infos[0].Size == 0 {
			t.Errorf("document infos %+v", infos)
		}
		msg := out.String()
		outer, _, _ := strings.Cut(msg, "\r\n\r\n")
		if !strings.Contains(outer, "Subject: "+send.PlaceholderSubject) || strings.Contains(msg, "ZZZ0016") || strings.Contains(msg, "Confidential") {
			t.Errorf("real subject or note visible outside the encryption:\n%s", outer)
		}
		if !strings.Contains(outer, `multipart/encrypted`) || !strings.Contains(msg, "Version: 1") {
			t.Errorf("not RFC 3156 multipart/encrypted:\n%s", outer)
		}
		i := strings.Index(msg, "-----BEGIN PGP MESSAGE-----")
		j := strings.Index(msg, "-----END PGP MESSAGE-----")
		plain, stderr, err := g.Try([]byte(msg[i:j+len("-----END PGP MESSAGE-----")]), "--decrypt")
		if err != nil {
			t.Fatalf("gpg --decrypt: %v\n%s", err, stderr)
		}
		if !strings.Contains(string(stderr), `Good signature from "Dr Alice Test <alice@clinic.test>"`) {
			t.Errorf("gpg did not report a good signature:\n%s", stderr)
		}
		for _, want := range []string{`protected-headers="v1"`, "Subject: Referral for NHI ZZZ0016", "multipart/mixed", "Content-Disposition: attachment"} {
			if !strings.Contains(string(plain), want) {
				t.Errorf("decrypted entity lacks %q:\n%.600s", want, plain)
			}
		}
	})

	t.Run("signed", func(t *testing.T) {
		var out bytes.Buffer
		if _, err := send.ComposeProtected(&out, m, send.Protection{Signer: alice}); err != nil {
			t.Fatal(err)
		}
		msg := out.String()
		if !strings.Contains(msg, `micalg=pgp-sha256; protocol="application/pgp-signature"`) {
			t.Errorf("not multipart/signed:\n%.500s", msg)
		}
		i := strings.Index(msg, `boundary="`) + len(`boundary="`)
		boundary := msg[i : i+strings.IndexByte(msg[i:], '"')]
		parts := strings.Split(msg, "\r\n--"+boundary)
		// parts[0] = header+preamble, [1] = "\r\n"+content, [2] = "\r\n"+signature part
		content := strings.TrimPrefix(parts[1], "\r\n")
		_, sig, _ := strings.Cut(parts[2], "\r\n\r\n")
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "content"), []byte(content), 0o600)
		os.WriteFile(filepath.Join(dir, "sig.asc"), []byte(sig), 0o600)
		if _, stderr, err := g.Try(nil, "--verify", filepath.Join(dir, "sig.asc"), filepath.Join(dir, "content")); err != nil || !strings.Contains(string(stderr), "Good signature") {
			t.Errorf("gpg --verify: %v\n%s", err, stderr)
		}
		if strings.Contains(content, "\n") && strings.Count(content, "\n") != strings.Count(content, "\r\n") {
			t.Errorf("signed content has bare LF")
		}
		os.WriteFile(filepath.Join(dir, "content"), []byte(strings.Replace(content, "Confidential", "Confidentia1", 1)), 0o600)
		if _, _, err := g.Try(nil, "--verify", filepath.Join(dir, "sig.asc"), filepath.Join(dir, "content")); err == nil {
			t.Errorf("gpg verified altered content")
		}
	})
}

type lookupFunc func(string) (*pgp.PublicKey, pgp.Entry, error)

func (f lookupFunc) Lookup(a string) (*pgp.PublicKey, pgp.Entry, error) { return f(a) }

func TestPlanProtection(t *testing.T) {
	alice := pgptest.Key(t, "Alice", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob", "bob@pharmacy.test").Public()
	keys := lookupFunc(func(a string) (*pgp.PublicKey, pgp.Entry, error) {
		switch a {
		case "bob@pharmacy.test":
			return bob, pgp.Entry{}, nil
		case "revoked@pharmacy.test":
			return nil, pgp.Entry{}, pgp.ErrRevoked
		}
		return nil, pgp.Entry{}, pgp.ErrNotFound
	})
	from := mail.Address{Address: "alice@clinic.test"}
	withKey := &send.Message{From: from, To: []mail.Address{{Address: "bob@pharmacy.test"}}}
	without := &send.Message{From: from, To: []mail.Address{{Address: "bob@pharmacy.test"}}, Cc: []mail.Address{{Address: "nokey@pharmacy.test"}}}
	revoked := &send.Message{From: from, To: []mail.Address{{Address: "revoked@pharmacy.test"}}}
	tests := []struct {
		name    string
		m       *send.Message
		mode    send.EncryptMode
		signer  *pgp.Key
		encrypt bool
		signed  bool
		wantErr error
	}{
		{"always, all keys", withKey, send.EncryptAlways, alice, true, true, nil},
		{"always, a key missing", without, send.EncryptAlways, alice, false, false, send.ErrNoRecipientKey},
		{"always, key revoked", revoked, send.EncryptAlways, alice, false, false, send.ErrNoRecipientKey},
		{"always, no own key", withKey, send.EncryptAlways, nil, false, false, send.ErrNoSenderKey},
		{"auto, all keys", withKey, send.EncryptAuto, alice, true, true, nil},
		{"auto, a key missing", without, send.EncryptAuto, alice, false, true, nil},
		{"auto, no own key", withKey, send.EncryptAuto, nil, false, false, nil},
		{"never", withKey, send.EncryptNever, alice, false, true, nil},
	}
	for _, tt := range tests {
		p, err := send.PlanProtection(tt.m, tt.mode, tt.signer, keys)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if p.Encrypt != tt.encrypt || (p.Signer != nil) != tt.signed {
			t.Errorf("%s: %+v", tt.name, p)
		}
	}
	_, err := send.PlanProtection(without, send.EncryptAlways, alice, keys)
	var mk *send.MissingKeysError
	if !errors.As(err, &mk) || !strings.Contains(err.Error(), "nokey@pharmacy.test (no key)") {
		t.Errorf("missing keys error = %v", err)
	}
	_, err = send.PlanProtection(revoked, send.EncryptAlways, alice, keys)
	if !strings.Contains(err.Error(), "key revoked") {
		t.Errorf("revoked error = %v", err)
	}
	other := &send.Message{From: mail.Address{Address: "someone@else.test"}, To: withKey.To}
	if _, err := send.PlanProtection(other, send.EncryptAuto, alice, keys); !errors.Is(err, send.ErrSignerNotSender) {
		t.Errorf("signer not sender: err = %v", err)
	}
	if _, err := send.ParseEncryptMode("sometimes"); err == nil {
		t.Error("ParseEncryptMode accepted nonsense")
	}
}

// BenchmarkComposeProtected50MB measures sign+encrypt (and sign only) of
// a 50 MB random document, the whole MIME message written to io.Discard.
func BenchmarkComposeProtected50MB(b *testing.B) {
	alice := pgptest.Key(b, "Alice", "alice@clinic.test")
	bob := pgptest.Key(b, "Bob", "bob@pharmacy.test")
	doc := filepath.Join(b.TempDir(), "scan.pdf")
	writeRandomFile(b, doc, 50<<20)
	m := &send.Message{
		From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: "bench", Documents: []send.Document{{Path: doc}}, MessageID: "bench@clinic.test",
	}
	for _, tc := range []struct {
		name string
		p    send.Protection
	}{
		{"sign+encrypt", send.Protection{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Encrypt: true}},
		{"sign", send.Protection{Signer: alice}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(50 << 20)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := send.ComposeProtected(io.Discard, m, tc.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func writeRandomFile(tb testing.TB, path string, size int64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		tb.Fatal(err)
	}
}
