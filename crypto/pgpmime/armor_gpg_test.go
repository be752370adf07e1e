package pgpmime

import (
	"bytes"
	"testing"

	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

// TestArmorWriterGnuPG: GnuPG 2.2 reads our armor back exactly, whatever
// the length modulo 3. (Without a CRC-24 line, gpg 2.2 reads an unpadded
// block's END line as more base64 data: "invalid radix64 character 2D",
// and a message that fails its integrity check.)
func TestArmorWriterGnuPG(t *testing.T) {
	g := pgptest.New(t)
	for _, n := range []int{0, 1, 2, 3, 57, 58, 59, 3000, 3001, 3002} {
		data := bytes.Repeat([]byte("abcdefghijklm\x00\xff"), n/15+1)[:n]
		var b bytes.Buffer
		w := newArmorWriter(&b, "PGP MESSAGE")
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, stderr, err := g.Try(b.Bytes(), "--dearmor")
		if err != nil || len(bytes.TrimSpace(stderr)) > 0 || !bytes.Equal(got, data) {
			t.Errorf("n=%d: gpg --dearmor: %v, equal=%v\n%s", n, err, bytes.Equal(got, data), stderr)
		}
	}
}
