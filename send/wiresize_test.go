package send_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	message "github.com/emersion/go-message"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/send"
)

// lineEndTorture is a document made to break anything that treats it as
// text: every kind of line end, NUL, dashes at line starts, a leading LF
// and a trailing CR (the bytes next to the part's delimiter).
var lineEndTorture = []byte("\na\nb\r\nc\rd\r\r\n\n\x00\xff--\r\n--x\n-- \r\n\r\n.\r\n\r")

// TestEncryptedWireSize: an encrypted message carries its documents inside
// the OpenPGP message in binary (Content-Transfer-Encoding: binary),
// compressed only when they compress. An incompressible 2 MB scan takes at
// most 1.45 bytes per document byte on the wire (no base64 inside; the
// armor outside). GnuPG 2.2 decrypts each message, reports a good
// signature, lists a binary literal data packet (mode b) under a binary
// signature (sigclass 0x00) and a ZIP compressed packet exactly when the
// documents compress (the sample TIFF and PDF, not random data); the
// decrypted MIME entity, read by go-message and by Python's email package,
// gives back every document byte for byte (SHA-256).
func TestEncryptedWireSize(t *testing.T) {
	alice := pgptest.Key(t, "Dr Alice Test", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob Test", "bob@pharmacy.test")
	g := pgptest.New(t)
	g.Import(pgptest.Armored(t, alice.Public()))
	g.Import(pgptest.ArmoredSecret(t, bob))

	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sample := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "assets", "samples", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	const scanSize = 2 << 20
	scan := file("scan.pdf", random(scanSize))
	for _, tt := range []struct {
		name       string
		docs       []string
		compressed bool
		maxRatio   float64 // wire bytes per document byte; 0: not checked
	}{
		{"random scan", []string{scan}, false, 1.45},
		{"sample TIFF (PackBits) and PDF", []string{file("referral.tif", sample("sample-referral.tif")), file("prescription.pdf", sample("sample-prescription.pdf"))}, true, 0},
		{"line ends and a scan", []string{file("torture.bin", lineEndTorture), scan}, false, 0},
		{"empty document", []string{file("empty.pdf", nil)}, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &send.Message{
				From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
				Subject: "scan", Note: "line one\nline two\n", MessageID: "wire@clinic.test",
				Date: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
			}
			var size int64
			for _, d := range tt.docs {
				m.Documents = append(m.Documents, send.Document{Path: d})
				fi, _ := os.Stat(d)
				size += fi.Size()
			}
			var out bytes.Buffer
			infos, err := send.ComposeProtected(&out, m, send.Protection{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Encrypt: true})
			if err != nil {
				t.Fatal(err)
			}
			if tt.maxRatio > 0 {
				ratio := float64(out.Len()) / float64(size)
				t.Logf("%d bytes for %d document bytes: %.3f per byte", out.Len(), size, ratio)
				if ratio > tt.maxRatio {
					t.Errorf("%.3f bytes on the wire per document byte, want at most %.2f", ratio, tt.maxRatio)
				}
			}

			msg := out.String()
			i := strings.Index(msg, "-----BEGIN PGP MESSAGE-----")
			j := strings.Index(msg, "-----END PGP MESSAGE-----") + len("-----END PGP MESSAGE-----")
			plain, stderr, err := g.Try([]byte(msg[i:j]), "--verbose", "--decrypt")
			if err != nil {
				t.Fatalf("gpg --decrypt: %v\n%s", err, stderr)
			}
			if !strings.Contains(string(stderr), `Good signature from "Dr Alice Test <alice@clinic.test>"`) {
				t.Errorf("gpg did not report a good signature:\n%s", stderr)
			}
			packets, stderr, err := g.Try([]byte(msg[i:j]), "--list-packets")
			if err != nil {
				t.Fatalf("gpg --list-packets: %v\n%s", err, stderr)
			}
			if !strings.Contains(string(packets), "literal data packet:\n\tmode b ") || !strings.Contains(string(packets), "sigclass 0x00") {
				t.Errorf("gpg sees no binary literal data packet under a binary signature:\n%s", packets)
			}
			if got := strings.Contains(string(packets), "compressed packet: algo=1"); got != tt.compressed {
				t.Errorf("gpg sees a ZIP compressed packet: %v, want %v:\n%s", got, tt.compressed, packets)
			}
			if n := strings.Count(string(plain), "Content-Transfer-Encoding: binary\r\n"); n != len(tt.docs) {
				t.Errorf("%d parts in binary, want %d (one per document)", n, len(tt.docs))
			}

			want := map[string]string{}
			for _, in := range infos {
				want[in.Name] = in.SHA256
			}
			if len(want) != len(tt.docs) {
				t.Fatalf("documents written: %+v", infos)
			}
			check := func(parser string, got map[string]string) {
				for name, sum := range want {
					if got[name] != sum {
						t.Errorf("%s: document %s has SHA-256 %q, want %s", parser, name, got[name], sum)
					}
				}
			}
			check("go-message", goMessageDocuments(t, plain))
			if _, err := exec.LookPath("python3"); err != nil {
				t.Log("python3 not installed: Python's email package not checked")
			} else {
				check("python3 email", pythonDocuments(t, plain))
			}
		})
	}
}

// goMessageDocuments returns the SHA-256 of every attachment in the MIME
// entity raw, by file name, as go-message decodes it.
func goMessageDocuments(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message: %v", err)
	}
	mr := e.MultipartReader()
	if mr == nil {
		t.Fatal("go-message: the entity is not multipart")
	}
	sums := map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return sums
		}
		if err != nil {
			t.Fatalf("go-message: %v", err)
		}
		_, params, _ := p.Header.ContentDisposition()
		h := sha256.New()
		if _, err := io.Copy(h, p.Body); err != nil {
			t.Fatalf("go-message: %v", err)
		}
		if params["filename"] != "" {
			sums[params["filename"]] = hex.EncodeToString(h.Sum(nil))
		}
	}
}

// pythonDocuments is goMessageDocuments with Python's email package,
// reading bytes (email.message_from_bytes). Not message_from_binary_file:
// BytesParser.parse wraps the file in a TextIOWrapper with universal
// newlines (CPython 3.11), which turns every CR and CRLF of a binary or
// 8bit part into LF.
func pythonDocuments(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	const script = `
import email, email.policy, hashlib, json, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
out = {}
for part in m.walk():
    name = part.get_filename()
    if name and not part.is_multipart():
        out[name] = hashlib.sha256(part.get_payload(decode=True)).hexdigest()
json.dump(out, sys.stdout)
`
	cmd := exec.Command("python3", "-c", script)
	cmd.Stdin = bytes.NewReader(raw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 email: %v\n%s", err, stderr.String())
	}
	sums := map[string]string{}
	if err := json.Unmarshal(out, &sums); err != nil {
		t.Fatalf("python3 email: %v: %s", err, out)
	}
	return sums
}
