package pgpmime

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

// TestWriteEncryptedBinary: with Options.Binary the entity reaches the
// literal data exactly as written (bare LF, bare CR, NUL), without it bare
// LFs become CRLF as before; each Compression gives the packets gpg
// lists (ZIP or none), under a binary literal data packet and a binary
// signature; an unknown Compression is refused before anything is written,
// and WriteSigned refuses Binary (multipart/signed is 7-bit).
func TestWriteEncryptedBinary(t *testing.T) {
	alice := pgptest.Key(t, "Dr Alice Test", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob Test", "bob@pharmacy.test")
	g := pgptest.New(t)
	g.Import(pgptest.Armored(t, alice.Public()))
	g.Import(pgptest.ArmoredSecret(t, bob))
	entity := []byte("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\na\nb\rc\r\n\x00\xff\r")
	for _, tt := range []struct {
		name       string
		binary     bool
		comp       Compression
		want       []byte
		compressed bool
	}{
		{"binary, uncompressed", true, CompressNone, entity, false},
		{"binary, Huffman-only", true, CompressHuffman, entity, true},
		{"canonicalized", false, CompressHuffman, []byte("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\r\na\r\nb\rc\r\n\x00\xff\r"), true},
	} {
		var out bytes.Buffer
		opts := Options{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Binary: tt.binary, Compression: tt.comp}
		if err := WriteEncrypted(&out, opts, func(w io.Writer) error { _, err := w.Write(entity); return err }); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		msg := out.String()
		armored := msg[strings.Index(msg, "-----BEGIN PGP MESSAGE-----") : strings.Index(msg, "-----END PGP MESSAGE-----")+len("-----END PGP MESSAGE-----")]
		block, err := armor.Decode(strings.NewReader(armored))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		md, err := openpgp.ReadMessage(block.Body, openpgp.EntityList{bob.Entity(), alice.Entity()}, nil, pgp.Config(time.Now))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := io.ReadAll(md.UnverifiedBody)
		if err != nil || md.SignatureError != nil || md.Signature == nil {
			t.Fatalf("%s: %v, signature: %v", tt.name, err, md.SignatureError)
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: literal data %q, want %q", tt.name, got, tt.want)
		}
		packets, stderr, err := g.Try([]byte(armored), "--list-packets")
		if err != nil {
			t.Fatalf("%s: gpg --list-packets: %v\n%s", tt.name, err, stderr)
		}
		p := string(packets)
		if strings.Contains(p, "compressed packet: algo=1") != tt.compressed || !strings.Contains(p, "mode b ") || !strings.Contains(p, "sigclass 0x00") {
			t.Errorf("%s: gpg --list-packets:\n%s", tt.name, p)
		}
	}

	var out bytes.Buffer
	write := func(w io.Writer) error { _, err := w.Write(entity); return err }
	if err := WriteEncrypted(&out, Options{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Compression: CompressNone + 1}, write); err == nil || out.Len() != 0 {
		t.Errorf("an unknown compression: %v, %d bytes written", err, out.Len())
	}
	err := WriteSigned(&out, Options{Signer: alice, Binary: true}, write)
	if err == nil || out.Len() != 0 {
		t.Errorf("WriteSigned with Binary: %v, %d bytes written", err, out.Len())
	}
}
