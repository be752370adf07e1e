package atrest_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
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
	return sealWith(t, plain, func(w io.Writer) (io.WriteCloser, error) { return atrest.Encrypt(w, key) })
}

// sealWith writes plain through the encrypting writer that encrypt opens
// and returns the result.
func sealWith(t testing.TB, plain []byte, encrypt func(io.Writer) (io.WriteCloser, error)) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := encrypt(&buf)
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

// wantTampered checks that open reports ErrTampered for sealed with one
// bit flipped at each of flips, and for sealed without its last cut bytes.
func wantTampered(t *testing.T, key, sealed []byte, cut int, flips ...int) {
	t.Helper()
	for _, pos := range flips {
		bad := bytes.Clone(sealed)
		bad[pos] ^= 1
		if _, err := open(key, bad); !errors.Is(err, atrest.ErrTampered) {
			t.Errorf("flip at %d: err = %v, want ErrTampered", pos, err)
		}
	}
	if _, err := open(key, sealed[:len(sealed)-cut]); !errors.Is(err, atrest.ErrTampered) {
		t.Errorf("last %d bytes cut: err = %v, want ErrTampered", cut, err)
	}
}

// sealOCB writes plain the way atrest did before it switched to GCM:
// the same configuration with AES-OCB. Files like this are still on disk.
func sealOCB(t testing.TB, key, plain []byte) []byte {
	t.Helper()
	return sealWith(t, plain, func(w io.Writer) (io.WriteCloser, error) {
		return openpgp.SymmetricallyEncrypt(w, key, &openpgp.FileHints{IsBinary: true}, &packet.Config{
			DefaultCipher:          packet.CipherAES256,
			DefaultCompressionAlgo: packet.CompressionNone,
			AEADConfig:             &packet.AEADConfig{DefaultMode: packet.AEADModeOCB},
			S2KConfig:              &s2k.Config{S2KMode: s2k.SaltedS2K, PassphraseIsHighEntropy: true},
		})
	})
}

// sealers are the formats Decrypt must read: what Encrypt writes now, and
// what it wrote before.
var sealers = []struct {
	name string
	seal func(testing.TB, []byte, []byte) []byte
}{
	{"gcm", seal},
	{"ocb", sealOCB},
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
// It runs on both formats Decrypt reads (GCM now, OCB before).
func TestTamper(t *testing.T) {
	for _, s := range sealers {
		t.Run(s.name, func(t *testing.T) { testTamper(t, s.seal) })
	}
}

func testTamper(t *testing.T, seal func(testing.TB, []byte, []byte) []byte) {
	key := newKey(t)
	plain := make([]byte, 600<<10) // three chunks
	rand.Read(plain)
	sealed := seal(t, key, plain)
	if got, err := open(key, sealed); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("intact: %v", err)
	}
	if _, err := open(newKey(t), sealed); !errors.Is(err, atrest.ErrWrongKey) {
		t.Errorf("wrong key: err = %v, want ErrWrongKey", err)
	}

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
	// Flips in the body must be reported as tampering, also in the first
	// chunk (which Decrypt itself reads, before returning the reader).
	wantTampered(t, key, sealed, 1, 1000, len(sealed)/2, len(sealed)-1)
	if _, err := open(key, append(bytes.Clone(sealed), 0xc0, 1, 0)); err == nil {
		t.Errorf("extended file: no error")
	}
}

// seipd returns the version 2 SEIPD packet of sealed (its header fields;
// Contents is not read).
func seipd(t *testing.T, sealed []byte) *packet.SymmetricallyEncrypted {
	t.Helper()
	pr := packet.NewReader(bytes.NewReader(sealed))
	for {
		p, err := pr.Next()
		if err != nil {
			t.Fatalf("no SEIPD packet: %v", err)
		}
		if se, ok := p.(*packet.SymmetricallyEncrypted); ok {
			return se
		}
	}
}

// TestWritesGCM: new files are SEIPDv2, AES-256, GCM, 256 KiB chunks.
func TestWritesGCM(t *testing.T) {
	se := seipd(t, seal(t, newKey(t), []byte("hello")))
	if se.Version != 2 || se.Cipher != packet.CipherAES256 || se.Mode != packet.AEADModeGCM || se.ChunkSizeByte != 12 {
		t.Fatalf("SEIPD v%d cipher %d mode %d chunk byte %d, want v2 AES-256 (9) GCM (3) 12 (256 KiB)",
			se.Version, se.Cipher, se.Mode, se.ChunkSizeByte)
	}
}

// fixtureKey is the (test-only) key of testdata/ocb-v1.atrest.
const fixtureKey = "030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dc"

// TestReadsOCBFixture: a file written by atrest before the switch to GCM
// (AES-256-OCB, committed in testdata) still decrypts, and still detects
// tampering and a wrong key.
func TestReadsOCBFixture(t *testing.T) {
	key, _ := hex.DecodeString(fixtureKey)
	sealed, err := os.ReadFile("testdata/ocb-v1.atrest")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/ocb-v1.plain")
	if err != nil {
		t.Fatal(err)
	}
	if se := seipd(t, sealed); se.Version != 2 || se.Mode != packet.AEADModeOCB {
		t.Fatalf("fixture is SEIPD v%d mode %d, want v2 OCB", se.Version, se.Mode)
	}
	got, err := open(key, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the OCB fixture decrypts to something else")
	}
	if _, err := open(newKey(t), sealed); !errors.Is(err, atrest.ErrWrongKey) {
		t.Errorf("wrong key: %v", err)
	}
	wantTampered(t, key, sealed, 16, len(sealed)/2, len(sealed)-1)
}

// TestChunkForgery rearranges whole authenticated chunks of a sealed file
// (dropping the last or a middle one, swapping two, dropping the final tag)
// and re-frames the packet so that it parses. Each chunk still carries a
// valid tag, so only the chunk index in the nonce and the final tag over
// the total length can tell. The reader must fail with ErrTampered, never
// report io.EOF, and return only a prefix of the real plaintext before the
// error: what send.Submit relies on to abort the upload without the final
// ".", so that the server discards the message.
func TestChunkForgery(t *testing.T) {
	const tagLen, headerLen = 16, 4 + 32 // version, cipher, mode, chunk size; salt
	for _, s := range sealers {
		t.Run(s.name, func(t *testing.T) {
			key := newKey(t)
			plain := make([]byte, 900<<10) // four chunks, the last one short
			rand.Read(plain)
			sealed := s.seal(t, key, plain)
			tag1, skesk, rest := pgptest.SplitPacket(t, sealed)
			tag2, body, rest := pgptest.SplitPacket(t, rest)
			if tag1 != 3 || tag2 != 18 || len(rest) != 0 {
				t.Fatalf("packets %d, %d, %d bytes after", tag1, tag2, len(rest))
			}
			head, data, final := body[:headerLen], body[headerLen:len(body)-tagLen], body[len(body)-tagLen:]
			var chunks [][]byte
			for len(data) > 0 {
				n := min(len(data), atrest.ChunkSize+tagLen)
				chunks, data = append(chunks, data[:n]), data[n:]
			}
			if len(chunks) != 4 {
				t.Fatalf("%d chunks, want 4", len(chunks))
			}
			build := func(cs [][]byte, final []byte) []byte {
				b := bytes.Clone(head)
				for _, c := range cs {
					b = append(b, c...)
				}
				b = append(b, final...)
				return append(pgptest.PacketBytes(3, skesk), pgptest.PacketBytes(18, b)...)
			}
			if got, err := open(key, build(chunks, final)); err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("re-framed intact file: %v", err)
			}
			forgeries := map[string][]byte{
				"drop last chunk":   build(chunks[:3], final),
				"drop two chunks":   build(chunks[:2], final),
				"drop middle chunk": build([][]byte{chunks[0], chunks[2], chunks[3]}, final),
				"swap chunks":       build([][]byte{chunks[0], chunks[2], chunks[1], chunks[3]}, final),
				"drop final tag":    build(chunks, nil),
				"chunk as final":    build(chunks[:3], chunks[3][len(chunks[3])-tagLen:]),
			}
			for name, forged := range forgeries {
				r, err := atrest.Decrypt(bytes.NewReader(forged), key)
				if err != nil {
					if !errors.Is(err, atrest.ErrTampered) {
						t.Errorf("%s: Decrypt: %v, want ErrTampered", name, err)
					}
					continue
				}
				var got []byte
				buf := make([]byte, 32<<10)
				for {
					n, err := r.Read(buf)
					got = append(got, buf[:n]...)
					if err == io.EOF {
						t.Errorf("%s: io.EOF after %d bytes", name, len(got))
						break
					}
					if err != nil {
						if !errors.Is(err, atrest.ErrTampered) {
							t.Errorf("%s: %v, want ErrTampered", name, err)
						}
						break
					}
				}
				if len(got) >= len(plain) || !bytes.Equal(got, plain[:len(got)]) {
					t.Errorf("%s: %d bytes read before the error are not a proper prefix of the plaintext", name, len(got))
				}
			}
		})
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

// benchSize is the plaintext size of the throughput benchmarks: large
// enough that per-message costs (S2K, HKDF, headers) do not matter.
const benchSize = 16 << 20

// BenchmarkEncrypt measures sealing throughput (MB/s of plaintext) to
// io.Discard, written in 32 KiB pieces as io.Copy would.
func BenchmarkEncrypt(b *testing.B) {
	key := newKey(b)
	plain := make([]byte, benchSize)
	rand.Read(plain)
	b.SetBytes(benchSize)
	for b.Loop() {
		w, err := atrest.Encrypt(io.Discard, key)
		if err != nil {
			b.Fatal(err)
		}
		for p := plain; len(p) > 0; p = p[min(len(p), 32<<10):] {
			if _, err := w.Write(p[:min(len(p), 32<<10)]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecrypt measures opening throughput (MB/s of plaintext) read
// in 32 KiB pieces, the way send.Submit reads the outbox.
func BenchmarkDecrypt(b *testing.B) {
	key := newKey(b)
	plain := make([]byte, benchSize)
	rand.Read(plain)
	sealed := seal(b, key, plain)
	buf := make([]byte, 32<<10)
	b.SetBytes(benchSize)
	for b.Loop() {
		r, err := atrest.Decrypt(bytes.NewReader(sealed), key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
	}
}
