package pgpmime_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/securesend/securesend/crypto/pgpmime"
)

// chunkReader returns the bytes of data in reads of the sizes in sizes
// (cycled; 1 to 256 bytes each): a CR and its LF split between reads
// anywhere.
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)]) + 1
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// FuzzCanonicalReaders: for any content read in any pieces,
// TextSignatureReader gives exactly what go-crypto's canonical text hash
// hashes (fed in other pieces), and CRLFReader what CRLFWriter writes: a
// verifier that parses these bytes parses the very bytes the signature
// covers.
func FuzzCanonicalReaders(f *testing.F) {
	for _, c := range canonicalCases {
		f.Add([]byte(c), []byte{0, 1, 2}, []byte{3})
	}
	f.Add(bytes.Repeat([]byte("ab\r"), 1000), []byte{255, 0}, []byte{7, 1})
	f.Fuzz(func(t *testing.T, data, readSizes, writeSizes []byte) {
		rec := &recordingHash{}
		h := openpgp.NewCanonicalTextHash(rec)
		for w := (&chunkReader{data: data, sizes: writeSizes}); ; {
			buf := make([]byte, 256)
			n, err := w.Read(buf)
			h.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got, err := io.ReadAll(pgpmime.TextSignatureReader(&chunkReader{data: data, sizes: readSizes}))
		if err != nil || !bytes.Equal(got, rec.Bytes()) {
			t.Fatalf("TextSignatureReader %q, %v; go-crypto hashes %q", got, err, rec.Bytes())
		}
		var want bytes.Buffer
		w := pgpmime.CRLFWriter(&want)
		for c := (&chunkReader{data: data, sizes: writeSizes}); ; {
			buf := make([]byte, 256)
			n, err := c.Read(buf)
			w.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got, err = io.ReadAll(pgpmime.CRLFReader(&chunkReader{data: data, sizes: readSizes}))
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("CRLFReader %q, %v; CRLFWriter %q", got, err, want.Bytes())
		}
	})
}
