package atrest_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/securesend/securesend/crypto/atrest"
)

// FuzzDecrypt: arbitrary input never panics, gives only typed errors, and
// never decrypts cleanly to anything but the sealed seed's plaintext (each
// fuzzing worker seals its own copy, with its own salt and nonce).
func FuzzDecrypt(f *testing.F) {
	key := bytes.Repeat([]byte{7}, atrest.KeySize)
	var buf bytes.Buffer
	w, _ := atrest.Encrypt(&buf, key)
	w.Write([]byte("seed plaintext"))
	w.Close()
	sealed := buf.Bytes()
	f.Add(sealed)
	f.Add(sealed[:len(sealed)/2])
	f.Add([]byte{0xc3, 0x04})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := atrest.Decrypt(bytes.NewReader(b), key)
		if err != nil {
			if !errors.Is(err, atrest.ErrWrongKey) && !errors.Is(err, atrest.ErrTampered) && !errors.Is(err, atrest.ErrNotEncrypted) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		got, err := io.ReadAll(r)
		if err == nil && !bytes.Equal(got, []byte("seed plaintext")) {
			// Only a message sealed with the key can decrypt cleanly;
			// the fuzzer cannot forge one.
			t.Fatalf("forged input decrypted to %q", got)
		}
	})
}
