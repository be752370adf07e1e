package pgpmime

import (
	"bytes"
	"crypto/rand"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

// literalPrefix is the start of a binary Literal Data packet's body with
// no file name and time 0 (RFC 9580 section 5.9).
var literalPrefix = []byte{'b', 0, 0, 0, 0, 0}

// TestPartialWriterLengths: go-crypto reads back exactly what partialWriter
// framed, for bodies that end with each form of definite length (one, two
// and five octets), on a chunk boundary (a final zero length) and across
// several 64 KiB partial chunks.
func TestPartialWriterLengths(t *testing.T) {
	chunk := 1 << partialChunkPower
	for _, body := range []int{6, 191, 192, 8383, 8384, chunk - 1, chunk, chunk + 1, 3*chunk + 5000} {
		data := make([]byte, body-len(literalPrefix))
		rand.Read(data)
		var b bytes.Buffer
		w := newPartialWriter(&b, 11, literalPrefix)
		// Uneven writes, as a compressor makes them.
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 240+len(rest)%1000)
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte{1}); err == nil {
			t.Errorf("body %d: write after Close accepted", body)
		}
		p, err := packet.Read(&b)
		if err != nil {
			t.Fatalf("body %d: %v", body, err)
		}
		lit, ok := p.(*packet.LiteralData)
		if !ok {
			t.Fatalf("body %d: read a %T", body, p)
		}
		got, err := io.ReadAll(lit.Body)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("body %d: read %d bytes (%v), want %d bytes back", body, len(got), err, len(data))
		}
		if b.Len() != 0 {
			t.Errorf("body %d: %d bytes after the packet", body, b.Len())
		}
	}
}

// encryptWith runs signEncrypt as WriteEncrypted configures it.
func encryptWith(t *testing.T, signer *pgp.Key, to []*pgp.PublicKey, plain []byte) []byte {
	t.Helper()
	var ct bytes.Buffer
	list := openpgp.EntityList{}
	for _, k := range to {
		list = append(list, k.Entity())
	}
	cfg := pgp.Config(time.Now)
	cfg.DefaultCompressionAlgo = packet.CompressionZIP
	cfg.CompressionConfig = &packet.CompressionConfig{Level: -2}
	w, err := signEncrypt(&ct, list, signer.Entity(), &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return ct.Bytes()
}

// TestSignEncryptGnuPG: GnuPG 2.2 decrypts what signEncrypt writes, finds
// the ZIP packet, a good signature and the data byte for byte; for data
// that fits one chunk, spans several, and for none.
func TestSignEncryptGnuPG(t *testing.T) {
	alice := pgptest.Key(t, "Dr Alice Test", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob Test", "bob@pharmacy.test")
	g := pgptest.New(t)
	g.Import(pgptest.Armored(t, alice.Public()))
	g.Import(pgptest.ArmoredSecret(t, bob))
	for _, n := range []int{0, 1000, 300 << 10} {
		plain := make([]byte, n)
		rand.Read(plain)
		ct := encryptWith(t, alice, []*pgp.PublicKey{alice.Public(), bob.Public()}, plain)
		got, stderr, err := g.Try(ct, "--verbose", "--decrypt")
		if err != nil {
			t.Fatalf("n=%d: gpg --decrypt: %v\n%s", n, err, stderr)
		}
		if !bytes.Equal(got, plain) || !strings.Contains(string(stderr), `Good signature from "Dr Alice Test <alice@clinic.test>"`) {
			t.Errorf("n=%d: equal=%v\n%s", n, bytes.Equal(got, plain), stderr)
		}
		packets, _, err := g.Try(ct, "--list-packets")
		if err != nil || !strings.Contains(string(packets), "compressed packet: algo=1") || !strings.Contains(string(packets), "encrypted data packet:") || !strings.Contains(string(packets), "mdc_method: 2") {
			t.Errorf("n=%d: gpg --list-packets (%v):\n%s", n, err, packets)
		}
	}
}

// TestSignEncryptChoices: go-crypto reads signEncrypt's message with a
// good signature; the data is compressed only when every key lists ZIP
// (a key that lists none gets an uncompressed message, as from
// openpgp.Encrypt), and the cipher is AES-256.
func TestSignEncryptChoices(t *testing.T) {
	alice := pgptest.Key(t, "Dr Alice Test", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob Test", "bob@pharmacy.test")
	cfg := pgp.Config(time.Now)
	cfg.DefaultCompressionAlgo = packet.CompressionNone // lists "uncompressed" only
	plainEntity, err := openpgp.NewEntity("Carol", "", "carol@pharmacy.test", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	if err := plainEntity.Serialize(&pub); err != nil {
		t.Fatal(err)
	}
	carol, err := pgp.ReadPublicKey(bytes.NewReader(pub.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("QUJD\r\n"), 20000)
	for _, tt := range []struct {
		name       string
		to         []*pgp.PublicKey
		compressed bool
	}{
		{"every key lists ZIP", []*pgp.PublicKey{alice.Public(), bob.Public()}, true},
		{"one key lists no compression", []*pgp.PublicKey{alice.Public(), carol}, false},
	} {
		ct := encryptWith(t, alice, tt.to, plain)
		keys := openpgp.EntityList{alice.Entity(), bob.Entity()}
		md, err := openpgp.ReadMessage(bytes.NewReader(ct), keys, nil, pgp.Config(time.Now))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := io.ReadAll(md.UnverifiedBody)
		if err != nil || md.SignatureError != nil || md.Signature == nil || !bytes.Equal(got, plain) {
			t.Fatalf("%s: read %v, signature %v, equal %v", tt.name, err, md.SignatureError, bytes.Equal(got, plain))
		}
		if md.DecryptedWith.PublicKey == nil || md.SignedByKeyId != alice.Entity().PrimaryKey.KeyId {
			t.Errorf("%s: decrypted with %+v, signed by %x", tt.name, md.DecryptedWith, md.SignedByKeyId)
		}
		small := len(ct) < len(plain)/2
		if small != tt.compressed {
			t.Errorf("%s: %d bytes of ciphertext for %d of repetitive data; compressed %v, want %v", tt.name, len(ct), len(plain), small, tt.compressed)
		}
	}
}
