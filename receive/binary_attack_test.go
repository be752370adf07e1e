package receive_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		// Not a delimiter (not at the start of a line, RFC 2046): one
		// document, the one signed.
		{"after a bare CR", "%PDF-1.4\r--" + binBoundary + "\r\n" + smuggled, receive.Verified, receive.Verified, 1},
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
