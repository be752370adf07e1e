package receive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-message/textproto"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// textDocsEntity is a signed entity as another mail program builds it:
// documents sent as text (7bit, quoted-printable, 8bit), CRLF line ends
// as MIME requires. textDocs are the documents' bytes as signed (decoded
// from this canonical form; the CRLF before a delimiter belongs to it).
const textDocsEntity = "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n" +
	"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe script and chart.\r\n" +
	"--inner\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Disposition: attachment; filename=\"dose.txt\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
	"Paracetamol 500 mg\r\nTake 2 tablets\r\nEvery 6 hours\r\n" +
	"--inner\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"chart.csv\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"drug,dose=\r\n,unit\r\nparacetamol,500=3D1g\r\n" +
	"--inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=\"ward.txt\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
	"K\xc5\x8dwhai Ward\r\nBed 3\r\n" +
	"--inner--\r\n"

var textDocs = map[string]string{
	"dose.txt":  "Paracetamol 500 mg\r\nTake 2 tablets\r\nEvery 6 hours",
	"chart.csv": "drug,dose,unit\r\nparacetamol,500=1g",
	"ward.txt":  "K\xc5\x8dwhai Ward\r\nBed 3",
}

// checkTextDocs checks that a Verified report released exactly textDocs,
// in the report and to the sink.
func checkTextDocs(t *testing.T, name string, rep *receive.Report, rec *recordingSink) {
	t.Helper()
	if rep.Verdict != receive.Verified {
		t.Errorf("%s: %s (%s), want verified", name, rep.Verdict, rep.Reason)
		return
	}
	if len(rep.Documents) != len(textDocs) {
		t.Fatalf("%s: %d documents, want %d", name, len(rep.Documents), len(textDocs))
	}
	for _, d := range rep.Documents {
		want := textDocs[d.Name]
		sum := sha256.Sum256([]byte(want))
		if d.SHA256 != hex.EncodeToString(sum[:]) || d.Size != int64(len(want)) {
			t.Errorf("%s: %s reported %d bytes, SHA-256 %s; the signed document is %d bytes, %x", name, d.Name, d.Size, d.SHA256, len(want), sum)
		}
		if got := rec.data[d.Name]; string(got) != want {
			t.Errorf("%s: %s released as %q, signed as %q", name, d.Name, got, want)
		}
	}
}

// lineEndVariants are the changes of line ends a mail system in transit
// (or an attacker) can make to a message. Under a signature over the
// CRLF form they leave it verifying.
var lineEndVariants = map[string]func(string) string{
	"untouched":  func(s string) string { return s },
	"CRLF to LF": func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") },
	"documents to LF": func(s string) string {
		return strings.Replace(s, "Take 2 tablets\r\nEvery", "Take 2 tablets\nEvery", 1)
	},
	"QP to LF":   func(s string) string { return strings.Replace(s, "=\r\n,unit\r\npara", "=\n,unit\npara", 1) },
	"8bit to LF": func(s string) string { return strings.Replace(s, "Ward\r\nBed", "Ward\nBed", 1) },
}

// TestSignedTextDocumentsAreTheSignedBytes: a multipart/signed message
// (RFC 3156 section 5) signed by gpg over the CRLF form of its documents
// in 7bit, quoted-printable and 8bit. Its line ends changed in transit
// (CRLF to LF) it still verifies, and the documents released must be the
// signed ones, byte for byte: before, they were decoded from the bytes as
// they arrived, so the pharmacist got under "Verified" a document whose
// SHA-256 was not the one signed. Line ends added (a lone CR, an LF) break
// the signature.
func TestSignedTextDocumentsAreTheSignedBytes(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	g := aliceGPG(t, ks)
	entity := filepath.Join(t.TempDir(), "entity")
	if err := os.WriteFile(entity, []byte(textDocsEntity), 0o600); err != nil {
		t.Fatal(err)
	}
	sig := g.Run(nil, "--armor", "--detach-sign", "--digest-algo", "SHA256", "--local-user", "alice@clinic.test", "--output", "-", entity)
	signed := fmt.Sprintf("%sContent-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n"+
		"--sig\r\n%s\r\n--sig\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n%s\r\n--sig--\r\n",
		gpgHeader, textDocsEntity, bytes.ReplaceAll(sig, []byte("\n"), []byte("\r\n")))

	for name, change := range lineEndVariants {
		rec := &recordingSink{}
		rep, err := receive.Verify(context.Background(), strings.NewReader(change(signed)), receive.VerifyOptions{Store: store, Sink: rec.sink})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkTextDocs(t, name, rep, rec)
	}

	for name, change := range map[string]func(string) string{
		"lone CR added": func(s string) string { return strings.Replace(s, "Take 2 tablets\r\n", "Take 2\r tablets\r\n", 1) },
		"LF added":      func(s string) string { return strings.Replace(s, "Take 2 tablets\r\n", "Take 2\ntablets\r\n", 1) },
		"CR doubled":    func(s string) string { return strings.Replace(s, "Take 2 tablets\r\n", "Take 2 tablets\r\r\n", 1) },
	} {
		rec := &recordingSink{}
		rep, err := receive.Verify(context.Background(), strings.NewReader(change(signed)), receive.VerifyOptions{Store: store, Sink: rec.sink})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.Verdict != receive.BadSignature || !rep.Withheld || rec.calls != 0 {
			t.Errorf("%s: %s (%s), withheld %v, %d documents released; want bad-signature, nothing released", name, rep.Verdict, rep.Reason, rep.Withheld, rec.calls)
		}
	}
}

// TestTextModeEncryptedDocumentsAreTheSignedBytes: the combined signed
// and encrypted form (RFC 3156 section 6.2) with a text signature (type
// 0x01, gpg --textmode, literal data 't'): the signature covers the
// plaintext with its line ends made CRLF, so whoever can encrypt to the
// pharmacy and has the signed plaintext (a second recipient of the
// message, the sender's mail system) could change its line ends and
// re-encrypt it without breaking the signature. The documents released
// must be the signed ones whatever the line ends of the plaintext.
func TestTextModeEncryptedDocumentsAreTheSignedBytes(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	g := aliceGPG(t, ks)
	for name, change := range lineEndVariants {
		for _, mode := range [][]string{{"--textmode"}, {"--textmode", "--compress-algo", "none"}, {"--textmode", "--compress-algo", "bzip2"}} {
			ct := gpgSignEncrypt(t, g, change(textDocsEntity), mode...)
			msg := fmt.Sprintf("%sContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n"+
				"--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--enc\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n--enc--\r\n",
				gpgHeader, ct)
			rec := &recordingSink{}
			rep, err := receive.Verify(context.Background(), strings.NewReader(msg), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: rec.sink})
			if err != nil {
				t.Fatalf("%s %v: %v", name, mode, err)
			}
			checkTextDocs(t, fmt.Sprintf("%s %v", name, mode), rep, rec)
		}
	}
}

// TestTextSignatureReencryptedWithLF: the attack
// TestTextModeEncrypted guards against, made as an attacker makes it (gpg
// and go-crypto write a text signature's literal data with CRLF line
// ends): a text signature over the CRLF form, the literal data ('t')
// with LF line ends, encrypted again to the pharmacy. The signature is
// good; before, the documents released were the LF bytes, not the CRLF
// ones signed.
func TestTextSignatureReencryptedWithLF(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	sig, s := aliceSignature(t, ks, true)
	for name, change := range lineEndVariants {
		// Literal data 't', and 'b' (a text signature over data marked
		// binary: the signature type alone decides how it is hashed).
		for _, binary := range []bool{false, true} {
			data := onePassMessage(t, s, sig, packet.SigTypeText, binary, change(textDocsEntity))
			rec := &recordingSink{}
			rep, err := receive.Verify(context.Background(), bytes.NewReader(encryptPackets(t, ks["bob"], data)), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: rec.sink})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkTextDocs(t, fmt.Sprintf("%s, literal binary %v", name, binary), rep, rec)
		}
	}
}

// aliceSignature is alice's detached signature over textDocsEntity, text
// (type 0x01) or binary, serialized and parsed.
func aliceSignature(t *testing.T, ks keys, text bool) ([]byte, *packet.Signature) {
	t.Helper()
	sign := openpgp.DetachSign
	if text {
		sign = openpgp.DetachSignText
	}
	var sig bytes.Buffer
	if err := sign(&sig, ks["alice"].Entity(), strings.NewReader(textDocsEntity), pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	p, err := packet.Read(bytes.NewReader(sig.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return sig.Bytes(), p.(*packet.Signature)
}

// onePassMessage is an OpenPGP signed message made by hand: a One-Pass
// Signature packet announcing the signature type announce, literal data
// (binary 'b' or text 't') holding data, then the signature packet sig
// (made over whatever the caller chose).
func onePassMessage(t *testing.T, s *packet.Signature, sig []byte, announce packet.SignatureType, binary bool, data string) []byte {
	t.Helper()
	var out bytes.Buffer
	ops := &packet.OnePassSignature{Version: 3, SigType: announce, Hash: s.Hash, PubKeyAlgo: s.PubKeyAlgo, KeyId: *s.IssuerKeyId, IsLast: true}
	if err := ops.Serialize(&out); err != nil {
		t.Fatal(err)
	}
	lw, err := packet.SerializeLiteral(nopCloser{&out}, binary, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	lw.Write([]byte(data))
	lw.Close()
	out.Write(sig)
	return out.Bytes()
}

// TestOnePassSignatureTypeSwapped: go-crypto hashes the literal data the
// way the One-Pass Signature packet announces (text: line ends made
// CRLF), though that packet is not signed, and then checks the signature
// packet, whatever type it has. An attacker who can re-encrypt a binary
// signature over CRLF text announces it as a text signature and changes
// the line ends: the signature is still good, and before, the documents
// were released as the altered bytes under "Verified" (the binary
// signature made the text-signature check pass by). Refused: the
// announced type must be the signature's.
func TestOnePassSignatureTypeSwapped(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	sig, s := aliceSignature(t, ks, false)
	for name, tc := range map[string]struct {
		announce packet.SignatureType
		data     string
		want     receive.Verdict
	}{
		"as signed":                    {packet.SigTypeBinary, textDocsEntity, receive.Verified},
		"announced as text, LF":        {packet.SigTypeText, strings.ReplaceAll(textDocsEntity, "\r\n", "\n"), receive.BadSignature},
		"announced as text, untouched": {packet.SigTypeText, textDocsEntity, receive.BadSignature},
	} {
		data := onePassMessage(t, s, sig, tc.announce, true, tc.data)
		rec := &recordingSink{}
		rep, err := receive.Verify(context.Background(), bytes.NewReader(encryptPackets(t, ks["bob"], data)), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: rec.sink})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tc.want == receive.Verified {
			checkTextDocs(t, name, rep, rec)
			continue
		}
		if rep.Verdict != tc.want || !rep.Withheld || rec.calls != 0 {
			t.Errorf("%s: %s (%s), withheld %v, %d documents released; want %s, nothing released", name, rep.Verdict, rep.Reason, rep.Withheld, rec.calls, tc.want)
		}
	}
}

// textEntity writes parts as a multipart/mixed entity as another mail
// program might: the documents (every part but the note and the
// manifest) as text under cte ("7bit" or "quoted-printable"), the rest
// base64.
func textEntity(t *testing.T, parts []part, cte string) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=\"text\"\r\n\r\n")
	for _, p := range parts {
		b.WriteString("--text\r\n")
		if mt := p.header.Get("Content-Type"); isManifest(p) || strings.HasPrefix(mt, "text/plain; charset") {
			one := content([]part{p})
			b.Write(one[len("Content-Type: multipart/mixed; boundary=\"rebuilt\"\r\n\r\n--rebuilt\r\n") : len(one)-len("--rebuilt--\r\n")])
			continue
		}
		h := p.header.Copy()
		h.Set("Content-Transfer-Encoding", cte)
		if err := textproto.WriteHeader(&b, h); err != nil {
			t.Fatal(err)
		}
		if cte == "quoted-printable" {
			qw := quotedprintable.NewWriter(&b)
			qw.Write(p.body)
			qw.Close()
		} else {
			b.Write(p.body)
		}
		b.WriteString("\r\n")
	}
	b.WriteString("--text--\r\n")
	return b.Bytes()
}

// TestManifestAgreesWithCanonicalText: a message from securesend's own
// signer whose document travels as text (7bit or quoted-printable) and
// whose line ends are changed in transit: the manifest's SHA-256 (of the
// document as signed, CRLF) must agree with the document released. Before,
// the LF copy was decoded as it arrived and the manifest check failed on a
// message nobody had altered in a way the signature sees.
func TestManifestAgreesWithCanonicalText(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	m := manifestMessage(t)
	dose := filepath.Join(t.TempDir(), "dose.txt")
	signedDose := "Paracetamol 500 mg\r\nTake 2 tablets\r\nEvery 6 hours"
	if err := os.WriteFile(dose, []byte(signedDose), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Documents = []send.Document{{Path: dose, ContentType: "text/plain"}}
	for _, cte := range []string{"7bit", "quoted-printable"} {
		msg := string(sealed(t, ks, m, textEntity(t, contentParts(t, m), cte), false))
		for name, change := range lineEndVariants {
			rec := &recordingSink{}
			rep, err := receive.Verify(context.Background(), strings.NewReader(change(msg)), receive.VerifyOptions{Store: store, Sink: rec.sink, Recipients: []string{"bob@pharmacy.test"}})
			if err != nil {
				t.Fatalf("%s %s: %v", cte, name, err)
			}
			if rep.Verdict != receive.Verified || rep.Manifest == nil || len(rep.Documents) != 1 {
				t.Errorf("%s %s: %s (%s), manifest %v, %d documents; want verified with its manifest", cte, name, rep.Verdict, rep.Reason, rep.Manifest != nil, len(rep.Documents))
				continue
			}
			if got := string(rec.data["dose.txt"]); got != signedDose {
				t.Errorf("%s %s: released %q, signed %q", cte, name, got, signedDose)
			}
		}
	}
}

// TestGenerateTextFixtures writes, with -update, fixtures that seed
// FuzzVerify with the forms a change of line ends or a close delimiter
// can attack: good_signed_text_documents.eml, textDocsEntity signed only
// (multipart/signed) by alice's key with protected header fields and no
// manifest, its documents in 7bit, quoted-printable and 8bit (before the
// canonical reading, one CR taken out of a document's line end made it
// release a document nobody signed, as Verified); and
// bad_signature_signed_epilogue.eml, alice's manifest message signed only
// with its manifest after the closing boundary (was Verified, the manifest
// dropped unseen).
func TestGenerateTextFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate fixtures")
	}
	ks := loadKeys(t)
	m := manifestMessage(t)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good_signed_text_documents.eml", sealed(t, ks, m, []byte(textDocsEntity), false))
	parts := contentParts(t, m)
	manifestPart := string(content(parts[len(parts)-1:]))
	manifestPart = manifestPart[strings.Index(manifestPart, "--rebuilt\r\n")+len("--rebuilt\r\n") : strings.LastIndex(manifestPart, "--rebuilt--")]
	write("bad_signature_signed_epilogue.eml", sealed(t, ks, m, append(content(parts[:len(parts)-1]), manifestPart...), false))
}

// TestTextFixtures: the committed fixtures of TestGenerateTextFixtures
// read as they should, and good_signed_text_documents.eml still does with
// its line ends made LF.
func TestTextFixtures(t *testing.T) {
	ks := loadKeys(t)
	opts := receive.VerifyOptions{Store: bobStore(t, ks), Secret: []*pgp.Key{ks["bob"]}}
	for _, tt := range []struct {
		file string
		lf   bool
		want receive.Verdict
	}{
		{"good_signed_text_documents.eml", false, receive.Verified},
		{"good_signed_text_documents.eml", true, receive.Verified},
		{"bad_signature_signed_epilogue.eml", false, receive.BadSignature},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		if tt.lf {
			data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		}
		rec := &recordingSink{}
		o := opts
		o.Sink = rec.sink
		rep := verify(t, data, o)
		if tt.want == receive.Verified {
			checkTextDocs(t, tt.file, rep, rec)
		} else if rep.Verdict != tt.want || rec.calls != 0 {
			t.Errorf("%s: %s (%s), %d documents released", tt.file, rep.Verdict, rep.Reason, rec.calls)
		}
	}
}
