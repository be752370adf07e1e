package send_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/mail"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/send"
)

// TestEncryptedWireSize: an encrypted message with an incompressible 2 MB
// scan takes at most 1.45 bytes per document byte (base64 inside, armor
// outside, 1.85 uncompressed; the entity is deflated Huffman-only inside
// the encryption), and GnuPG 2.2 decrypts it, sees ZIP compression and a
// good signature, and gets the document back byte for byte.
func TestEncryptedWireSize(t *testing.T) {
	alice := pgptest.Key(t, "Dr Alice Test", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob Test", "bob@pharmacy.test")
	g := pgptest.New(t)
	g.Import(pgptest.Armored(t, alice.Public()))
	g.Import(pgptest.ArmoredSecret(t, bob))

	const size = 2 << 20
	doc := filepath.Join(t.TempDir(), "scan.pdf")
	writeRandomFile(t, doc, size)
	m := &send.Message{
		From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: "scan", Documents: []send.Document{{Path: doc}}, MessageID: "wire@clinic.test",
		Date: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
	}
	var out bytes.Buffer
	infos, err := send.ComposeProtected(&out, m, send.Protection{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	ratio := float64(out.Len()) / size
	t.Logf("%d bytes for a %d byte document: %.3f per byte", out.Len(), size, ratio)
	if ratio > 1.45 {
		t.Errorf("%.3f bytes on the wire per document byte, want at most 1.45", ratio)
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
	if !strings.Contains(string(packets), "compressed packet: algo=1") {
		t.Errorf("gpg sees no ZIP compressed packet:\n%s", packets)
	}
	// The document, base64 in the decrypted entity, is the one sent.
	_, body, _ := strings.Cut(string(plain), "Content-Disposition: attachment")
	_, body, _ = strings.Cut(body, "\r\n\r\n")
	body, _, _ = strings.Cut(body, "\r\n--")
	got, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(body, "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(got); len(infos) != 1 || hex.EncodeToString(sum[:]) != infos[0].SHA256 {
		t.Errorf("gpg's decrypted document (%d bytes) is not the one sent (%+v)", len(got), infos)
	}
}
