package receive_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	message "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgpmime"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// manifestMessage is alice's prescription to bob with two documents and
// every manifest field set.
func manifestMessage(t testing.TB) *send.Message {
	t.Helper()
	dir := t.TempDir()
	rx := filepath.Join(dir, "prescription.pdf")
	notes := filepath.Join(dir, "notes.pdf")
	if err := os.WriteFile(rx, []byte("%PDF-1.4\n% TEST ONLY prescription: amoxicillin 500 mg, 21 capsules\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notes, []byte("%PDF-1.4\n% TEST ONLY clinical notes\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &send.Message{
		From:           mail.Address{Name: "Dr Alice Test", Address: "alice@clinic.test"},
		To:             []mail.Address{{Name: "Bob", Address: "bob@pharmacy.test"}},
		Subject:        "Prescription (TEST ONLY)",
		Note:           "Please dispense as written.",
		Documents:      []send.Document{{Path: rx}, {Path: notes}},
		MessageID:      "manifest-test@clinic.test",
		Date:           time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		DocumentType:   "prescription",
		PatientNHI:     "ZZZ0016",
		PrescriberName: "Dr Alice Test",
		PrescriberCPN:  "91ZZWJ",
		FacilityHPI:    "FZZ999-B",
	}
}

// part is one part of a content entity, with its body decoded.
type part struct {
	header textproto.Header
	body   []byte
}

// contentParts composes m's content entity with send.WriteContent and
// splits it into its parts.
func contentParts(t testing.TB, m *send.Message) []part {
	t.Helper()
	var b bytes.Buffer
	if _, err := send.WriteContent(&b, m); err != nil {
		t.Fatal(err)
	}
	e, err := message.Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	mr := e.MultipartReader()
	var parts []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		h := p.Header.Header.Copy()
		h.Del("Content-Transfer-Encoding")
		parts = append(parts, part{h, body})
	}
}

// content writes parts as a multipart/mixed entity, each part base64.
func content(parts []part) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=\"rebuilt\"\r\n\r\n")
	for _, p := range parts {
		b.WriteString("--rebuilt\r\n")
		h := p.header.Copy()
		h.Set("Content-Transfer-Encoding", "base64")
		textproto.WriteHeader(&b, h)
		enc := base64.StdEncoding.EncodeToString(p.body)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--rebuilt--\r\n")
	return b.Bytes()
}

func isManifest(p part) bool {
	mt, _, _ := mime.ParseMediaType(p.header.Get("Content-Type"))
	return mt == manifest.MediaType
}

// editManifest parses the manifest part, lets edit change it and writes
// it back.
func editManifest(t testing.TB, parts []part, edit func(*manifest.Manifest)) []part {
	t.Helper()
	for i, p := range parts {
		if !isManifest(p) {
			continue
		}
		mf, err := manifest.Parse(bytes.NewReader(p.body))
		if err != nil {
			t.Fatal(err)
		}
		edit(mf)
		data, err := mf.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		parts[i].body = data
		return parts
	}
	t.Fatal("no manifest part")
	return nil
}

// protectedFields are the protected header fields of m (RFC 9788), as
// send writes them.
func protectedFields(t testing.TB, m *send.Message) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := send.WriteHeader(&b, m, m.Subject); err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(b.Bytes(), []byte("MIME-Version: 1.0\r\n"), nil, 1)
}

// sealed signs (and, with encrypt, encrypts to bob) the content entity as
// alice with m's protected header fields, as send.ComposeProtected does.
func sealed(t testing.TB, ks keys, m *send.Message, entity []byte, encrypt bool) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := send.WriteHeader(&out, m, m.Subject); err != nil {
		t.Fatal(err)
	}
	hp := pgpmime.HPClear
	if encrypt {
		hp = pgpmime.HPCipher
	}
	write := func(w io.Writer) error {
		pw := pgpmime.ProtectHeaders(w, protectedFields(t, m), hp)
		if _, err := pw.Write(entity); err != nil {
			return err
		}
		return pw.Close()
	}
	opts := pgpmime.Options{Signer: ks["alice"], Recipients: []*pgp.PublicKey{ks["bob"].Public()}}
	var err error
	if encrypt {
		err = pgpmime.WriteEncrypted(&out, opts, write)
	} else {
		err = pgpmime.WriteSigned(&out, opts, write)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// gpgSealed has GnuPG sign the content entity as alice and encrypt it to
// bob (the real peer), with m's protected header fields.
func gpgSealed(t testing.TB, ks keys, m *send.Message, entity []byte) []byte {
	t.Helper()
	var inner bytes.Buffer
	pw := pgpmime.ProtectHeaders(&inner, protectedFields(t, m), pgpmime.HPCipher)
	if _, err := pw.Write(entity); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	ct := gpgSignEncrypt(t, aliceGPG(t, ks), inner.String())
	var out bytes.Buffer
	if err := send.WriteHeader(&out, m, "[...]"); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&out, "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n"+
		"--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--enc\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n--enc--\r\n", ct)
	return out.Bytes()
}

// TestVerifyManifest (issue 16 point 1): messages made by send's composer
// carry a manifest that Verify checks against the documents, recipients
// and Message-ID; every disagreement is BadSignature (red, withheld), a
// message without a manifest is verified as before with a remark, and a
// good manifest is in Report.Manifest.
func TestVerifyManifest(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	m := manifestMessage(t)
	good := contentParts(t, m)
	if len(good) != 4 || !isManifest(good[3]) {
		t.Fatalf("composed content has %d parts, the manifest last: %v", len(good), good)
	}
	clone := func() []part {
		out := make([]part, len(good))
		for i, p := range good {
			out[i] = part{p.header.Copy(), bytes.Clone(p.body)}
		}
		return out
	}
	composed := func(p send.Protection) []byte {
		var b bytes.Buffer
		if _, err := send.ComposeProtected(&b, m, p); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	signed := func(parts []part) []byte { return sealed(t, ks, m, content(parts), false) }
	encrypted := func(parts []part) []byte { return sealed(t, ks, m, content(parts), true) }
	otherSHA := strings.Repeat("0", 64)

	// A genuine signed message inside an unsigned multipart/mixed that
	// adds a manifest beside it.
	goodSigned := composed(send.Protection{Signer: ks["alice"]})
	hdrEnd := bytes.Index(goodSigned, []byte("\r\nContent-Type: multipart/signed"))
	outside := append(bytes.Clone(goodSigned[:hdrEnd+2]), "Content-Type: multipart/mixed; boundary=\"wrap\"\r\n\r\n--wrap\r\n"...)
	outside = append(outside, goodSigned[hdrEnd+2:]...)
	outside = append(outside, "\r\n--wrap\r\nContent-Type: "+manifest.MediaType+"\r\n\r\n"+string(good[3].body)+"\r\n--wrap--\r\n"...)

	tests := []struct {
		name   string
		msg    []byte
		want   receive.Verdict
		reason string // in the Reason of a BadSignature
		remark string // in a remark of a releasable verdict
	}{
		{"signed, as composed", composed(send.Protection{Signer: ks["alice"]}), receive.Verified, "", ""},
		{"encrypted, as composed", composed(send.Protection{Signer: ks["alice"], Recipients: []*pgp.PublicKey{ks["bob"].Public()}, Encrypt: true}), receive.Verified, "", ""},
		{"rebuilt unchanged", signed(clone()), receive.Verified, "", ""},
		{"gpg signed and encrypted", gpgSealed(t, ks, m, content(clone())), receive.Verified, "", ""},
		{"document missing", signed(append(clone()[:2], good[3])), receive.BadSignature, "document 2 of the 2 listed is missing", ""},
		{"document missing, encrypted", encrypted(append(clone()[:2], good[3])), receive.BadSignature, "document 2 of the 2 listed is missing", ""},
		{"extra document", signed(append(clone()[:3], good[1], good[3])), receive.BadSignature, "holds 3 documents, but the list names 2", ""},
		{"document altered", func() []byte {
			p := clone()
			p[1].body = bytes.Replace(p[1].body, []byte("21 capsules"), []byte("90 capsules"), 1)
			return signed(p)
		}(), receive.BadSignature, "document 1 is not the one listed", ""},
		{"documents swapped", signed([]part{good[0], good[2], good[1], good[3]}), receive.BadSignature, "document 1 is not the one listed", ""},
		{"listed hash altered", signed(editManifest(t, clone(), func(mf *manifest.Manifest) { mf.Documents[1].SHA256 = otherSHA })), receive.BadSignature, "document 2 is not the one listed", ""},
		{"listed hash altered, gpg", gpgSealed(t, ks, m, content(editManifest(t, clone(), func(mf *manifest.Manifest) { mf.Documents[0].SHA256 = otherSHA }))), receive.BadSignature, "document 1 is not the one listed", ""},
		{"renamed", signed(editManifest(t, clone(), func(mf *manifest.Manifest) { mf.Documents[0].Name = "other.pdf" })), receive.BadSignature, "document 1 has a different name", ""},
		{"retyped", signed(editManifest(t, clone(), func(mf *manifest.Manifest) { mf.Documents[0].ContentType = "image/png" })), receive.BadSignature, "document 1 has a different type", ""},
		{"two manifests", signed(append(clone(), good[3])), receive.BadSignature, "more than one list", ""},
		{"other Message-ID", signed(editManifest(t, clone(), func(mf *manifest.Manifest) { mf.MessageID = "other@clinic.test" })), receive.BadSignature, "different Message-ID", ""},
		{"recipients differ", signed(editManifest(t, clone(), func(mf *manifest.Manifest) {
			mf.Recipients = append(mf.Recipients, "carol@clinic.test")
		})), receive.BadSignature, "recipients in the signed list", ""},
		{"manifest not JSON", func() []byte { p := clone(); p[3].body = []byte("dispense 90"); return signed(p) }(), receive.BadSignature, "manifest) is not valid", ""},
		{"manifest with a bad NHI", func() []byte {
			p := clone()
			p[3].body = bytes.Replace(p[3].body, []byte(`"ZZZ0016"`), []byte(`"ZZZ0017"`), 1)
			return signed(p)
		}(), receive.BadSignature, "not valid (patient_nhi)", ""},
		{"manifest over 64 KiB", func() []byte {
			p := clone()
			p[3].body = append(bytes.TrimRight(p[3].body, "}\n"), `,"pad":"`+strings.Repeat("x", manifest.MaxSize)+`"}`...)
			return signed(p)
		}(), receive.BadSignature, "manifest) is not valid", ""},
		{"manifest outside the signed part", outside, receive.BadSignature, "", ""},
		{"newer manifest version", func() []byte {
			p := clone()
			p[3].body = bytes.Replace(p[3].body, []byte(`"version":1`), []byte(`"version":2`), 1)
			return signed(p)
		}(), receive.Verified, "", "newer version"},
		{"no manifest (another mail program)", signed(clone()[:3]), receive.Verified, "", "no securesend manifest"},
		{"not signed", composed(send.Protection{}), receive.NotSigned, "", "no signature covers"},
	}
	for _, tt := range tests {
		rec := &recordingSink{}
		rep := verify(t, tt.msg, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: rec.sink})
		if rep.Verdict != tt.want {
			t.Errorf("%s: %s (%s), want %s", tt.name, rep.Verdict, rep.Reason, tt.want)
			continue
		}
		if !strings.Contains(rep.Reason, tt.reason) {
			t.Errorf("%s: reason %q, want it to say %q", tt.name, rep.Reason, tt.reason)
		}
		if tt.remark != "" && !strings.Contains(strings.Join(rep.Remarks, " "), tt.remark) {
			t.Errorf("%s: remarks %q, want one saying %q", tt.name, rep.Remarks, tt.remark)
		}
		if !rep.Verdict.Releasable() {
			if rep.Manifest != nil || rec.calls != 0 || len(rep.Documents) != 0 || !rep.Withheld || rep.Verdict.Colour() != "red" {
				t.Errorf("%s: not withheld: manifest %+v, sink calls %d, documents %d", tt.name, rep.Manifest, rec.calls, len(rep.Documents))
			}
			continue
		}
		wantManifest := tt.want == receive.Verified && tt.remark == ""
		if (rep.Manifest != nil) != wantManifest {
			t.Errorf("%s: Report.Manifest %+v, want one: %v", tt.name, rep.Manifest, wantManifest)
			continue
		}
		if rep.Manifest != nil {
			mf := rep.Manifest
			if mf.PatientNHI != "ZZZ0016" || mf.DocumentType != "prescription" || mf.Prescriber == nil || mf.Prescriber.CPN != "91ZZWJ" || mf.FacilityHPI != "FZZ999-B" {
				t.Errorf("%s: manifest %+v", tt.name, mf)
			}
			sums := mf.SHA256s()
			if len(sums) != len(rep.Documents) || sums[0] != rep.Documents[0].SHA256 || sums[1] != rep.Documents[1].SHA256 {
				t.Errorf("%s: manifest hashes %q, documents %+v", tt.name, sums, rep.Documents)
			}
			if !strings.Contains(strings.Join(rep.Remarks, " "), "test number") {
				t.Errorf("%s: no remark on the test NHI: %q", tt.name, rep.Remarks)
			}
		}
		if len(rep.Documents) != 2 {
			t.Errorf("%s: %d documents (the manifest must never be one): %+v", tt.name, len(rep.Documents), rep.Documents)
		}
		for _, d := range rep.Documents {
			if d.Name == manifest.FileName {
				t.Errorf("%s: the manifest was released as a document", tt.name)
			}
		}
	}
}

// TestVerifyManifestNotForUnknownKey: a signature by a key that is
// neither in the store nor carried by the message cannot be checked, so
// its manifest is not reported, though the message is amber as before.
func TestVerifyManifestNotForUnknownKey(t *testing.T) {
	ks := loadKeys(t)
	m := manifestMessage(t)
	m.From = mail.Address{Name: "Mallory", Address: "mallory@evil.test"}
	var b bytes.Buffer
	if _, err := send.ComposeProtected(&b, m, send.Protection{Signer: ks["mallory"]}); err != nil {
		t.Fatal(err)
	}
	// Without the Autocrypt header field (and its folded lines) the
	// message carries no key.
	var kept []string
	skipping := false
	for _, line := range strings.SplitAfter(b.String(), "\r\n") {
		switch {
		case strings.HasPrefix(line, "Autocrypt:"):
			skipping = true
		case skipping && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")):
		default:
			skipping = false
			kept = append(kept, line)
		}
	}
	rep := verify(t, []byte(strings.Join(kept, "")), receive.VerifyOptions{Store: bobStore(t, ks), Secret: []*pgp.Key{ks["bob"]}})
	if rep.Verdict != receive.UnknownSigner || rep.Manifest != nil {
		t.Errorf("%s (%s), manifest %+v", rep.Verdict, rep.Reason, rep.Manifest)
	}
}

// TestGenerateManifestFixtures writes, with -update, the fixtures that
// seed FuzzVerify with manifests: a good one and one whose signed
// manifest disagrees with its document.
func TestGenerateManifestFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate fixtures")
	}
	ks := loadKeys(t)
	m := manifestMessage(t)
	m.Documents = m.Documents[:1]
	parts := contentParts(t, m)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good_signed_manifest.eml", sealed(t, ks, m, content(parts), false))
	write("good_encrypted_manifest.eml", sealed(t, ks, m, content(parts), true))
	write("bad_signature_manifest_mismatch.eml", sealed(t, ks, m, content(editManifest(t, parts, func(mf *manifest.Manifest) {
		mf.Documents[0].SHA256 = strings.Repeat("0", 64)
	})), false))
}
