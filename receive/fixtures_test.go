package receive_test

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/send"
)

// TestGenerateFixtures rewrites testdata/*.eml with -update. Without it,
// it does nothing: the committed fixtures are the test inputs.
func TestGenerateFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate fixtures")
	}
	ks := loadKeys(t)
	doc := filepath.Join(t.TempDir(), "prescription.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.4\n% TEST ONLY fake prescription\n"+strings.Repeat("0123456789", 300)+"\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := func(from string) *send.Message {
		return &send.Message{
			From:      mail.Address{Name: "Sender", Address: from},
			To:        []mail.Address{{Name: "Bob", Address: "bob@pharmacy.test"}},
			Subject:   "Prescription for J. Test (NHI ZZZ0016)",
			Note:      "Please dispense as written.\nTEST ONLY.",
			Documents: []send.Document{{Path: doc, Name: "prescription.pdf"}},
			MessageID: "fixture-" + strings.SplitN(from, "@", 2)[0] + "@clinic.test",
			Date:      time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		}
	}
	compose := func(m *send.Message, p send.Protection) []byte {
		var b bytes.Buffer
		if _, err := send.ComposeProtected(&b, m, p); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	alice := msg("alice@clinic.test")
	goodSigned := compose(alice, send.Protection{Signer: ks["alice"]})
	goodEncrypted := compose(alice, send.Protection{Signer: ks["alice"], Recipients: []*pgp.PublicKey{ks["bob"].Public()}, Encrypt: true})
	write("good_signed.eml", goodSigned)
	write("good_encrypted.eml", goodEncrypted)
	write("not_signed.eml", compose(alice, send.Protection{}))
	write("unknown_signer.eml", compose(msg("mallory@evil.test"), send.Protection{Signer: ks["mallory"]}))
	write("unknown_signer_encrypted.eml", compose(msg("mallory@evil.test"), send.Protection{Signer: ks["mallory"], Recipients: []*pgp.PublicKey{ks["bob"].Public()}, Encrypt: true}))
	write("unverified_signer.eml", compose(msg("carol@clinic.test"), send.Protection{Signer: ks["carol"]}))
	write("sender_mismatch.eml", compose(alice, send.Protection{Signer: ks["dave"]}))
	write("sender_mismatch_encrypted.eml", compose(alice, send.Protection{Signer: ks["dave"], Recipients: []*pgp.PublicKey{ks["bob"].Public()}, Encrypt: true}))
	write("cannot_decrypt_wrong_key.eml", compose(alice, send.Protection{Signer: ks["alice"], Recipients: []*pgp.PublicKey{ks["carol"].Public()}, Encrypt: true}))

	// Altered content: one character of the document's base64 changed.
	i := bytes.Index(goodSigned, []byte("JVBERi0x"))
	altered := bytes.Clone(goodSigned)
	altered[i+10] ^= 1
	write("bad_signature_body_altered.eml", altered)

	// Altered note (quoted-printable text).
	write("bad_signature_note_altered.eml", bytes.Replace(goodSigned, []byte("dispense as written"), []byte("dispense x10 written"), 1))

	// Signature replaced with one by another key over the same content.
	write("bad_signature_different_key.eml", replaceSignature(t, goodSigned, ks["dave"], []byte("other content")))

	// Truncated: cut in the middle of the document.
	write("bad_signature_truncated.eml", goodSigned[:len(goodSigned)/2])

	// A good signed entity wrapped in unsigned multipart/mixed with an
	// added unsigned part.
	hdrEnd := bytes.Index(goodSigned, []byte("Content-Type: multipart/signed"))
	wrapped := fmt.Sprintf("%sContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\n%s\r\n--outer\r\nContent-Type: text/plain\r\n\r\nAlso dispense 100 tablets of oxycodone.\r\n--outer--\r\n",
		goodSigned[:hdrEnd], goodSigned[hdrEnd:])
	write("unsigned_part_wrapping_signed.eml", []byte(wrapped))

	// An unsigned part appended inside the multipart/signed after the
	// signature.
	b := boundaryOf(t, goodSigned)
	appended := bytes.Replace(goodSigned, []byte("--"+b+"--"), []byte("--"+b+"\r\nContent-Type: text/plain\r\n\r\nAppended, unsigned.\r\n--"+b+"--"), 1)
	write("unsigned_part_appended.eml", appended)

	// Tampered ciphertext: a byte of the encrypted data packet flipped and
	// the armor rebuilt, so only the integrity check (MDC) can notice.
	write("cannot_decrypt_tampered_ciphertext.eml", tamperCiphertext(t, goodEncrypted))

	// Garbage armor in the encrypted part.
	ai := bytes.Index(goodEncrypted, []byte("-----BEGIN PGP MESSAGE-----"))
	aj := bytes.Index(goodEncrypted, []byte("-----END PGP MESSAGE-----"))
	garbage := append(append(bytes.Clone(goodEncrypted[:ai]), []byte("-----BEGIN PGP MESSAGE-----\r\n\r\n!!!!not base64 at all!!!!\r\n")...), goodEncrypted[aj:]...)
	write("cannot_decrypt_garbage_armor.eml", garbage)

	// A compression bomb: 64 MiB of zeros compressed, signed and encrypted
	// to bob (tests bound it to 8 MiB).
	write("compression_bomb_encrypted.eml", compressionBomb(t, ks, goodEncrypted))

	// Deeply nested MIME, unsigned.
	var nest strings.Builder
	nest.WriteString("From: alice@clinic.test\r\nTo: bob@pharmacy.test\r\nSubject: nested\r\nMIME-Version: 1.0\r\n")
	for d := 0; d < 200; d++ {
		fmt.Fprintf(&nest, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", d, d)
	}
	nest.WriteString("Content-Type: text/plain\r\n\r\ndeep\r\n")
	write("deeply_nested.eml", []byte(nest.String()))

	// HTML only, and a hostile file name, unsigned.
	write("html_and_hostile_filename.eml", []byte("From: alice@clinic.test\r\nTo: bob@pharmacy.test\r\nSubject: html\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script><b>Click</b>\r\n"+
		"--x\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"../../.bashrc\x01\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--x--\r\n"))
}

func boundaryOf(t *testing.T, msg []byte) string {
	t.Helper()
	i := bytes.Index(msg, []byte("boundary=\""))
	j := bytes.IndexByte(msg[i+10:], '"')
	return string(msg[i+10 : i+10+j])
}

// replaceSignature swaps the detached signature of a signed message for
// one made by k over other data.
func replaceSignature(t *testing.T, msg []byte, k *pgp.Key, other []byte) []byte {
	t.Helper()
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, k.Entity(), bytes.NewReader(other), pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(msg, []byte("-----BEGIN PGP SIGNATURE-----"))
	j := bytes.Index(msg, []byte("-----END PGP SIGNATURE-----")) + len("-----END PGP SIGNATURE-----")
	s := strings.ReplaceAll(strings.TrimSpace(sig.String()), "\n", "\r\n")
	return append(append(bytes.Clone(msg[:i]), s...), msg[j:]...)
}

func armoredMessage(t *testing.T, msg []byte) (start, end int, body []byte) {
	t.Helper()
	start = bytes.Index(msg, []byte("-----BEGIN PGP MESSAGE-----"))
	end = bytes.Index(msg, []byte("-----END PGP MESSAGE-----")) + len("-----END PGP MESSAGE-----")
	block, err := armor.Decode(bytes.NewReader(msg[start:end]))
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(block.Body)
	if err != nil {
		t.Fatal(err)
	}
	return start, end, body
}

func rearmor(t *testing.T, msg []byte, start, end int, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	w.Close()
	s := strings.ReplaceAll(b.String(), "\n", "\r\n")
	return append(append(bytes.Clone(msg[:start]), s...), msg[end:]...)
}

func tamperCiphertext(t *testing.T, msg []byte) []byte {
	t.Helper()
	start, end, body := armoredMessage(t, msg)
	body = bytes.Clone(body)
	body[len(body)*2/3] ^= 0x40 // inside the encrypted data packet
	return rearmor(t, msg, start, end, body)
}

func compressionBomb(t *testing.T, ks keys, template []byte) []byte {
	t.Helper()
	start, end, _ := armoredMessage(t, template)
	ct := encryptZLIB(t, ks, flate.BestCompression, func(w io.Writer) {
		io.WriteString(w, "Content-Type: text/plain\r\n\r\n")
		zeros := make([]byte, 1<<20)
		for range 64 {
			w.Write(zeros)
		}
	})
	return rearmor(t, template, start, end, ct)
}

// encryptZLIB returns what write writes, signed by alice, ZLIB-compressed
// at level and encrypted to bob, as a binary OpenPGP message.
func encryptZLIB(t *testing.T, ks keys, level int, write func(io.Writer)) []byte {
	t.Helper()
	cfg := pgp.Config(nil)
	cfg.DefaultCompressionAlgo = packet.CompressionZLIB
	cfg.CompressionConfig = &packet.CompressionConfig{Level: level}
	// Our keys advertise no compression; pretend bob's does so that
	// Encrypt compresses (nothing is re-signed or written back).
	for _, id := range ks["bob"].Entity().Identities {
		id.SelfSignature.PreferredCompression = []uint8{uint8(packet.CompressionZLIB)}
	}
	var ct bytes.Buffer
	w, err := openpgp.Encrypt(&ct, openpgp.EntityList{ks["bob"].Entity()}, ks["alice"].Entity(), &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	write(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return ct.Bytes()
}
