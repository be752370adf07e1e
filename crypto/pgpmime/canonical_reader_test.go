package pgpmime_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"
	"testing/iotest"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/securesend/securesend/crypto/pgpmime"
)

// recordingHash is a hash.Hash that keeps what is written to it, to see
// the bytes go-crypto's canonical text hash feeds the real hash.
type recordingHash struct{ bytes.Buffer }

func (*recordingHash) Sum(b []byte) []byte { return b }
func (*recordingHash) Size() int           { return sha256.Size }
func (*recordingHash) BlockSize() int      { return sha256.BlockSize }

var canonicalCases = []string{
	"", "a", "\n", "\r", "\r\n", "\n\n", "\r\r\n", "\r\r\r\n", "a\nb\r\nc\rd\n",
	"\n\r", "\r\n\n", "no line end", "ends in CR\r", "ends in LF\n",
	"\x00\r\x00\n\xff\r\r\n\n",
}

// TestTextSignatureReaderMatchesGoCrypto: the bytes TextSignatureReader
// gives are, for every input and every way of reading it, those go-crypto
// hashes for a text signature.
func TestTextSignatureReaderMatchesGoCrypto(t *testing.T) {
	for _, in := range canonicalCases {
		rec := &recordingHash{}
		h := openpgp.NewCanonicalTextHash(rec)
		for _, b := range []byte(in) { // byte by byte: state across writes
			h.Write([]byte{b})
		}
		for name, r := range map[string]io.Reader{
			"whole":     pgpmime.TextSignatureReader(bytes.NewReader([]byte(in))),
			"one byte":  pgpmime.TextSignatureReader(iotest.OneByteReader(bytes.NewReader([]byte(in)))),
			"half read": iotest.HalfReader(pgpmime.TextSignatureReader(bytes.NewReader([]byte(in)))),
		} {
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, rec.Bytes()) {
				t.Errorf("%q (%s): %q, %v; go-crypto hashes %q", in, name, got, err, rec.Bytes())
			}
		}
	}
}

// TestCRLFReaderMatchesCRLFWriter: CRLFReader gives what CRLFWriter
// writes, however the input is read.
func TestCRLFReaderMatchesCRLFWriter(t *testing.T) {
	for _, in := range canonicalCases {
		var want bytes.Buffer
		w := pgpmime.CRLFWriter(&want)
		for _, b := range []byte(in) {
			w.Write([]byte{b})
		}
		for name, r := range map[string]io.Reader{
			"whole":    pgpmime.CRLFReader(bytes.NewReader([]byte(in))),
			"one byte": pgpmime.CRLFReader(iotest.OneByteReader(bytes.NewReader([]byte(in)))),
			"data err": pgpmime.CRLFReader(iotest.DataErrReader(bytes.NewReader([]byte(in)))),
		} {
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%q (%s): %q, %v; CRLFWriter writes %q", in, name, got, err, want.Bytes())
			}
		}
	}
	// A read error reaches the caller after the bytes before it.
	r := pgpmime.CRLFReader(io.MultiReader(bytes.NewReader([]byte("a\n")), iotest.ErrReader(io.ErrUnexpectedEOF)))
	got, err := io.ReadAll(r)
	if string(got) != "a\r\n" || err != io.ErrUnexpectedEOF {
		t.Errorf("read error: %q, %v", got, err)
	}
}
