package pgpmime

import (
	"crypto/rand"
	"io"
	"testing"
)

// BenchmarkArmorWriter armors 8 MiB of ciphertext-like data, written in
// 128 KiB chunks as WriteEncrypted's write-behind hands it on.
func BenchmarkArmorWriter(b *testing.B) {
	data := make([]byte, 8<<20)
	rand.Read(data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := newArmorWriter(io.Discard, "PGP MESSAGE")
		for i := 0; i < len(data); i += 128 << 10 {
			w.Write(data[i : i+128<<10])
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
