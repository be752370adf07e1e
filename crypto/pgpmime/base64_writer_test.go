package pgpmime

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// mimeBase64 is the reference: encoding/base64's StdEncoding cut into
// 76-character CRLF lines, the last one ended too.
func mimeBase64(data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var out bytes.Buffer
	for len(enc) > 0 {
		n := min(76, len(enc))
		out.WriteString(enc[:n])
		out.WriteString("\r\n")
		enc = enc[n:]
	}
	return out.Bytes()
}

// TestBase64Writer: for inputs of every length around the line and buffer
// sizes, written whole, byte by byte, and in random pieces, the output is
// the reference encoding, and Base64Reader reads the input back.
func TestBase64Writer(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 200<<10)
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	var sizes []int
	for n := range 200 {
		sizes = append(sizes, n)
	}
	sizes = append(sizes, 57*1000, 57*1000+1, 57*1000-1, 64<<10, 64<<10+1, 200<<10)
	for _, size := range sizes {
		in := data[:size]
		want := mimeBase64(in)
		for _, how := range []string{"whole", "bytes", "pieces"} {
			if how == "bytes" && size > 5000 {
				continue
			}
			var out bytes.Buffer
			w := Base64Writer(&out)
			switch rest := in; how {
			case "whole":
				w.Write(rest)
			case "bytes":
				for i := range rest {
					w.Write(rest[i : i+1])
				}
			case "pieces":
				for len(rest) > 0 {
					n := min(len(rest), rnd.IntN(300))
					if k, err := w.Write(rest[:n]); k != n || err != nil {
						t.Fatalf("Write: %d of %d, %v", k, n, err)
					}
					rest = rest[n:]
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("%d bytes written %s: output differs from encoding/base64's", size, how)
			}
			back, err := io.ReadAll(Base64Reader(&out))
			if err != nil || !bytes.Equal(back, in) {
				t.Fatalf("%d bytes written %s: read back %d bytes, %v", size, how, len(back), err)
			}
		}
	}
}

type failingWriter struct{ n int }

var errDisk = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n += len(p); f.n > 100<<10 {
		return 0, errDisk
	}
	return len(p), nil
}

// TestBase64WriterError: a write error of the destination is returned,
// by Write or Close, and by every call after it.
func TestBase64WriterError(t *testing.T) {
	w := Base64Writer(&failingWriter{})
	chunk := make([]byte, 10<<10)
	var err error
	for range 20 {
		if _, err = w.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, errDisk) {
		t.Fatalf("Write: %v, want %v", err, errDisk)
	}
	if _, err := w.Write(chunk); !errors.Is(err, errDisk) {
		t.Fatalf("Write after the error: %v", err)
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Fatalf("Close after the error: %v", err)
	}
}

// BenchmarkBase64Writer encodes 8 MiB in 32 KiB writes (as io.Copy
// writes a document).
func BenchmarkBase64Writer(b *testing.B) {
	data := make([]byte, 8<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := Base64Writer(io.Discard)
		for p := data; len(p) > 0; p = p[32<<10:] {
			w.Write(p[:32<<10])
		}
		w.Close()
	}
}
