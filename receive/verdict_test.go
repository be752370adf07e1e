package receive_test

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

// The tests in this file build messages with go-crypto directly (full
// control over headers, keys and packets) and with gpg where gpg can make
// the message.

// recordingSink records every call, so that tests can tell whether
// anything reached the sink.
type recordingSink struct {
	calls int
	data  map[string][]byte
}

func (s *recordingSink) sink(name, _ string, r io.Reader) (string, error) {
	s.calls++
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	if s.data == nil {
		s.data = map[string][]byte{}
	}
	s.data[name] = b
	return "mem:" + name, nil
}

// innerEntity is a cryptographic payload: contentType's parameters decide
// whether its header fields are protected (hp= or protected-headers=).
func innerEntity(params, fields, note string) string {
	return "Content-Type: multipart/mixed; boundary=\"in\"" + params + "\r\n" + fields + "\r\n" +
		"--in\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + note + "\r\n" +
		"--in\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"rx.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSBURVNUIE9OTFkK\r\n" +
		"--in--\r\n"
}

// signedMIME signs inner (CRLF) detached with e and returns the
// multipart/signed message under the outer header fields.
func signedMIME(t *testing.T, outer, inner string, e *openpgp.Entity, cfg *packet.Config) []byte {
	t.Helper()
	if cfg == nil {
		cfg = pgp.Config(nil)
	}
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, e, strings.NewReader(inner), cfg); err != nil {
		t.Fatal(err)
	}
	return assembleSigned(outer, inner, sig.String())
}

func assembleSigned(outer, inner, sig string) []byte {
	return fmt.Appendf(nil, "%sMIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n"+
		"--sig\r\n%s\r\n--sig\r\nContent-Type: application/pgp-signature\r\n\r\n%s\r\n--sig--\r\n",
		outer, inner, strings.ReplaceAll(sig, "\n", "\r\n"))
}

// encryptedMIME encrypts plain to the recipients (signed by signer in the
// same OpenPGP message when signer is not nil) and returns the
// multipart/encrypted message under the outer header fields.
func encryptedMIME(t *testing.T, outer string, plain []byte, to []*openpgp.Entity, signer *openpgp.Entity) []byte {
	t.Helper()
	var ct bytes.Buffer
	aw, err := armor.Encode(&ct, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := openpgp.Encrypt(aw, to, signer, &openpgp.FileHints{IsBinary: true}, pgp.Config(nil))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	aw.Close()
	return wrapEncrypted(outer, ct.Bytes())
}

func wrapEncrypted(outer string, armored []byte) []byte {
	return fmt.Appendf(nil, "%sMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n"+
		"--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n--e--\r\n",
		outer, bytes.ReplaceAll(armored, []byte("\n"), []byte("\r\n")))
}

func verify(t *testing.T, msg []byte, opts receive.VerifyOptions) *receive.Report {
	t.Helper()
	rep, err := receive.Verify(context.Background(), bytes.NewReader(msg), opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

const outerAlice = "From: Dr Alice Test <alice@clinic.test>\r\nTo: bob@pharmacy.test\r\nSubject: outer subject\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\nMessage-ID: <outer@clinic.test>\r\n"

const protAlice = "From: Dr Alice Test <alice@clinic.test>\r\nTo: bob@pharmacy.test\r\nSubject: Dispense 30\r\nDate: Mon, 23 Nov 2026 08:00:00 +0000\r\nMessage-ID: <inner@clinic.test>\r\n"

// TestReleaseAfterVerdict (issue 12 point 1): a message that fails its
// integrity check (MDC, made by gpg and tampered; a bad signature) releases
// nothing: no sink call, no note, no documents, no protected fields, and
// the staging directory is empty afterwards. A good message releases its
// documents through DirSink with no temporary file left behind.
func TestReleaseAfterVerdict(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)

	// gpg: signed and encrypted to bob, then one ciphertext byte flipped
	// so that only the MDC can notice.
	inner := innerEntity("; protected-headers=\"v1\"", protAlice, "Dispense 30 tablets. "+strings.Repeat("TEST ONLY ", 400))
	ct := gpgSignEncrypt(t, aliceGPG(t, ks), inner, "--compress-algo", "none")
	gpgGood := wrapEncrypted(outerAlice, ct)
	gpgTampered := tamperCiphertext(t, gpgGood)

	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, tc := range map[string]struct {
		msg  []byte
		want receive.Verdict
	}{
		"gpg good":                     {gpgGood, receive.Verified},
		"gpg tampered ciphertext":      {gpgTampered, receive.CannotDecrypt},
		"go-crypto tampered":           {read("cannot_decrypt_tampered_ciphertext.eml"), receive.CannotDecrypt},
		"body altered":                 {read("bad_signature_body_altered.eml"), receive.BadSignature},
		"note altered":                 {read("bad_signature_note_altered.eml"), receive.BadSignature},
		"unsigned part appended":       {read("unsigned_part_appended.eml"), receive.BadSignature},
		"unsigned part wrapping":       {read("unsigned_part_wrapping_signed.eml"), receive.BadSignature},
		"not signed (released, amber)": {read("not_signed.eml"), receive.NotSigned},
	} {
		t.Run(name, func(t *testing.T) {
			staging := t.TempDir()
			rec := &recordingSink{}
			rep := verify(t, tc.msg, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: rec.sink, StagingDir: staging})
			if rep.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", rep.Verdict, rep.Reason, tc.want)
			}
			if left, _ := os.ReadDir(staging); len(left) != 0 {
				t.Errorf("staging directory not cleaned: %v", left)
			}
			if tc.want.Releasable() {
				if rec.calls == 0 || len(rep.Documents) == 0 || rep.Note == "" || rep.Withheld {
					t.Errorf("releasable verdict, but sink calls %d, documents %d, note %q, withheld %v", rec.calls, len(rep.Documents), rep.Note, rep.Withheld)
				}
				return
			}
			if rec.calls != 0 {
				t.Errorf("%d documents reached the sink for %s", rec.calls, rep.Verdict)
			}
			if rep.Note != "" || len(rep.Documents) != 0 || !rep.Withheld || len(rep.Remarks) == 0 {
				t.Errorf("not withheld: note %q, documents %+v, withheld %v, remarks %q", rep.Note, rep.Documents, rep.Withheld, rep.Remarks)
			}
			if strings.Contains(rep.Subject, "Dispense") || rep.Signed != (receive.SignedFields{}) || rep.SubjectSigned {
				t.Errorf("protected fields reported: subject %q, signed %+v", rep.Subject, rep.Signed)
			}
			if len(rep.Omitted) != 0 {
				t.Errorf("omitted parts reported: %q", rep.Omitted)
			}
		})
	}

	// DirSink: the verified document appears only under its final name,
	// never as a leftover temporary file.
	dir := t.TempDir()
	rep := verify(t, gpgGood, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: receive.DirSink(dir)})
	entries, _ := os.ReadDir(dir)
	if rep.Verdict != receive.Verified || len(entries) != 1 || entries[0].Name() != "rx.pdf" || rep.Documents[0].Path != filepath.Join(dir, "rx.pdf") {
		t.Errorf("extracted %v, report %+v", entries, rep.Documents)
	}
	if fi, err := os.Stat(filepath.Join(dir, "rx.pdf")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("extracted file mode: %v, %v", fi, err)
	}
}

// TestDirSinkNoPartialFile: a document whose content fails while it is
// written leaves nothing in the directory, under any name.
func TestDirSinkNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	_, err := receive.DirSink(dir)("scan.pdf", "application/pdf", io.MultiReader(strings.NewReader("partial"), errReader{}))
	if err == nil {
		t.Fatal("no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestProtectedHeaders (issue 12 point 3, RFC 9788): the fields shown come
// from the signed payload when it declares protected headers (hp=, or the
// legacy protected-headers="v1"); differing outer values are listed only as
// unprotected; fields from an unsigned container are never marked signed.
func TestProtectedHeaders(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	alice, bob := ks["alice"].Entity(), ks["bob"].Entity()
	opts := receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}}
	innerDate := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

	for _, marker := range []string{`; hp="clear"`, `; hp="cipher"`, `; protected-headers="v1"`} {
		rep := verify(t, signedMIME(t, outerAlice, innerEntity(marker, protAlice, "note"), alice, nil), opts)
		if rep.Verdict != receive.Verified || rep.Subject != "Dispense 30" || !rep.SubjectSigned || !rep.Date.Equal(innerDate) || rep.MessageID != "inner@clinic.test" {
			t.Errorf("%s: %s (%s), subject %q signed %v, date %v, id %q", marker, rep.Verdict, rep.Reason, rep.Subject, rep.SubjectSigned, rep.Date, rep.MessageID)
		}
		want := receive.SignedFields{From: true, To: true, Subject: true, Date: true, MessageID: true}
		if rep.Signed != want {
			t.Errorf("%s: signed %+v, want %+v", marker, rep.Signed, want)
		}
		got := map[string]string{}
		for _, f := range rep.Unprotected {
			got[f.Name] = f.Value
		}
		if got["Subject"] != "outer subject" || got["Message-ID"] != "outer@clinic.test" || !strings.Contains(got["Date"], "09:00:00") {
			t.Errorf("%s: unprotected %+v", marker, rep.Unprotected)
		}
	}

	// Without a marker the inner fields are not protected headers: the
	// outer ones are shown, none signed.
	rep := verify(t, signedMIME(t, outerAlice, innerEntity("", protAlice, "note"), alice, nil), opts)
	if rep.Subject != "outer subject" || rep.Signed != (receive.SignedFields{}) {
		t.Errorf("no marker: subject %q, signed %+v", rep.Subject, rep.Signed)
	}

	// The regression: an unsigned, encrypted container with its own
	// Subject (and marker) around a multipart/signed entity whose signed
	// part carries no header fields (gpg-style). The Subject is shown, but
	// not as signed.
	signedPart := innerEntity("", "", "Dispense 30 tablets.")
	inner := signedMIME(t, "From: Dr Alice Test <alice@clinic.test>\r\nSubject: Dispense 90\r\n", signedPart, alice, nil)
	inner = bytes.Replace(inner, []byte("boundary=\"sig\""), []byte("boundary=\"sig\"; protected-headers=\"v1\""), 1)
	msg := encryptedMIME(t, outerAlice, inner, []*openpgp.Entity{bob}, nil)
	rep = verify(t, msg, opts)
	if rep.Verdict != receive.Verified {
		t.Fatalf("container: %s (%s)", rep.Verdict, rep.Reason)
	}
	if rep.SubjectSigned || rep.Signed.Subject {
		t.Errorf("the container's subject %q is marked signed", rep.Subject)
	}

	// Encrypted and signed in one OpenPGP message, marked: the fields are
	// signed; the outer placeholder subject is not listed.
	msg = encryptedMIME(t, strings.Replace(outerAlice, "outer subject", "...", 1), []byte(innerEntity(`; hp="cipher"`, protAlice, "note")), []*openpgp.Entity{bob}, alice)
	rep = verify(t, msg, opts)
	if rep.Verdict != receive.Verified || !rep.Signed.Subject || rep.Subject != "Dispense 30" {
		t.Errorf("combined: %s (%s), subject %q, signed %+v", rep.Verdict, rep.Reason, rep.Subject, rep.Signed)
	}
	for _, f := range rep.Unprotected {
		if f.Name == "Subject" {
			t.Errorf("placeholder subject listed: %+v", f)
		}
	}

	// The committed fixture with its outer Date and Subject changed: the
	// signed ones are shown.
	raw, err := os.ReadFile(filepath.Join("testdata", "good_signed.eml"))
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.Replace(raw, []byte("Date: Mon, 23 Nov 2026 09:00:00 +0000"), []byte("Date: Tue, 01 Dec 2026 09:00:00 +0000"), 1)
	raw = bytes.Replace(raw, []byte("Subject: Prescription for J. Test (NHI ZZZ0016)"), []byte("Subject: Prescription for SOMEONE ELSE"), 1)
	rep = verify(t, raw, opts)
	if rep.Verdict != receive.Verified || rep.Date.Day() != 23 || rep.Subject != "Prescription for J. Test (NHI ZZZ0016)" || len(rep.Unprotected) != 2 {
		t.Errorf("outer date/subject changed: %s, date %v, subject %q, unprotected %+v", rep.Verdict, rep.Date, rep.Subject, rep.Unprotected)
	}
}

// TestNotAddressed (issue 12 point 4): a prescription signed for another
// pharmacy is not Verified here.
func TestNotAddressed(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	alice := ks["alice"].Entity()
	mk := func(fields string) []byte {
		return signedMIME(t, outerAlice, innerEntity(`; hp="clear"`, fields, "Dispense 30"), alice, nil)
	}
	from := "From: Dr Alice Test <alice@clinic.test>\r\nSubject: rx\r\n"
	tests := []struct {
		name   string
		msg    []byte
		opts   receive.VerifyOptions
		want   receive.Verdict
		remark bool
	}{
		{"for another pharmacy", mk(from + "To: other@pharmacy.test\r\n"), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}}, receive.NotAddressed, false},
		{"for bob (own key's address)", mk(from + "To: other@pharmacy.test\r\nCc: Bob <BOB@pharmacy.test>\r\n"), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}}, receive.Verified, false},
		{"for the account address", mk(from + "To: counter@pharmacy.test\r\n"), receive.VerifyOptions{Store: store, Recipients: []string{"Counter <counter@pharmacy.test>"}}, receive.Verified, false},
		{"no own address known", mk(from + "To: bob@pharmacy.test\r\n"), receive.VerifyOptions{Store: store}, receive.NotAddressed, false},
		{"no signed recipients", mk(from), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}}, receive.Verified, true},
	}
	for _, tt := range tests {
		rep := verify(t, tt.msg, tt.opts)
		if rep.Verdict != tt.want {
			t.Errorf("%s: %s (%s), want %s", tt.name, rep.Verdict, rep.Reason, tt.want)
		}
		if tt.want == receive.NotAddressed && (!strings.Contains(rep.Reason, "other@pharmacy.test") && !strings.Contains(rep.Reason, "bob@pharmacy.test") || !strings.Contains(rep.Reason, "forwarded or replayed") || rep.Verdict.Colour() != "amber") {
			t.Errorf("%s: reason %q colour %s", tt.name, rep.Reason, rep.Verdict.Colour())
		}
		if tt.want == receive.NotAddressed && (len(rep.Documents) == 0 || rep.Withheld) {
			t.Errorf("%s: amber verdict withheld its documents", tt.name)
		}
		hasRemark := false
		for _, r := range rep.Remarks {
			hasRemark = hasRemark || strings.Contains(r, "does not say whom")
		}
		if hasRemark != tt.remark {
			t.Errorf("%s: remarks %q", tt.name, rep.Remarks)
		}
	}
}

// entityStore imports each entity's public key into a new store with the
// given options.
func importEntity(t *testing.T, s *pgp.Store, e *openpgp.Entity, opts pgp.ImportOptions) {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, "PGP PUBLIC KEY BLOCK", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := s.Import(&b, opts); err != nil {
		t.Fatal(err)
	}
}

func newEntity(t *testing.T, name, email string, cfg *packet.Config) *openpgp.Entity {
	t.Helper()
	if cfg == nil {
		cfg = pgp.Config(nil)
	}
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPinsInVerdict (issue 12 points 2 and 7, receive side).
func TestPinsInVerdict(t *testing.T) {
	ks := loadKeys(t)
	alice := ks["alice"].Entity()
	msg := signedMIME(t, outerAlice, innerEntity(`; hp="clear"`, protAlice, "Dispense 30"), alice, nil)

	// Two different keys pinned for alice@: not Verified, the reason says
	// how to resolve it.
	// The store now refuses a second pin (PinConflictError); a store index
	// written before that (or edited by hand) can still hold one.
	storeDir := t.TempDir()
	store, err := pgp.OpenStore(storeDir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	importEntity(t, store, alice, pgp.ImportOptions{Pin: true})
	second := newEntity(t, "Dr Alice Test", "alice@clinic.test", nil)
	importEntity(t, store, second, pgp.ImportOptions{})
	index := filepath.Join(storeDir, "index.json")
	data, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(`"emails": null`), []byte(`"emails": ["alice@clinic.test"]`), 1)
	data = bytes.Replace(data, []byte(`"trust": "unverified"`), []byte(`"trust": "pinned"`), 1)
	if err := os.WriteFile(index, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if pinned, err := store.PinnedFor("alice@clinic.test"); err != nil || len(pinned) != 2 {
		t.Fatalf("test setup: %d keys pinned for alice (%v)", len(pinned), err)
	}
	rep := verify(t, msg, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
	if rep.Verdict != receive.SenderMismatch || !strings.Contains(rep.Reason, "keys pin --replace") || !strings.Contains(rep.Reason, "keys delete") {
		t.Errorf("two pins: %s (%s)", rep.Verdict, rep.Reason)
	}

	// An unpinned key in the store that claims alice's address signs: red
	// impostor warning.
	store = bobStore(t, ks)
	fake := newEntity(t, "Dr Alice Test", "alice@clinic.test", nil)
	importEntity(t, store, fake, pgp.ImportOptions{})
	rep = verify(t, signedMIME(t, outerAlice, innerEntity(`; hp="clear"`, protAlice, "Dispense 90"), fake, nil), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
	if rep.Verdict == receive.Verified || !rep.Impostor || !strings.HasPrefix(rep.Reason, "WARNING") {
		t.Errorf("unpinned impostor: %s (%s), impostor %v", rep.Verdict, rep.Reason, rep.Impostor)
	}

	// A key pinned for dave@lab.test only that also claims a user ID for
	// alice@: mail From alice is a mismatch, and the reason names the
	// bound identity (dave), not the claimed one.
	store = bobStore(t, ks)
	dual := newEntity(t, "Dave Dual Test", "dave2@lab.test", nil)
	cfg := pgp.Config(nil)
	if err := dual.AddUserId("Dr Alice Test", "", "alice@clinic.test", cfg); err != nil {
		t.Fatal(err)
	}
	importEntity(t, store, dual, pgp.ImportOptions{Pin: true, Emails: []string{"dave2@lab.test"}})
	rep = verify(t, signedMIME(t, outerAlice, innerEntity(`; hp="clear"`, protAlice, "Dispense 90"), dual, nil), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
	if rep.Verdict != receive.SenderMismatch || !strings.Contains(rep.Reason, "dave2@lab.test") || strings.Contains(rep.SignerUserID, "alice") {
		t.Errorf("unbound user ID: %s (%s), signer %q", rep.Verdict, rep.Reason, rep.SignerUserID)
	}
}

// TestExpansionBounds (issue 12 points 6 and 9).
func TestExpansionBounds(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	opts := receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}}

	// 64 MiB of zeros in about 64 KB: above max(64 MiB, 32 x input) with
	// no MaxDecompressed (the old bound was 1 GiB).
	if !testing.Short() {
		raw, err := os.ReadFile(filepath.Join("testdata", "compression_bomb_encrypted.eml"))
		if err != nil {
			t.Fatal(err)
		}
		rep := verify(t, raw, opts)
		if rep.Verdict != receive.CannotDecrypt || !strings.Contains(rep.Reason, "compression bomb") {
			t.Errorf("bomb: %s (%s)", rep.Verdict, rep.Reason)
		}
	}

	// Nested compression, built with go-crypto packets: refused before
	// anything is expanded.
	nested := nestedCompressed(t, ks, 2)
	rep := verify(t, nested, opts)
	if rep.Verdict != receive.CannotDecrypt || !strings.Contains(rep.Reason, "compressed data inside compressed data") {
		t.Errorf("nested: %s (%s)", rep.Verdict, rep.Reason)
	}
	// One layer of the same construction is read.
	if rep := verify(t, nestedCompressed(t, ks, 1), opts); rep.Verdict != receive.NotSigned {
		t.Errorf("one layer: %s (%s)", rep.Verdict, rep.Reason)
	}

	// The header of the encrypted part is bounded like every other.
	raw, err := os.ReadFile(filepath.Join("testdata", "good_encrypted.eml"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(raw, []byte("Content-Type: application/octet-stream"))
	if i < 0 {
		t.Fatal("no encrypted part")
	}
	var pad bytes.Buffer
	for range 20000 {
		pad.WriteString("X-Pad: " + strings.Repeat("a", 100) + "\r\n")
	}
	big := append(append(bytes.Clone(raw[:i]), pad.Bytes()...), raw[i:]...)
	rep = verify(t, big, opts)
	if rep.Verdict != receive.CannotDecrypt {
		t.Errorf("2 MB part header: %s (%s)", rep.Verdict, rep.Reason)
	}
}

// nestedCompressed returns a multipart/encrypted message (to bob, not
// signed) whose plaintext is a literal data packet inside layers of ZLIB
// compressed packets.
func nestedCompressed(t *testing.T, ks keys, layers int) []byte {
	t.Helper()
	var lit bytes.Buffer
	lw, err := packet.SerializeLiteral(nopCloser{&lit}, true, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(lw, "Content-Type: text/plain\r\n\r\nnested "+strings.Repeat("0", 4096)+"\r\n")
	lw.Close()
	data := lit.Bytes()
	for range layers {
		var c bytes.Buffer
		cw, err := packet.SerializeCompressed(nopCloser{&c}, packet.CompressionZLIB, nil)
		if err != nil {
			t.Fatal(err)
		}
		cw.Write(data)
		cw.Close()
		data = c.Bytes()
	}
	// Encrypt the packet sequence as it is: session key to bob, SEIPD v1.
	return encryptPackets(t, ks["bob"], data)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TestDetachedKeyChecks (issue 12 point 10): the multipart/signed path
// refuses what go-crypto's own verification refuses (checked here with
// openpgp.VerifyDetachedSignature on the same key and signature), with a
// reason that says what is wrong.
func TestDetachedKeyChecks(t *testing.T) {
	ks := loadKeys(t)
	now := time.Now()
	at := func(tm time.Time) *packet.Config { return pgp.Config(func() time.Time { return tm }) }
	inner := innerEntity(`; hp="clear"`, strings.ReplaceAll(protAlice, "alice@clinic.test", "signer@clinic.test"), "Dispense 30")
	outer := strings.ReplaceAll(outerAlice, "alice@clinic.test", "signer@clinic.test")

	type tc struct {
		name   string
		make   func(t *testing.T) (*openpgp.Entity, *packet.Config, func()) // key, signing config, change after signing
		reason string
	}
	tests := []tc{
		{"good", func(t *testing.T) (*openpgp.Entity, *packet.Config, func()) {
			return newEntity(t, "Signer", "signer@clinic.test", nil), nil, nil
		}, ""},
		{"revoked primary key", func(t *testing.T) (*openpgp.Entity, *packet.Config, func()) {
			e := newEntity(t, "Signer", "signer@clinic.test", at(now.Add(-time.Hour)))
			return e, at(now.Add(-30 * time.Minute)), func() {
				if err := e.RevokeKey(packet.KeyCompromised, "test", at(now.Add(-10*time.Minute))); err != nil {
					t.Fatal(err)
				}
			}
		}, "revoked"},
		{"expired primary key (valid when signed)", func(t *testing.T) (*openpgp.Entity, *packet.Config, func()) {
			cfg := at(now.Add(-48 * time.Hour))
			cfg.KeyLifetimeSecs = 24 * 3600
			return newEntity(t, "Signer", "signer@clinic.test", cfg), at(now.Add(-47 * time.Hour)), nil
		}, "expired"},
		{"revoked signing subkey", func(t *testing.T) (*openpgp.Entity, *packet.Config, func()) {
			e := newEntity(t, "Signer", "signer@clinic.test", at(now.Add(-time.Hour)))
			if err := e.AddSigningSubkey(at(now.Add(-time.Hour))); err != nil {
				t.Fatal(err)
			}
			return e, at(now.Add(-30 * time.Minute)), func() {
				sk := &e.Subkeys[len(e.Subkeys)-1]
				if err := e.RevokeSubkey(sk, packet.KeyCompromised, "test", at(now.Add(-10*time.Minute))); err != nil {
					t.Fatal(err)
				}
			}
		}, "subkey has been revoked"},
		{"unknown critical notation", func(t *testing.T) (*openpgp.Entity, *packet.Config, func()) {
			cfg := pgp.Config(nil)
			cfg.SignatureNotations = []*packet.Notation{{Name: "rx-limit@example.test", Value: []byte("1"), IsCritical: true, IsHumanReadable: true}}
			return newEntity(t, "Signer", "signer@clinic.test", nil), cfg, nil
		}, "critical notation"},
		{"expired signature", func(t *testing.T) (*openpgp.Entity, *packet.Config, func()) {
			cfg := at(now.Add(-2 * time.Hour))
			cfg.SigLifetimeSecs = 3600
			return newEntity(t, "Signer", "signer@clinic.test", at(now.Add(-3*time.Hour))), cfg, nil
		}, "signature has expired"},
		{"signature dated in the future", func(t *testing.T) (*openpgp.Entity, *packet.Config, func()) {
			return newEntity(t, "Signer", "signer@clinic.test", at(now.Add(-time.Hour))), at(now.Add(48 * time.Hour)), nil
		}, "dated in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, sigCfg, after := tt.make(t)
			if sigCfg == nil {
				sigCfg = pgp.Config(nil)
			}
			sigCfg.DefaultHash = crypto.SHA256
			var sig bytes.Buffer
			if err := openpgp.ArmoredDetachSign(&sig, e, strings.NewReader(inner), sigCfg); err != nil {
				t.Fatal(err)
			}
			if after != nil {
				after()
			}
			msg := assembleSigned(outer, inner, sig.String())

			// go-crypto's verdict on the same signature and key.
			pub := publicEntity(t, e)
			_, gerr := openpgp.CheckArmoredDetachedSignature(openpgp.EntityList{pub}, strings.NewReader(inner), bytes.NewReader(sig.Bytes()), pgp.Config(nil))
			if (gerr == nil) != (tt.reason == "") {
				t.Fatalf("go-crypto: %v; the test case is wrong", gerr)
			}

			store := bobStore(t, ks)
			importEntity(t, store, e, pgp.ImportOptions{Pin: true, Emails: []string{"signer@clinic.test"}})
			rep := verify(t, msg, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
			if tt.reason == "" {
				if rep.Verdict != receive.Verified {
					t.Errorf("%s (%s)", rep.Verdict, rep.Reason)
				}
				return
			}
			if rep.Verdict != receive.BadSignature || !strings.Contains(rep.Reason, tt.reason) {
				t.Errorf("%s (%s); go-crypto says %v; want bad-signature saying %q", rep.Verdict, rep.Reason, gerr, tt.reason)
			}
			if tt.reason == "dated in the future" && strings.Contains(rep.Reason, "expired") {
				t.Errorf("future-dated signature called expired: %s", rep.Reason)
			}
		})
	}
}

func publicEntity(t *testing.T, e *openpgp.Entity) *openpgp.Entity {
	t.Helper()
	var b bytes.Buffer
	if err := e.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	el, err := openpgp.ReadKeyRing(&b)
	if err != nil {
		t.Fatal(err)
	}
	return el[0]
}

// TestSanitizeDeviceNames (issue 12 point 8): Windows device names in any
// disguise are neutralised.
func TestSanitizeDeviceNames(t *testing.T) {
	tests := map[string]string{
		"NUL.tar.gz":        "_NUL.tar.gz",
		"nul.pdf":           "_nul.pdf",
		"CON .pdf":          "_CON .pdf",
		"CON":               "_CON",
		"COM¹.pdf":          "_COM¹.pdf",
		"COM²":              "_COM²",
		"lpt³.txt":          "_lpt³.txt",
		"COM1.":             "_COM1",
		"CONIN$":            "_CONIN$",
		"conout$.log":       "_conout$.log",
		"CLOCK$":            "_CLOCK$",
		"AUX. .pdf":         "_AUX. .pdf",
		"report.pdf. . ":    "report.pdf",
		"file.pdf:evil.exe": "file.pdf_evil.exe",
		"CONSOLE.pdf":       "CONSOLE.pdf",
		"COM10.pdf":         "COM10.pdf",
		"NULL.pdf":          "NULL.pdf",
	}
	for in, want := range tests {
		if got := receive.SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVerdictColours: the API the front ends code against.
func TestVerdictColours(t *testing.T) {
	for v, want := range map[receive.Verdict]struct {
		colour     string
		releasable bool
	}{
		receive.Verified:       {"green", true},
		receive.UnknownSigner:  {"amber", true},
		receive.NotSigned:      {"amber", true},
		receive.NotAddressed:   {"amber", true},
		receive.SenderMismatch: {"red", true},
		receive.BadSignature:   {"red", false},
		receive.CannotDecrypt:  {"red", false},
	} {
		if v.Colour() != want.colour || v.Releasable() != want.releasable {
			t.Errorf("%s: %s %v, want %s %v", v, v.Colour(), v.Releasable(), want.colour, want.releasable)
		}
	}
}

// encryptPackets encrypts an OpenPGP packet sequence as it is (session
// key to bob, SEIPD v1, armored) and wraps it as a PGP/MIME message from
// Alice: for messages go-crypto's writer would not make.
func encryptPackets(t *testing.T, bob *pgp.Key, data []byte) []byte {
	t.Helper()
	cfg := pgp.Config(nil)
	key := make([]byte, 32)
	if _, err := io.ReadFull(cfg.Random(), key); err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	enc := bob.Entity().Subkeys[0].PublicKey
	if err := packet.SerializeEncryptedKeyAEAD(&ct, enc, packet.CipherAES256, false, key, cfg); err != nil {
		t.Fatal(err)
	}
	w, err := packet.SerializeSymmetricallyEncrypted(&ct, packet.CipherAES256, false, packet.CipherSuite{}, key, cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	var arm bytes.Buffer
	aw, _ := armor.Encode(&arm, "PGP MESSAGE", nil)
	aw.Write(ct.Bytes())
	aw.Close()
	return wrapEncrypted(outerAlice, arm.Bytes())
}
