package atrest_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/securesend/securesend/crypto/atrest"
)

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, atrest.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func seal(t testing.TB, key, plain []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := atrest.Encrypt(&buf, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(key, sealed []byte) ([]byte, error) {
	r, err := atrest.Decrypt(bytes.NewReader(sealed), key)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestRoundTrip(t *testing.T) {
	key := newKey(t)
	for _, size := range []int{0, 1, 1000, 256 << 10, 256<<10 + 1, 3<<20 + 17} {
		plain := make([]byte, size)
		rand.Read(plain)
		sealed := seal(t, key, plain)
		if size >= 16 && bytes.Contains(sealed, plain[:16]) {
			t.Errorf("size %d: ciphertext contains plaintext", size)
		}
		got, err := open(key, sealed)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("size %d: round trip differs", size)
		}
	}
}

func TestPlaintextNotVisible(t *testing.T) {
	plain := []byte("Subject: Prescription for NHI ZZZ0016 patient Jane Doe")
	sealed := seal(t, newKey(t), plain)
	for _, s := range []string{"Prescription", "ZZZ0016", "Jane Doe"} {
		if bytes.Contains(sealed, []byte(s)) {
			t.Errorf("ciphertext contains %q", s)
		}
	}
}

func TestWrongKey(t *testing.T) {
	sealed := seal(t, newKey(t), []byte("hello"))
	_, err := open(newKey(t), sealed)
	if !errors.Is(err, atrest.ErrWrongKey) {
		t.Fatalf("err = %v, want ErrWrongKey", err)
	}
}

func TestKeySize(t *testing.T) {
	if _, err := atrest.Encrypt(io.Discard, make([]byte, 16)); !errors.Is(err, atrest.ErrKeySize) {
		t.Errorf("Encrypt: err = %v", err)
	}
	if _, err := atrest.Decrypt(bytes.NewReader(nil), make([]byte, 31)); !errors.Is(err, atrest.ErrKeySize) {
		t.Errorf("Decrypt: err = %v", err)
	}
}

// TestTamper flips one byte at many positions and truncates at many
// lengths; every variant must fail, none may return the full plaintext.
func TestTamper(t *testing.T) {
	key := newKey(t)
	plain := make([]byte, 600<<10) // three chunks
	rand.Read(plain)
	sealed := seal(t, key, plain)

	positions := []int{0, 1, 5, 20, 40, 60, 100, 1000, len(sealed) / 2, len(sealed) - 20, len(sealed) - 1}
	for _, pos := range positions {
		bad := bytes.Clone(sealed)
		bad[pos] ^= 0x40
		_, err := open(key, bad)
		if err == nil {
			t.Errorf("flip at %d of %d: no error", pos, len(sealed))
			continue
		}
		if !errors.Is(err, atrest.ErrTampered) && !errors.Is(err, atrest.ErrWrongKey) && !errors.Is(err, atrest.ErrNotEncrypted) {
			t.Errorf("flip at %d: err = %v, want a typed error", pos, err)
		}
	}
	for _, n := range []int{0, 10, 80, 256 << 10, len(sealed) / 2, len(sealed) - 17, len(sealed) - 1} {
		_, err := open(key, sealed[:n])
		if err == nil {
			t.Errorf("truncated to %d of %d: no error", n, len(sealed))
		}
	}
	// Flips in the body must be reported as tampering.
	bad := bytes.Clone(sealed)
	bad[len(sealed)/2] ^= 1
	if _, err := open(key, bad); !errors.Is(err, atrest.ErrTampered) {
		t.Errorf("body flip: err = %v, want ErrTampered", err)
	}
	if _, err := open(key, sealed[:len(sealed)-1]); !errors.Is(err, atrest.ErrTampered) {
		t.Errorf("truncation: err = %v, want ErrTampered", err)
	}
	if _, err := open(key, append(bytes.Clone(sealed), 0xc0, 1, 0)); err == nil {
		t.Errorf("extended file: no error")
	}
}

// TestRefusesUnencrypted: a plain OpenPGP literal packet (what an attacker
// without the key could write) is refused.
func TestRefusesUnencrypted(t *testing.T) {
	var buf bytes.Buffer
	w, err := packet.SerializeLiteral(nopCloser{&buf}, true, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("forged"))
	w.Close()
	if _, err := open(newKey(t), buf.Bytes()); !errors.Is(err, atrest.ErrNotEncrypted) {
		t.Fatalf("literal: err = %v, want ErrNotEncrypted", err)
	}
	if _, err := open(newKey(t), []byte("just some text\n")); err == nil {
		t.Fatal("garbage: no error")
	}
	// Symmetric encryption without integrity protection (SEIPDv1 is
	// integrity protected; unprotected packets are refused by go-crypto).
	var sym bytes.Buffer
	key := newKey(t)
	pw, err := openpgp.SymmetricallyEncrypt(&sym, key, nil, &packet.Config{DefaultCipher: packet.CipherAES256})
	if err != nil {
		t.Fatal(err)
	}
	pw.Write([]byte("v1"))
	pw.Close()
	if got, err := open(key, sym.Bytes()); err != nil || string(got) != "v1" {
		t.Fatalf("SEIPDv1 from the same key: %q, %v", got, err)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func BenchmarkEncryptDecrypt(b *testing.B) {
	key := newKey(b)
	plain := make([]byte, 8<<20)
	rand.Read(plain)
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		var buf bytes.Buffer
		w, _ := atrest.Encrypt(&buf, key)
		w.Write(plain)
		w.Close()
		r, err := atrest.Decrypt(&buf, key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}
