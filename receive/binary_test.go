package receive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/crypto/pgpmime"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// binaryContent writes parts as a multipart/mixed entity as send writes
// an encrypted message's content since issue 17: the documents (every
// part but the note and the manifest) as their exact bytes under
// "Content-Transfer-Encoding: binary", the rest base64.
func binaryContent(t testing.TB, parts []part) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=\"3f1c7a2e9b0d4c5e8a6f1b2c3d4e5f60\"\r\n\r\n")
	for _, p := range parts {
		b.WriteString("--3f1c7a2e9b0d4c5e8a6f1b2c3d4e5f60\r\n")
		h := p.header.Copy()
		if mt := p.header.Get("Content-Type"); isManifest(p) || strings.HasPrefix(mt, "text/plain") {
			b.Write(content([]part{p})[len("Content-Type: multipart/mixed; boundary=\"rebuilt\"\r\n\r\n--rebuilt\r\n") : len(content([]part{p}))-len("--rebuilt--\r\n")])
			continue
		}
		h.Set("Content-Transfer-Encoding", "binary")
		if err := textproto.WriteHeader(&b, h); err != nil {
			t.Fatal(err)
		}
		b.Write(p.body)
		b.WriteString("\r\n")
	}
	b.WriteString("--3f1c7a2e9b0d4c5e8a6f1b2c3d4e5f60--\r\n")
	return b.Bytes()
}

// sealedBy signs entity as signer with m's protected header fields and
// encrypts it to bob, as send.ComposeProtected does; with binary the entity
// is passed on as written (pgpmime.Options.Binary), else canonicalized.
func sealedBy(t testing.TB, signer *pgp.Key, bob *pgp.Key, m *send.Message, entity []byte, binary bool) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := send.WriteHeader(&out, m, m.Subject); err != nil {
		t.Fatal(err)
	}
	write := func(w io.Writer) error {
		pw := pgpmime.ProtectHeaders(w, protectedFields(t, m), pgpmime.HPCipher)
		if _, err := pw.Write(entity); err != nil {
			return err
		}
		return pw.Close()
	}
	opts := pgpmime.Options{Signer: signer, Recipients: []*pgp.PublicKey{bob.Public()}, Binary: binary}
	if binary {
		opts.Compression = pgpmime.CompressNone
	}
	if err := pgpmime.WriteEncrypted(&out, opts, write); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// verdictOf is what must not depend on how the documents travelled.
type verdictOf struct {
	Verdict   receive.Verdict
	Reason    string
	Note      string
	Subject   string
	Documents []receive.Document
	Remarks   []string
	Manifest  bool
	Withheld  bool
}

func verdictSummary(r *receive.Report) verdictOf {
	return verdictOf{r.Verdict, r.Reason, r.Note, r.Subject, r.Documents, r.Remarks, r.Manifest != nil, r.Withheld}
}

// TestBinaryAndBase64SameVerdicts: for each case, the same signed content
// sent encrypted with its documents in base64 (securesend before issue
// 17) and in binary (since) gets the same report: verdict, reason, note,
// documents with their sizes and SHA-256, remarks, manifest. The
// manifest's hashes are checked in both forms (an altered or reordered
// document is bad-signature), and the binary form straight from
// send.ComposeProtected reads as the hand-built one does.
func TestBinaryAndBase64SameVerdicts(t *testing.T) {
	ks := loadKeys(t)
	opts := receive.VerifyOptions{Store: bobStore(t, ks), Secret: []*pgp.Key{ks["bob"]}}
	m := manifestMessage(t)
	other := *m
	other.To = []mail.Address{{Address: "someone@elsewhere.test"}}
	fromCarol := *m
	fromCarol.From = mail.Address{Name: "Carol Unverified Test", Address: "carol@clinic.test"}
	for _, tt := range []struct {
		name   string
		m      *send.Message
		signer string
		edit   func([]part) []part
		want   receive.Verdict
	}{
		{"as sent", m, "alice", nil, receive.Verified},
		{"a document altered under the signature", m, "alice", func(p []part) []part { p[1].body[10] ^= 1; return p }, receive.BadSignature},
		{"documents in another order", m, "alice", func(p []part) []part { p[1], p[2] = p[2], p[1]; return p }, receive.BadSignature},
		{"a document with line ends and NUL", m, "alice", func(p []part) []part { p[1].body = append(p[1].body, "\r\n\n\r\x00--"...); return p }, receive.BadSignature},
		{"no manifest", m, "alice", func(p []part) []part { return p[:len(p)-1] }, receive.Verified},
		{"for someone else", &other, "alice", nil, receive.NotAddressed},
		{"signer not pinned", &fromCarol, "carol", nil, receive.UnknownSigner},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts := contentParts(t, tt.m)
			if tt.edit != nil {
				parts = tt.edit(parts)
			}
			old := verify(t, sealedBy(t, ks[tt.signer], ks["bob"], tt.m, content(parts), false), opts)
			bin := sealedBy(t, ks[tt.signer], ks["bob"], tt.m, binaryContent(t, parts), true)
			if !bytes.Contains(bin, []byte("-----BEGIN PGP MESSAGE-----")) {
				t.Fatal("not encrypted")
			}
			got := verify(t, bin, opts)
			if old.Verdict != tt.want {
				t.Errorf("base64: %s (%s), want %s", old.Verdict, old.Reason, tt.want)
			}
			if a, b := verdictSummary(old), verdictSummary(got); !reflect.DeepEqual(a, b) {
				t.Errorf("binary and base64 differ:\n base64: %+v\n binary: %+v", a, b)
			}
		})
	}

	// The binary form as send writes it.
	var out bytes.Buffer
	infos, err := send.ComposeProtected(&out, m, send.Protection{Signer: ks["alice"], Recipients: []*pgp.PublicKey{ks["bob"].Public()}, Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	rep := verify(t, out.Bytes(), opts)
	if rep.Verdict != receive.Verified || len(rep.Documents) != len(infos) || rep.Manifest == nil {
		t.Fatalf("send.ComposeProtected's message: %s (%s), %d documents", rep.Verdict, rep.Reason, len(rep.Documents))
	}
	for i, d := range rep.Documents {
		if d.SHA256 != infos[i].SHA256 || d.Size != infos[i].Size {
			t.Errorf("document %d: %+v, sent %+v", i, d, infos[i])
		}
	}
}

// TestBinaryPartUncovered: a part in binary (Content-Transfer-Encoding:
// binary) is covered only by a signature over its exact bytes. In
// multipart/signed (RFC 3156 section 5 hashes the content with CRLF line
// ends; binary is not allowed there) and under an OpenPGP text signature
// (gpg --textmode, type 0x01, also hashed with CRLF line ends) it is
// bad-signature, withheld, even though the signature matches, and also
// after its CRLFs were turned into LFs in transit (before: verified, with
// the altered bytes released). Base64 in multipart/signed and binary under
// gpg's binary signature stay verified.
func TestBinaryPartUncovered(t *testing.T) {
	ks := loadKeys(t)
	opts := receive.VerifyOptions{Store: bobStore(t, ks), Secret: []*pgp.Key{ks["bob"]}}
	m := manifestMessage(t)
	doc := []byte("%PDF-1.4\r\n% TEST ONLY\r\nstream\r\n\x00\x01\xff\r\nendstream\r\n%%EOF\r\n")
	docPart := part{textproto.Header{}, doc}
	docPart.header.Set("Content-Type", "application/pdf; name=rx.pdf")
	docPart.header.Set("Content-Disposition", "attachment; filename=rx.pdf")
	note := part{textproto.Header{}, []byte("Please dispense.\r\n")}
	note.header.Set("Content-Type", "text/plain; charset=utf-8")
	parts := []part{note, docPart}
	binEntity := binaryContent(t, parts)
	sum := sha256.Sum256(doc)
	docSum := hex.EncodeToString(sum[:])

	signedBinary := sealed(t, ks, m, binEntity, false)
	// In transit: the document's CRLFs become LFs (the multipart/signed
	// hash does not see it).
	i := bytes.Index(signedBinary, []byte("%PDF-1.4"))
	j := bytes.Index(signedBinary, []byte("%%EOF"))
	altered := append(append(append([]byte{}, signedBinary[:i]...), bytes.ReplaceAll(signedBinary[i:j], []byte("\r\n"), []byte("\n"))...), signedBinary[j:]...)
	g := aliceGPG(t, ks)
	var inner bytes.Buffer
	pw := pgpmime.ProtectHeaders(&inner, protectedFields(t, m), pgpmime.HPCipher)
	pw.Write(binEntity)
	pw.Close()
	gpgMessage := func(extra ...string) []byte {
		var out bytes.Buffer
		if err := send.WriteHeader(&out, m, "[...]"); err != nil {
			t.Fatal(err)
		}
		return wrapEncrypted(strings.TrimSuffix(out.String(), "MIME-Version: 1.0\r\n"), gpgSignEncrypt(t, g, inner.String(), extra...))
	}

	for _, tt := range []struct {
		name string
		msg  []byte
		want receive.Verdict
	}{
		{"multipart/signed, binary", signedBinary, receive.BadSignature},
		{"multipart/signed, binary, CRLF made LF in transit", altered, receive.BadSignature},
		{"encrypted by gpg --textmode (text signature), binary", gpgMessage("--textmode"), receive.BadSignature},
		{"multipart/signed, base64", sealed(t, ks, m, content(parts), false), receive.Verified},
		{"encrypted by gpg (binary signature), binary", gpgMessage(), receive.Verified},
	} {
		rep := verify(t, tt.msg, opts)
		if rep.Verdict != tt.want {
			t.Errorf("%s: %s (%s), want %s", tt.name, rep.Verdict, rep.Reason, tt.want)
			continue
		}
		switch tt.want {
		case receive.BadSignature:
			if !strings.Contains(rep.Reason, "in binary form") || !rep.Withheld || len(rep.Documents) != 0 || rep.Note != "" {
				t.Errorf("%s: reason %q, withheld %v, %d documents, note %q", tt.name, rep.Reason, rep.Withheld, len(rep.Documents), rep.Note)
			}
		case receive.Verified:
			if len(rep.Documents) != 1 || rep.Documents[0].SHA256 != docSum {
				t.Errorf("%s: documents %+v, want the one sent (%s)", tt.name, rep.Documents, docSum)
			}
		}
	}
}

// TestGenerateBinaryFixtures writes, with -update, the fixtures of the two
// forms a binary part can take (they seed FuzzVerify too, whose signed
// truth must then never include a document altered by its line ends):
// good_encrypted_binary.eml, alice's manifest message to bob as
// send.ComposeProtected writes it since issue 17 (documents in binary
// inside the encryption; good_encrypted_manifest.eml is the base64 form),
// and bad_signature_signed_binary_part.eml, the same content without its
// manifest signed only (multipart/signed) with its document in binary:
// before row 36 it was Verified, its document's LFs released as CRLF.
func TestGenerateBinaryFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate fixtures")
	}
	ks := loadKeys(t)
	m := manifestMessage(t)
	m.Documents = m.Documents[:1]
	var enc bytes.Buffer
	if _, err := send.ComposeProtected(&enc, m, send.Protection{Signer: ks["alice"], Recipients: []*pgp.PublicKey{ks["bob"].Public()}, Encrypt: true}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(enc.Bytes(), []byte("-----BEGIN PGP MESSAGE-----")) {
		t.Fatal("not encrypted")
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good_encrypted_binary.eml", enc.Bytes())
	// Without the manifest (as from another mail program): with it, the
	// manifest's hash would catch the document's line ends made CRLF.
	parts := contentParts(t, m)
	write("bad_signature_signed_binary_part.eml", sealed(t, ks, m, binaryContent(t, parts[:len(parts)-1]), false))
}

// TestBlankPageIsNotABomb: a large document that compresses extremely well
// (80 MiB of white after a TIFF header: an uncompressed blank page, many
// times over) is sent compressed, since it pays, and its own receiver
// reads it back, Verified, byte for byte. Deflate with match search made
// it a 150 KB message that expands 550 times, which verify refused as a
// compression bomb (over 32 times its ciphertext); Huffman-only cannot
// exceed 8 times. Keys made now list ZIP (the committed TEST ONLY keys
// predate that and get uncompressed messages).
func TestBlankPageIsNotABomb(t *testing.T) {
	alice := pgptest.Key(t, "Dr Alice Test", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob Test", "bob@pharmacy.test")
	store, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Import(bytes.NewReader(pgptest.Armored(t, alice.Public())), pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
	data := append([]byte("II*\x00"), bytes.Repeat([]byte{0xff}, 80<<20)...)
	doc := filepath.Join(t.TempDir(), "blank.tif")
	if err := os.WriteFile(doc, data, 0o600); err != nil {
		t.Fatal(err)
	}
	m := &send.Message{
		From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: "blank pages", Documents: []send.Document{{Path: doc}}, MessageID: "blank@clinic.test",
		Date: time.Now(),
	}
	var out bytes.Buffer
	infos, err := send.ComposeProtected(&out, m, send.Protection{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() > len(data)/4 {
		t.Errorf("%d bytes for %d document bytes: not compressed", out.Len(), len(data))
	}
	rep, err := receive.Verify(context.Background(), &out, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != receive.Verified || len(rep.Documents) != 1 || rep.Documents[0].SHA256 != infos[0].SHA256 {
		t.Fatalf("%s (%s), documents %+v, want the one sent (%s)", rep.Verdict, rep.Reason, rep.Documents, infos[0].SHA256)
	}
}
