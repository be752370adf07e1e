package send

import (
	"bytes"
	crand "crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgpmime"
)

// TestBoundaryGuard: a binary document passes unchanged, whatever its line
// ends, however it is split into writes, unless it contains "--boundary"
// anywhere (at its start, after LF, CR or CRLF, in the middle of a line,
// across two writes, at its end), which is ErrBoundaryInDocument with
// nothing of that write passed on.
func TestBoundaryGuard(t *testing.T) {
	const boundary = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
	noise := make([]byte, 3000)
	crand.Read(noise)
	noise = bytes.ReplaceAll(noise, []byte("-"), []byte("+"))
	for _, tt := range []struct {
		name string
		doc  []byte
		bad  bool
	}{
		{"line ends and dashes", []byte("\r\n--\n--x\r--" + boundary[:59] + "\r\n" + boundary), false},
		{"random", noise, false},
		{"empty", nil, false},
		{"at the start", []byte("--" + boundary + "\r\n"), true},
		{"after CRLF", append(append([]byte{}, noise...), "\r\n--"+boundary+"--\r\n"...), true},
		{"after LF", []byte("x\n--" + boundary), true},
		{"after CR", []byte("x\r--" + boundary + " "), true},
		{"mid-line", append([]byte("abc--"+boundary), noise...), true},
		{"at the end", append(append([]byte{}, noise...), "--"+boundary...), true},
	} {
		for _, step := range []int{1, 7, 61, 62, 63, 1 << 20} {
			var out bytes.Buffer
			g := newBoundaryGuard(&out, boundary)
			var err error
			for rest := tt.doc; len(rest) > 0 && err == nil; {
				n := min(step, len(rest))
				_, err = g.Write(rest[:n])
				rest = rest[n:]
			}
			if err == nil {
				err = g.Close()
			}
			switch {
			case tt.bad && !errors.Is(err, ErrBoundaryInDocument):
				t.Errorf("%s, writes of %d: %v, want ErrBoundaryInDocument", tt.name, step, err)
			case tt.bad && bytes.Contains(out.Bytes(), []byte("--"+boundary)):
				t.Errorf("%s, writes of %d: the boundary was passed on", tt.name, step)
			case !tt.bad && (err != nil || !bytes.Equal(out.Bytes(), tt.doc)):
				t.Errorf("%s, writes of %d: %v; passed on %d of %d bytes unchanged: %v", tt.name, step, err, out.Len(), len(tt.doc), bytes.Equal(out.Bytes(), tt.doc))
			}
		}
	}
}

// TestBinaryCompression: the compression of an encrypted message with
// binary documents follows what samples of them deflate to: none for
// random data (a scan's JPEG or CCITT stream), Huffman-only deflate for the
// sample TIFF (PackBits) and PDF, for text, for a note only (no documents)
// and for a mix whose compressible share saves over 10%; an unreadable
// document is an error naming it.
func TestBinaryCompression(t *testing.T) {
	dir := t.TempDir()
	random := func(name string, n int) string {
		b := make([]byte, n)
		crand.Read(b)
		return writeFile(t, dir, name, b)
	}
	sample := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "assets", "samples", name))
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, dir, name, b)
	}
	// Random bytes with a compressible eighth in the middle (12.5% to save):
	// only the middle sample sees it.
	mixed := make([]byte, 1<<20)
	crand.Read(mixed)
	copy(mixed[len(mixed)/2-64<<10:], make([]byte, 128<<10))
	for _, tt := range []struct {
		name string
		docs []string
		want pgpmime.Compression
	}{
		{"random scan", []string{random("scan.pdf", 3<<20)}, pgpmime.CompressNone},
		{"small random", []string{random("small.pdf", 5000)}, pgpmime.CompressNone},
		{"sample TIFF", []string{sample("sample-referral.tif")}, pgpmime.CompressHuffman},
		{"sample PDF", []string{sample("sample-prescription.pdf")}, pgpmime.CompressHuffman},
		{"text", []string{writeFile(t, dir, "notes.txt", []byte(strings.Repeat("Amoxicillin 500 mg three times a day\r\n", 3000)))}, pgpmime.CompressHuffman},
		{"no documents", nil, pgpmime.CompressHuffman},
		{"empty document", []string{writeFile(t, dir, "empty.pdf", nil)}, pgpmime.CompressHuffman},
		{"a large scan and a small TIFF", []string{random("big.pdf", 2<<20), sample("sample-referral.tif")}, pgpmime.CompressNone},
		{"half compressible", []string{random("half.pdf", 1<<20), writeFile(t, dir, "zeros.tif", make([]byte, 1<<20))}, pgpmime.CompressHuffman},
		{"compressible middle", []string{writeFile(t, dir, "mixed.pdf", mixed)}, pgpmime.CompressHuffman},
	} {
		var docs []Document
		for _, p := range tt.docs {
			docs = append(docs, Document{Path: p})
		}
		got, err := binaryCompression(docs)
		if err != nil || got != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	missing := filepath.Join(dir, "missing.pdf")
	if _, err := binaryCompression([]Document{{Path: missing}}); err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("a missing document: %v", err)
	}
}
