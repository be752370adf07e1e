package receive_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

// The inner MIME entity gpg signs or encrypts, as a mail client would
// build it.
const gpgEntity = "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n" +
	"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSigned by GnuPG.\r\n" +
	"--inner\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"referral.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSBURVNUIE9OTFkK\r\n" +
	"--inner--\r\n"

const gpgHeader = "From: Dr Alice Test <alice@clinic.test>\r\nTo: bob@pharmacy.test\r\nSubject: from gpg\r\nMessage-ID: <gpg@clinic.test>\r\nMIME-Version: 1.0\r\n"

// TestVerifyGnuPGMessages checks PGP/MIME made by GnuPG 2.2 (signed, and
// signed+encrypted in one OpenPGP message) verifies as Verified.
func TestVerifyGnuPGMessages(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	g := aliceGPG(t, ks)
	dir := t.TempDir()
	entity := filepath.Join(dir, "entity")
	if err := os.WriteFile(entity, []byte(gpgEntity), 0o600); err != nil {
		t.Fatal(err)
	}

	sig := g.Run(nil, "--armor", "--detach-sign", "--digest-algo", "SHA256", "--local-user", "alice@clinic.test", "--output", "-", entity)
	signed := fmt.Sprintf("%sContent-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n"+
		"--sig\r\n%s\r\n--sig\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n%s\r\n--sig--\r\n",
		gpgHeader, gpgEntity, bytes.ReplaceAll(sig, []byte("\n"), []byte("\r\n")))

	sig512 := g.Run(nil, "--armor", "--detach-sign", "--digest-algo", "SHA512", "--local-user", "alice@clinic.test", "--output", "-", entity)
	signed512 := strings.Replace(strings.Replace(signed, "pgp-sha256", "pgp-sha512", 1),
		string(bytes.ReplaceAll(sig, []byte("\n"), []byte("\r\n"))), string(bytes.ReplaceAll(sig512, []byte("\n"), []byte("\r\n"))), 1)
	// The signature is SHA-512 but micalg claims SHA-256: refused.
	mislabelled := strings.Replace(signed512, "pgp-sha512", "pgp-sha256", 1)

	ct := gpgSignEncrypt(t, g, gpgEntity)
	encrypted := fmt.Sprintf("%sContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n"+
		"--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--enc\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n--enc--\r\n",
		gpgHeader, ct)

	for name, tc := range map[string]struct {
		msg       string
		encrypted bool
	}{
		"gpg signed":           {signed, false},
		"gpg signed, SHA-512":  {signed512, false},
		"gpg signed+encrypted": {encrypted, true},
		// mbox files often hold LF line endings: canonicalized before hashing.
		"gpg signed, LF line endings": {string(bytes.ReplaceAll([]byte(signed), []byte("\r\n"), []byte("\n"))), false},
	} {
		rep, err := receive.Verify(context.Background(), bytes.NewReader([]byte(tc.msg)), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.Verdict != receive.Verified || rep.Encrypted != tc.encrypted {
			t.Errorf("%s: %s (%s), encrypted=%v", name, rep.Verdict, rep.Reason, rep.Encrypted)
		}
		if rep.Note != "Signed by GnuPG." || len(rep.Documents) != 1 || rep.Documents[0].Name != "referral.pdf" {
			t.Errorf("%s: note %q, documents %+v", name, rep.Note, rep.Documents)
		}
		if rep.Subject != "from gpg" || rep.SubjectSigned {
			t.Errorf("%s: subject %q signed=%v; the outer subject is not covered by gpg's signature", name, rep.Subject, rep.SubjectSigned)
		}
		if rep.SignerFingerprint != string(ks["alice"].Public().Fingerprint()) {
			t.Errorf("%s: signer %s", name, rep.SignerFingerprint)
		}
	}

	if rep, err := receive.Verify(context.Background(), strings.NewReader(mislabelled), receive.VerifyOptions{Store: store}); err != nil || rep.Verdict != receive.BadSignature {
		t.Errorf("micalg not matching the signature: %v, %v", rep, err)
	}

	// The same gpg signature over altered content is a bad signature.
	altered := bytes.Replace([]byte(signed), []byte("Signed by GnuPG."), []byte("Signed by GnuPG!"), 1)
	rep, err := receive.Verify(context.Background(), bytes.NewReader(altered), receive.VerifyOptions{Store: store})
	if err != nil || rep.Verdict != receive.BadSignature {
		t.Errorf("altered gpg message: %v, %v", rep, err)
	}
}
