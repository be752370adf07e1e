package pgpmime

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestBase64Reader(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 56, 57, 58, 100000} {
		data := bytes.Repeat([]byte("\x00\xffsecuresend"), n/12+1)[:n]
		enc := base64.StdEncoding.EncodeToString(data)
		var lines strings.Builder
		for i := 0; i < len(enc); i += 76 {
			lines.WriteString(enc[i:min(i+76, len(enc))] + "\r\n")
		}
		for name, in := range map[string]string{
			"76-char CRLF lines": lines.String(),
			"one line":           enc,
			"LF and spaces":      strings.ReplaceAll(lines.String(), "\r\n", " \n\t"),
			"unpadded":           strings.TrimRight(enc, "="),
			"odd line lengths":   insertEvery(enc, 7, "\r\n"),
		} {
			got, err := io.ReadAll(Base64Reader(iotest.HalfReader(strings.NewReader(in))))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("n=%d %s: err=%v equal=%v", n, name, err, bytes.Equal(got, data))
			}
		}
	}
	for _, bad := range []string{"AAA*", "AA==AAAA", "A"} {
		if _, err := io.ReadAll(Base64Reader(strings.NewReader(bad))); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", bad, err)
		}
	}
}

func insertEvery(s string, n int, sep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += n {
		b.WriteString(s[i:min(i+n, len(s))] + sep)
	}
	return b.String()
}

func FuzzBase64Reader(f *testing.F) {
	f.Add([]byte("aGVsbG8=\r\n"), 3)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		enc := base64.StdEncoding.EncodeToString(data)
		if split > 0 {
			enc = insertEvery(enc, split%100+1, "\r\n")
		}
		got, err := io.ReadAll(Base64Reader(strings.NewReader(enc)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip: %v", err)
		}
		// Arbitrary input: no panic, and the bulk path (whole buffered
		// lines) agrees with the line-by-line one (one byte at a time).
		bulk, berr := io.ReadAll(Base64Reader(bytes.NewReader(data)))
		slow, serr := io.ReadAll(Base64Reader(iotest.OneByteReader(bytes.NewReader(data))))
		if !bytes.Equal(bulk, slow) || (berr == nil) != (serr == nil) {
			t.Fatalf("bulk %q (%v), byte-wise %q (%v)", bulk, berr, slow, serr)
		}
	})
}

// TestBase64ReaderBulkMatchesLines: odd but legal MIME base64 (padding
// inside, bare CR, white space, short lines) decodes the same in bulk as
// line by line.
func TestBase64ReaderBulkMatchesLines(t *testing.T) {
	for _, in := range []string{
		"QQ==\r\nQUJD\r\n", "QQ=\r\n=\r\nQUJD\r\n", "QU\rJD\nREVG\n", "QUJD \r\nREVG\r\n", "QUJ\r\nDREVG\r\n",
		"QUJD\r\n\r\n\r\nREVG", "QUJD\r\nRE", "QUJD\t\r\nREVG==\r\n", "QUJD\r\n!!!!\r\n", "====\r\n",
	} {
		bulk, berr := io.ReadAll(Base64Reader(strings.NewReader(in)))
		slow, serr := io.ReadAll(Base64Reader(iotest.OneByteReader(strings.NewReader(in))))
		if !bytes.Equal(bulk, slow) || (berr == nil) != (serr == nil) {
			t.Errorf("%q: bulk %q (%v), byte-wise %q (%v)", in, bulk, berr, slow, serr)
		}
	}
}

// FuzzDecodeQuanta: the fast decoder agrees with encoding/base64 on every
// input it accepts, and accepts all clean unpadded input.
func FuzzDecodeQuanta(f *testing.F) {
	f.Add([]byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"))
	f.Add([]byte("QUJD*EVG"))
	f.Fuzz(func(t *testing.T, src []byte) {
		dst := make([]byte, len(src)/4*3)
		ok := decodeQuanta(dst, src)
		want, err := base64.StdEncoding.DecodeString(string(src))
		clean := len(src)%4 == 0 && !bytes.ContainsAny(src, "=\r\n")
		if ok != (clean && err == nil) {
			t.Fatalf("%q: ok=%v, encoding/base64 err=%v", src, ok, err)
		}
		if ok && !bytes.Equal(dst, want) {
			t.Fatalf("%q: %x, want %x", src, dst, want)
		}
	})
}

func TestDecodeQuanta(t *testing.T) {
	for n := 0; n < 200; n++ {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*131 + n)
		}
		enc := base64.RawStdEncoding.EncodeToString(data[:n/3*3])
		dst := make([]byte, n/3*3)
		if !decodeQuanta(dst, []byte(enc)) || !bytes.Equal(dst, data[:n/3*3]) {
			t.Fatalf("n=%d: wrong", n)
		}
		for i := 0; i < len(enc); i++ {
			bad := []byte(enc)
			bad[i] = '='
			if decodeQuanta(dst, bad) {
				t.Fatalf("n=%d: '=' at %d accepted", n, i)
			}
		}
	}
}

func BenchmarkDecodeQuanta(b *testing.B) {
	data := make([]byte, 3<<18)
	for i := range data {
		data[i] = byte(i * 7919 >> 3)
	}
	src := []byte(base64.StdEncoding.EncodeToString(data))
	dst := make([]byte, len(data))
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			decodeQuanta(dst, src)
		}
	})
	b.Run("encoding/base64", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			base64.StdEncoding.Decode(dst, src)
		}
	})
}
