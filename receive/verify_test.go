package receive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// The fixture document, as composed by TestGenerateFixtures.
func fixtureDocSHA256() string {
	sum := sha256.Sum256([]byte("%PDF-1.4\n% TEST ONLY fake prescription\n" + strings.Repeat("0123456789", 300) + "\n%%EOF\n"))
	return hex.EncodeToString(sum[:])
}

func TestVerifyFixtures(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	tests := []struct {
		file      string
		verdict   receive.Verdict
		encrypted bool
		signer    string // cast name whose fingerprint is reported, "" for none
		docs      int    // documents expected, -1 to skip the check
		subject   string // "" to skip
	}{
		{"good_signed.eml", receive.Verified, false, "alice", 1, "Prescription for J. Test (NHI ZZZ0016)"},
		{"good_encrypted.eml", receive.Verified, true, "alice", 1, "Prescription for J. Test (NHI ZZZ0016)"},
		{"good_encrypted_binary.eml", receive.Verified, true, "alice", 1, "Prescription (TEST ONLY)"},
		{"bad_signature_signed_binary_part.eml", receive.BadSignature, false, "", 0, ""},
		{"not_signed.eml", receive.NotSigned, false, "", 1, ""},
		{"unknown_signer.eml", receive.UnknownSigner, false, "mallory", 1, ""},
		{"unknown_signer_encrypted.eml", receive.UnknownSigner, true, "mallory", 1, ""},
		{"unverified_signer.eml", receive.UnknownSigner, false, "carol", 1, ""},
		{"sender_mismatch.eml", receive.SenderMismatch, false, "dave", 1, ""},
		{"sender_mismatch_encrypted.eml", receive.SenderMismatch, true, "dave", 1, ""},
		{"cannot_decrypt_wrong_key.eml", receive.CannotDecrypt, true, "", 0, ""},
		{"cannot_decrypt_tampered_ciphertext.eml", receive.CannotDecrypt, true, "", -1, ""},
		{"cannot_decrypt_garbage_armor.eml", receive.CannotDecrypt, true, "", 0, ""},
		{"compression_bomb_encrypted.eml", receive.CannotDecrypt, true, "", -1, ""},
		{"bad_signature_body_altered.eml", receive.BadSignature, false, "", -1, ""},
		{"bad_signature_note_altered.eml", receive.BadSignature, false, "", -1, ""},
		{"bad_signature_different_key.eml", receive.BadSignature, false, "", -1, ""},
		{"bad_signature_truncated.eml", receive.BadSignature, false, "", -1, ""},
		{"unsigned_part_appended.eml", receive.BadSignature, false, "", -1, ""},
		{"unsigned_part_wrapping_signed.eml", receive.BadSignature, false, "", -1, ""},
		{"deeply_nested.eml", receive.NotSigned, false, "", 0, ""},
		{"html_and_hostile_filename.eml", receive.NotSigned, false, "", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, err := receive.Verify(context.Background(), f, receive.VerifyOptions{
				Store: store, Secret: []*pgp.Key{ks["bob"]}, MaxDecompressed: 8 << 20,
			})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if rep.Verdict != tt.verdict {
				t.Errorf("verdict %s (%s), want %s", rep.Verdict, rep.Reason, tt.verdict)
			}
			if rep.Reason == "" {
				t.Errorf("no reason")
			}
			if rep.Encrypted != tt.encrypted {
				t.Errorf("encrypted = %v, want %v", rep.Encrypted, tt.encrypted)
			}
			if tt.signer != "" && rep.SignerFingerprint != string(ks[tt.signer].Public().Fingerprint()) {
				t.Errorf("signer %q, want %s's %s", rep.SignerFingerprint, tt.signer, ks[tt.signer].Public().Fingerprint())
			}
			if tt.docs >= 0 && len(rep.Documents) != tt.docs {
				t.Errorf("%d documents, want %d: %+v", len(rep.Documents), tt.docs, rep.Documents)
			}
			if tt.subject != "" && rep.Subject != tt.subject {
				t.Errorf("subject %q, want %q", rep.Subject, tt.subject)
			}
			for _, d := range rep.Documents {
				if strings.ContainsAny(d.Name, "/\\\x00\x01") || strings.HasPrefix(d.Name, ".") {
					t.Errorf("unsafe document name %q", d.Name)
				}
			}
			if strings.Contains(rep.Note, "<script>") {
				t.Errorf("HTML shown as note: %q", rep.Note)
			}
		})
	}
}

func TestVerifyGoodContent(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	for _, file := range []string{"good_signed.eml", "good_encrypted.eml"} {
		f, err := os.Open(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		rep, err := receive.Verify(context.Background(), f, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: receive.DirSink(dir)})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if rep.From != "alice@clinic.test" || rep.MessageID != "fixture-alice@clinic.test" || rep.Date.IsZero() {
			t.Errorf("%s: header fields %q %q %v", file, rep.From, rep.MessageID, rep.Date)
		}
		if rep.Note != "Please dispense as written.\nTEST ONLY." {
			t.Errorf("%s: note %q", file, rep.Note)
		}
		if !rep.SubjectSigned || rep.Subject != "Prescription for J. Test (NHI ZZZ0016)" {
			t.Errorf("%s: subject %q signed=%v", file, rep.Subject, rep.SubjectSigned)
		}
		if rep.SignerUserID != "Dr Alice Test <alice@clinic.test>" {
			t.Errorf("%s: signer user ID %q", file, rep.SignerUserID)
		}
		d := rep.Documents[0]
		if d.Name != "prescription.pdf" || d.ContentType != "application/pdf" || d.SHA256 != fixtureDocSHA256() {
			t.Errorf("%s: document %+v", file, d)
		}
		data, err := os.ReadFile(d.Path)
		if err != nil || int64(len(data)) != d.Size {
			t.Errorf("%s: extracted %d bytes (%v), want %d", file, len(data), err, d.Size)
		}
	}
}

func TestVerifyNeverEncryptedWithoutKeys(t *testing.T) {
	// No store, no secret key: the good messages are not Verified.
	for file, want := range map[string]receive.Verdict{
		"good_signed.eml":    receive.UnknownSigner,
		"good_encrypted.eml": receive.CannotDecrypt,
	} {
		f, err := os.Open(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := receive.Verify(context.Background(), f, receive.VerifyOptions{})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != want {
			t.Errorf("%s: %s (%s), want %s", file, rep.Verdict, rep.Reason, want)
		}
	}
}

func TestSanitizeName(t *testing.T) {
	tests := map[string]string{
		"report.pdf":                      "report.pdf",
		"../../etc/passwd":                "passwd",
		`..\..\windows\x.exe`:             "x.exe",
		".bashrc":                         "bashrc",
		"":                                "document",
		"..":                              "document",
		"a\x00b\x1bc.pdf":                 "abc.pdf",
		"CON.txt":                         "_CON.txt",
		"in\u202Efdp.exe":                 "infdp.exe",
		`what?<>:"|*.pdf`:                 "what_______.pdf",
		"ordonnance é.pdf":                "ordonnance é.pdf",
		strings.Repeat("a", 300) + ".pdf": strings.Repeat("a", 196) + ".pdf",
	}
	for in, want := range tests {
		if got := receive.SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDirSinkNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	sink := receive.DirSink(dir)
	var paths []string
	for _, content := range []string{"one", "two", "three"} {
		p, err := sink("scan.pdf", "application/pdf", strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Base(p))
	}
	want := []string{"scan.pdf", "scan (2).pdf", "scan (3).pdf"}
	for i := range want {
		if paths[i] != want[i] {
			t.Errorf("paths = %v, want %v", paths, want)
			break
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "scan.pdf")); string(data) != "one" {
		t.Errorf("first file overwritten: %q", data)
	}
}

// TestVerifySignThenEncrypt: RFC 3156 section 6.1, a multipart/signed
// entity encrypted (without an OpenPGP-level signature), as some clients
// send, is Verified; the same with the signed entity altered is not.
func TestVerifySignThenEncrypt(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	signed, err := os.ReadFile(filepath.Join("testdata", "good_signed.eml"))
	if err != nil {
		t.Fatal(err)
	}
	hdrEnd := bytes.Index(signed, []byte("Content-Type: multipart/signed"))
	outer, inner := signed[:hdrEnd], signed[hdrEnd:]
	build := func(plain []byte) []byte {
		var ct bytes.Buffer
		aw, _ := armor.Encode(&ct, "PGP MESSAGE", nil)
		w, err := openpgp.Encrypt(aw, openpgp.EntityList{ks["bob"].Entity()}, nil, &openpgp.FileHints{IsBinary: true}, pgp.Config(nil))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		aw.Close()
		return []byte(fmt.Sprintf("%sContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n"+
			"--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n--e--\r\n",
			outer, ct.String()))
	}
	for name, tc := range map[string]struct {
		plain []byte
		want  receive.Verdict
	}{
		"nested signed":  {inner, receive.Verified},
		"nested altered": {bytes.Replace(inner, []byte("dispense as written"), []byte("dispense x10 written"), 1), receive.BadSignature},
	} {
		rep, err := receive.Verify(context.Background(), bytes.NewReader(build(tc.plain)), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != tc.want || !rep.Encrypted {
			t.Errorf("%s: %s (%s), encrypted=%v; want %s", name, rep.Verdict, rep.Reason, rep.Encrypted, tc.want)
		}
	}
}

// TestVerifyCarriedKey: a good signature by a key the message carries
// (Autocrypt) but the store lacks is UnknownSigner with the key offered
// for pinning; once pinned the same message is Verified. A carried key for
// an address that already has a different pinned key is flagged as a
// possible impostor and not offered.
func TestVerifyCarriedKey(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	raw, err := os.ReadFile(filepath.Join("testdata", "unknown_signer.eml"))
	if err != nil {
		t.Fatal(err)
	}
	opts := receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}}
	rep, err := receive.Verify(context.Background(), bytes.NewReader(raw), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != receive.UnknownSigner || rep.SignerKey == "" || !strings.Contains(rep.Reason, "Good signature") {
		t.Fatalf("%s (%s), key offered: %v", rep.Verdict, rep.Reason, rep.SignerKey != "")
	}
	e, err := store.Import(strings.NewReader(rep.SignerKey), pgp.ImportOptions{Emails: []string{rep.From}, Pin: true})
	if err != nil || e.Fingerprint != ks["mallory"].Public().Fingerprint() {
		t.Fatalf("import offered key: %+v, %v", e, err)
	}
	if rep, _ := receive.Verify(context.Background(), bytes.NewReader(raw), opts); rep.Verdict != receive.Verified {
		t.Errorf("after pinning: %s (%s)", rep.Verdict, rep.Reason)
	}

	// An impostor's key for alice's address, carried in the message.
	fake := pgptest.Key(t, "Dr Alice Test", "alice@clinic.test")
	doc := filepath.Join(t.TempDir(), "x.pdf")
	os.WriteFile(doc, []byte("%PDF-1.4 TEST ONLY"), 0o600)
	var b bytes.Buffer
	m := &send.Message{From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: "urgent", Documents: []send.Document{{Path: doc}}, MessageID: "fake@clinic.test"}
	if _, err := send.ComposeProtected(&b, m, send.Protection{Signer: fake}); err != nil {
		t.Fatal(err)
	}
	rep, err = receive.Verify(context.Background(), &b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != receive.UnknownSigner || rep.SignerKey != "" || !strings.Contains(rep.Reason, "impostor") {
		t.Errorf("impostor: %s (%s), key offered: %v", rep.Verdict, rep.Reason, rep.SignerKey != "")
	}
}

// TestVerifyAmbiguousFrom: a good, pinned signature is not Verified when
// the message names several senders (the reader may see the other one).
func TestVerifyAmbiguousFrom(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	raw, err := os.ReadFile(filepath.Join("testdata", "good_signed.eml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, msg := range map[string][]byte{
		"two From fields":    append([]byte("From: mallory@evil.test\r\n"), raw...),
		"two From addresses": bytes.Replace(raw, []byte("From: \"Sender\" <alice@clinic.test>"), []byte("From: \"Sender\" <alice@clinic.test>, mallory@evil.test"), 1),
	} {
		rep, err := receive.Verify(context.Background(), bytes.NewReader(msg), receive.VerifyOptions{Store: store})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict == receive.Verified {
			t.Errorf("%s: verified (%s)", name, rep.Reason)
		}
	}
}
