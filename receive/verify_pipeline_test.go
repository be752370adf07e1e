package receive_test

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

// failingReader returns err once n bytes of r have been read.
type failingReader struct {
	r   io.Reader
	n   int
	err error
	hit func()
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if f.hit != nil {
			f.hit()
			return 0, io.ErrNoProgress // only ctx.Err() should be reported
		}
		return 0, f.err
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	k, err := f.r.Read(p)
	f.n -= k
	return k, err
}

// compressedMessage re-encrypts the plaintext of msg (a message written by
// bigMessage) the way GnuPG does by default: signed, ZLIB-compressed,
// encrypted, so that the decompression stage of Verify is exercised.
func compressedMessage(t *testing.T, ks keys, msg []byte) []byte {
	t.Helper()
	start, end, _ := armoredMessage(t, msg)
	md, err := openpgp.ReadMessage(pgpArmorBody(t, msg[start:end]), openpgp.EntityList{ks["bob"].Entity()}, nil, pgp.Config(nil))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatal(err)
	}
	ct := encryptZLIB(t, ks, flate.DefaultCompression, func(w io.Writer) { w.Write(plain) })
	return rearmor(t, msg, start, end, ct)
}

func pgpArmorBody(t *testing.T, armored []byte) io.Reader {
	t.Helper()
	_, _, body := armoredMessage(t, armored)
	return bytes.NewReader(body)
}

// TestVerifyPipelineEarlyExit: damage anywhere in a message larger than
// the read-ahead of the decryption pipeline (reading, decrypting,
// decompressing and parsing run on goroutines of their own) is reported
// as CannotDecrypt or as an I/O error, never Verified, never swallowed,
// and every stage goroutine has ended when Verify returns. Run with -race.
func TestVerifyPipelineEarlyExit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds several 4 MB messages")
	}
	ks := loadKeys(t)
	store := bobStore(t, ks)
	dir := t.TempDir()
	good, err := os.ReadFile(bigMessage(t, ks, dir, 4<<20, true))
	if err != nil {
		t.Fatal(err)
	}
	compressed := compressedMessage(t, ks, good)

	tamper := func(msg []byte, at func(n int) int) []byte {
		start, end, body := armoredMessage(t, msg)
		body = bytes.Clone(body)
		body[at(len(body))] ^= 0x40
		return rearmor(t, msg, start, end, body)
	}
	truncateBody := func(msg []byte, frac float64) []byte {
		start, end, body := armoredMessage(t, msg)
		return rearmor(t, msg, start, end, body[:int(float64(len(body))*frac)])
	}
	cases := []struct {
		name    string
		msg     []byte
		verdict receive.Verdict
	}{
		{"intact", good, receive.Verified},
		{"intact compressed", compressed, receive.Verified},
		{"tampered at 1%", tamper(good, func(n int) int { return n / 100 }), receive.CannotDecrypt},
		{"tampered in the middle", tamper(good, func(n int) int { return n / 2 }), receive.CannotDecrypt},
		{"tampered MDC", tamper(good, func(n int) int { return n - 3 }), receive.CannotDecrypt},
		{"tampered compressed, middle", tamper(compressed, func(n int) int { return n / 2 }), receive.CannotDecrypt},
		{"tampered compressed, MDC", tamper(compressed, func(n int) int { return n - 3 }), receive.CannotDecrypt},
		{"ciphertext cut in half", truncateBody(good, 0.5), receive.CannotDecrypt},
		{"ciphertext cut before the MDC", truncateBody(good, 0.99999), receive.CannotDecrypt},
		{"compressed ciphertext cut in half", truncateBody(compressed, 0.5), receive.CannotDecrypt},
		{"message cut in half", good[:len(good)/2], receive.CannotDecrypt},
		// The whole OpenPGP message (signature and MDC included) is there,
		// only the END line and the close delimiter are missing: Verified,
		// as before the decryption was split into stages.
		{"message cut in the END line", good[:bytes.Index(good, []byte("-----END PGP"))+8], receive.Verified},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			rep, err := receive.Verify(context.Background(), bytes.NewReader(tc.msg), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != tc.verdict {
				t.Fatalf("verdict %s (%s), want %s", rep.Verdict, rep.Reason, tc.verdict)
			}
			checkGoroutines(t, base)
		})
	}
	t.Run("read error in the middle", func(t *testing.T) {
		base := runtime.NumGoroutine()
		boom := errors.New("disk on fire")
		_, err := receive.Verify(context.Background(), &failingReader{r: bytes.NewReader(good), n: len(good) / 2, err: boom}, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
		checkGoroutines(t, base)
	})
	t.Run("cancelled in the middle", func(t *testing.T) {
		base := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := receive.Verify(ctx, &failingReader{r: bytes.NewReader(good), n: len(good) / 2, hit: cancel}, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
		if !errors.Is(err, context.Canceled) && !errors.Is(err, io.ErrNoProgress) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		checkGoroutines(t, base)
	})
}

// checkGoroutines fails unless the number of goroutines is back to base
// (Verify waits for its stages; the runtime may take a moment to reap).
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	for i := 0; runtime.NumGoroutine() > base; i++ {
		if i == 100 {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left running, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
