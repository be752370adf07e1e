package receive_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/emersion/go-message/textproto"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// binBoundary is the boundary binaryContent writes.
const binBoundary = "3f1c7a2e9b0d4c5e8a6f1b2c3d4e5f60"

// smuggled is a part header and body a hostile document carries after a
// copy of the boundary, to be read as a second, differently named
// document.
const smuggled = "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"other.pdf\"\r\n\r\n%PDF-1.4 EVIL"

// TestBinaryDocumentHoldingTheBoundary: a document sent in binary inside
// a signed and encrypted message that holds the message's boundary (send
// refuses to write one; a hostile or faulty sender program, or another
// one, may). Signed by the pinned sender, so only the reading is at
// stake: it must never release, under "Verified", a split or truncated
// document, a second document, or drop signed data unseen.
//
// Before: a close delimiter in the document ended the multipart there;
// the rest of the document and the signed manifest after it became the
// epilogue, which was ignored, and the first bytes of the document were
// released as Verified ("carries no manifest"). A delimiter after a bare
// LF split the document in two where MIME readers that require CRLF (as
// RFC 2046 does) read one, and without a manifest both were Verified.
// Both are refused now (a structural error: bad-signature); a delimiter
// after CRLF is a delimiter for every reader, and the manifest catches it.
func TestBinaryDocumentHoldingTheBoundary(t *testing.T) {
	ks := loadKeys(t)
	opts := receive.VerifyOptions{Store: bobStore(t, ks), Secret: []*pgp.Key{ks["bob"]}}
	for _, tt := range []struct {
		name string
		body string
		// want with and without the manifest; docs is the number of
		// documents released without it.
		withManifest, without receive.Verdict
		docs                  int
	}{
		{"close delimiter after CRLF", "%PDF-1.4\r\n--" + binBoundary + "--\r\nthe rest", receive.BadSignature, receive.BadSignature, 0},
		{"close delimiter after LF", "%PDF-1.4\n--" + binBoundary + "--\r\nthe rest", receive.BadSignature, receive.BadSignature, 0},
		{"delimiter after LF", "%PDF-1.4\n--" + binBoundary + "\r\n" + smuggled, receive.BadSignature, receive.BadSignature, 0},
		{"delimiter after LF, nothing after", "%PDF-1.4\n--" + binBoundary + "\r\n", receive.BadSignature, receive.BadSignature, 0},
		// A delimiter for every MIME reader: the manifest tells.
		{"delimiter after CRLF", "%PDF-1.4\r\n--" + binBoundary + "\r\n" + smuggled, receive.BadSignature, receive.Verified, 2},
		{"delimiter at the start", "--" + binBoundary + "\r\n" + smuggled, receive.BadSignature, receive.Verified, 2},
		// Not a delimiter for RFC 2046 (nor securesend), but one for
		// readers that take a lone CR for a line end (Python's email
		// package): refused, at the end of the document too.
		{"delimiter after a bare CR", "%PDF-1.4\r--" + binBoundary + "\r\n" + smuggled, receive.BadSignature, receive.BadSignature, 0},
		{"delimiter after a bare CR, at the end", "%PDF-1.4\r--" + binBoundary, receive.BadSignature, receive.BadSignature, 0},
		{"close delimiter after a bare CR", "%PDF-1.4\r--" + binBoundary + "--\r\n", receive.BadSignature, receive.BadSignature, 0},
		// Not a delimiter (not at the start of a line): one document,
		// the one signed.
		{"mid line", "%PDF-1.4 --" + binBoundary + "\r\n" + smuggled, receive.Verified, receive.Verified, 1},
		{"prefix of the boundary", "%PDF-1.4\r\n--" + binBoundary[:20] + "\r\n" + smuggled, receive.Verified, receive.Verified, 1},
		// A document whose bytes look like a MIME part: its content.
		{"looks like MIME headers", smuggled + "\r\n\r\nContent-Type: text/html\r\n\r\n<b>x</b>", receive.Verified, receive.Verified, 1},
	} {
		m := manifestMessage(t)
		doc := filepath.Join(t.TempDir(), "rx.pdf")
		if err := os.WriteFile(doc, []byte(tt.body), 0o600); err != nil {
			t.Fatal(err)
		}
		m.Documents = []send.Document{{Path: doc}}
		parts := contentParts(t, m)
		for _, withManifest := range []bool{true, false} {
			p, want := parts, tt.withManifest
			if !withManifest {
				p, want = parts[:len(parts)-1], tt.without
			}
			rec := &recordingSink{}
			o := opts
			o.Sink = rec.sink
			rep := verify(t, sealedBy(t, ks["alice"], ks["bob"], m, binaryContent(t, p), true), o)
			name := tt.name + map[bool]string{true: ", manifest", false: ", no manifest"}[withManifest]
			if rep.Verdict != want {
				t.Errorf("%s: %s (%s), want %s", name, rep.Verdict, rep.Reason, want)
				continue
			}
			if want == receive.BadSignature {
				if !rep.Withheld || rec.calls != 0 {
					t.Errorf("%s: withheld %v, %d documents released", name, rep.Withheld, rec.calls)
				}
				continue
			}
			n := tt.docs
			if withManifest {
				n = 1
			}
			if len(rep.Documents) != n {
				t.Errorf("%s: %d documents, want %d", name, len(rep.Documents), n)
			}
			if n == 1 && string(rec.data["rx.pdf"]) != tt.body {
				t.Errorf("%s: released %q, signed %q", name, rec.data["rx.pdf"], tt.body)
			}
		}
	}
}

// TestSignedEpilogue: text after the closing boundary of a multipart in
// signed content is signed but shown by no MIME reader, so a manifest (or
// anything) there was dropped unseen; refused. White space there, as
// mail programs write it, is not.
func TestSignedEpilogue(t *testing.T) {
	ks := loadKeys(t)
	opts := receive.VerifyOptions{Store: bobStore(t, ks), Secret: []*pgp.Key{ks["bob"]}}
	m := manifestMessage(t)
	parts := contentParts(t, m)
	entity := string(content(parts[:len(parts)-1]))
	manifestPart := string(content(parts[len(parts)-1:]))
	manifestPart = manifestPart[strings.Index(manifestPart, "--rebuilt\r\n")+len("--rebuilt\r\n") : strings.LastIndex(manifestPart, "--rebuilt--")]
	for _, tt := range []struct {
		name     string
		epilogue string
		want     receive.Verdict
	}{
		{"none", "", receive.Verified},
		{"blank lines", "\r\n\r\n \t\r\n", receive.Verified},
		{"a manifest", manifestPart, receive.BadSignature},
		{"text", "Dispense 90\r\n", receive.BadSignature},
	} {
		for _, encrypt := range []bool{false, true} {
			rep := verify(t, sealed(t, ks, m, []byte(entity+tt.epilogue), encrypt), opts)
			if rep.Verdict != tt.want {
				t.Errorf("%s (encrypted %v): %s (%s), want %s", tt.name, encrypt, rep.Verdict, rep.Reason, tt.want)
			}
		}
	}
}

// entityMessage is entity signed by alice and encrypted to bob in the
// binary form (binary signature, literal data 'b'), with m's protected
// header fields.
func entityMessage(t *testing.T, ks keys, entity string) []byte {
	t.Helper()
	return sealedBy(t, ks["alice"], ks["bob"], manifestMessage(t), []byte(entity), true)
}

// TestBinaryPartsHostileStructure: binary parts where a hostile sender or
// a man in the middle puts them: outside the encrypted entity, nested,
// with NULs and CR-only line ends, under a text signature over binary
// literal data. Nothing outside the signature, nor a byte the signature
// does not cover, may be released as Verified.
func TestBinaryPartsHostileStructure(t *testing.T) {
	ks := loadKeys(t)
	opts := receive.VerifyOptions{Store: bobStore(t, ks), Secret: []*pgp.Key{ks["bob"]}}
	binPart := func(b, name, body string) string {
		return "--" + b + "\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\nContent-Transfer-Encoding: binary\r\n\r\n" + body + "\r\n"
	}
	odd := "%PDF-1.4\x00\x00\rline\rends\r\x00\xff\n\n\r\r\n--"
	nested := "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n" +
		"--o\r\nContent-Type: multipart/mixed; boundary=\"i\"\r\n\r\n" + binPart("i", "rx.pdf", odd) + "--i--\r\n" +
		"--o--\r\n"
	// The outer boundary inside the inner binary document: the outer part
	// ends there, and the inner multipart is cut before its close.
	outerInInner := "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n" +
		"--o\r\nContent-Type: multipart/mixed; boundary=\"i\"\r\n\r\n" + binPart("i", "rx.pdf", "%PDF-1.4\r\n--o\r\n"+smuggled) + "--i--\r\n" +
		"--o--\r\n"

	good := entityMessage(t, ks, nested)
	hdrEnd := bytes.Index(good, []byte("\r\n\r\n"))
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(good[:hdrEnd+4])))
	if err != nil {
		t.Fatal(err)
	}
	ct := h.Get("Content-Type")
	h.Del("Content-Type")
	var outer bytes.Buffer
	textproto.WriteHeader(&outer, h)
	outerFields := strings.TrimSuffix(outer.String(), "\r\n")
	encBody := string(good[hdrEnd+4:])
	_, params, _ := mime.ParseMediaType(ct)
	encBoundary := params["boundary"]
	// A binary document beside the encrypted part, in a multipart/mixed.
	beside := outerFields + "Content-Type: multipart/mixed; boundary=\"w\"\r\n\r\n" +
		"--w\r\nContent-Type: " + ct + "\r\n\r\n" + encBody + "\r\n" + binPart("w", "extra.pdf", "%PDF-1.4 unsigned") + "--w--\r\n"
	// A binary part after the encrypted one, inside multipart/encrypted.
	closing := "--" + encBoundary + "--"
	i := strings.LastIndex(string(good), closing)
	after := string(good[:i]) + binPart(encBoundary, "extra.pdf", "%PDF-1.4 unsigned") + closing + "\r\n"

	// A text signature (go-crypto's EncryptText) over binary literal
	// data ('b') holding a binary part: the signature covers the data
	// with its line ends made CRLF, not the document's bytes.
	var arm bytes.Buffer
	aw, _ := armor.Encode(&arm, "PGP MESSAGE", nil)
	w, err := openpgp.EncryptText(aw, openpgp.EntityList{ks["bob"].Entity()}, ks["alice"].Entity(), &openpgp.FileHints{IsBinary: true}, pgp.Config(nil))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, nested)
	w.Close()
	aw.Close()
	textOverBinary := wrapEncrypted(gpgHeader, arm.Bytes())

	for _, tt := range []struct {
		name string
		msg  []byte
		want receive.Verdict
		doc  string // the document released, if Verified
	}{
		{"nested, NULs and CR-only line ends", good, receive.Verified, odd},
		{"outer boundary inside a nested binary document", entityMessage(t, ks, outerInInner), receive.BadSignature, ""},
		{"binary part beside the encrypted part", []byte(beside), receive.BadSignature, ""},
		{"binary part after the encrypted part", []byte(after), receive.BadSignature, ""},
		{"text signature over binary literal data", textOverBinary, receive.BadSignature, ""},
	} {
		rec := &recordingSink{}
		o := opts
		o.Sink = rec.sink
		rep := verify(t, tt.msg, o)
		t.Logf("%s: %s (%s)", tt.name, rep.Verdict, rep.Reason)
		if rep.Verdict != tt.want {
			t.Errorf("%s: %s (%s), want %s", tt.name, rep.Verdict, rep.Reason, tt.want)
			continue
		}
		if tt.want != receive.Verified {
			if !rep.Withheld || rec.calls != 0 {
				t.Errorf("%s: withheld %v, %d documents released", tt.name, rep.Withheld, rec.calls)
			}
			continue
		}
		if len(rep.Documents) != 1 || string(rec.data["rx.pdf"]) != tt.doc {
			t.Errorf("%s: documents %+v, released %q, signed %q", tt.name, rep.Documents, rec.data["rx.pdf"], tt.doc)
		}
	}
}

// TestHugeBinaryPartWithoutLineBreaks: a 64 MiB binary document with no
// line break in a signed and encrypted message, and the same as a 7bit
// part under a text signature (read through TextSignatureReader), are
// read in bounded memory: the parts are streamed, never held whole.
func TestHugeBinaryPartWithoutLineBreaks(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	ks := loadKeys(t)
	opts := receive.VerifyOptions{Store: bobStore(t, ks), Secret: []*pgp.Key{ks["bob"]}}
	const size = 64 << 20
	doc := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	head := "Content-Type: multipart/mixed; boundary=\"h\"\r\n\r\n--h\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\nContent-Transfer-Encoding: "
	tail := "\r\n--h--\r\n"
	binMsg := entityMessage(t, ks, head+"binary\r\n\r\n"+string(doc)+tail)

	var arm bytes.Buffer
	w, err := openpgp.EncryptText(&arm, openpgp.EntityList{ks["bob"].Entity()}, ks["alice"].Entity(), &openpgp.FileHints{}, pgp.Config(nil))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, head+"7bit\r\n\r\n")
	w.Write(doc)
	io.WriteString(w, tail)
	w.Close()
	var a bytes.Buffer
	aw, _ := armor.Encode(&a, "PGP MESSAGE", nil)
	aw.Write(arm.Bytes())
	aw.Close()
	textMsg := wrapEncrypted(gpgHeader, a.Bytes())
	arm.Reset()

	sum := sha256.Sum256(doc)
	doc = nil
	for name, msg := range map[string][]byte{"binary": binMsg, "7bit, text signature": textMsg} {
		var rep *receive.Report
		peak := peakHeap(func() { rep = verify(t, msg, opts) })
		if rep.Verdict != receive.Verified || len(rep.Documents) != 1 || rep.Documents[0].SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: %s (%s), documents %+v", name, rep.Verdict, rep.Reason, rep.Documents)
		}
		t.Logf("%s: peak heap %d MiB for a %d MiB document", name, peak>>20, size>>20)
		if peak > 24<<20 {
			t.Errorf("%s: peak heap %d MiB for a %d MiB document: not streamed", name, peak>>20, size>>20)
		}
	}
}

// TestBinaryCompressionBomb: a hostile sender's signed message with a
// binary document of zeros, ZLIB-compressed at level 9 (the binary form
// compresses further than base64 did, so a bomb reaches a higher ratio):
// the expansion bound must still stop it, with nothing released; a
// positive MaxDecompressed lowers the bound for a smaller one.
func TestBinaryCompressionBomb(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	entity := func(size int) func(io.Writer) {
		return func(w io.Writer) {
			io.WriteString(w, "Content-Type: multipart/mixed; boundary=\"z\"\r\n\r\n--z\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"rx.pdf\"\r\nContent-Transfer-Encoding: binary\r\n\r\n")
			zero := make([]byte, 1<<20)
			for range size >> 20 {
				w.Write(zero)
			}
			io.WriteString(w, "\r\n--z--\r\n")
		}
	}
	armored := func(ct []byte) []byte {
		var a bytes.Buffer
		aw, _ := armor.Encode(&a, "PGP MESSAGE", nil)
		aw.Write(ct)
		aw.Close()
		return wrapEncrypted(gpgHeader, a.Bytes())
	}
	bomb := armored(encryptZLIB(t, ks, 9, entity(96<<20)))
	small := armored(encryptZLIB(t, ks, 9, entity(4<<20)))
	for _, tt := range []struct {
		name  string
		msg   []byte
		limit int64
		want  receive.Verdict
	}{
		{"96 MiB of zeros", bomb, 0, receive.CannotDecrypt},
		{"4 MiB of zeros", small, 0, receive.Verified},
		{"4 MiB of zeros, MaxDecompressed 1 MiB", small, 1 << 20, receive.CannotDecrypt},
	} {
		rec := &recordingSink{}
		rep := verify(t, tt.msg, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: rec.sink, MaxDecompressed: tt.limit})
		if rep.Verdict != tt.want {
			t.Errorf("%s (%d bytes): %s (%s), want %s", tt.name, len(tt.msg), rep.Verdict, rep.Reason, tt.want)
			continue
		}
		if tt.want == receive.CannotDecrypt && (!strings.Contains(rep.Reason, "compression bomb") || rec.calls != 0 || !rep.Withheld) {
			t.Errorf("%s: reason %q, %d documents released, withheld %v", tt.name, rep.Reason, rec.calls, rep.Withheld)
		}
	}
}
