package receive

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// compress returns payload compressed with OpenPGP algorithm algo (1 ZIP,
// 2 ZLIB), by the standard library's compressors.
func compressBody(t *testing.T, algo byte, payload []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	switch algo {
	case algoZIP:
		w, _ = flate.NewWriter(&b, flate.BestSpeed)
	case algoZLIB:
		w = zlib.NewWriter(&b)
	default:
		return append([]byte(nil), payload...)
	}
	w.Write(payload)
	w.Close()
	return b.Bytes()
}

// framePacket frames body as an OpenPGP packet of tag with the header form
// named by form.
func framePacket(t *testing.T, tag byte, form string, body []byte) []byte {
	t.Helper()
	n := len(body)
	switch form {
	case "new1":
		if n >= 192 {
			t.Fatalf("new1 with %d bytes", n)
		}
		return append([]byte{0xc0 | tag, byte(n)}, body...)
	case "new2":
		if n < 192 || n >= 8384 {
			t.Fatalf("new2 with %d bytes", n)
		}
		m := n - 192
		return append([]byte{0xc0 | tag, byte(m>>8) + 192, byte(m)}, body...)
	case "new5":
		h := []byte{0xc0 | tag, 255, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(h[2:], uint32(n))
		return append(h, body...)
	case "partial":
		// 512-byte chunks, then 1 KiB ones, the rest in a two-octet length.
		out := []byte{0xc0 | tag}
		for size := 512; len(body) > size; size = 1024 {
			out = append(out, 224+byte(bitsOf(size)))
			out = append(out, body[:size]...)
			body = body[size:]
		}
		if len(body) < 192 {
			out = append(out, byte(len(body)))
		} else {
			m := len(body) - 192
			out = append(out, byte(m>>8)+192, byte(m))
		}
		return append(out, body...)
	case "old1":
		return append([]byte{0x80 | tag<<2, byte(n)}, body...)
	case "old2":
		return append([]byte{0x80 | tag<<2 | 1, byte(n >> 8), byte(n)}, body...)
	case "old4":
		h := []byte{0x80 | tag<<2 | 2, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(h[1:], uint32(n))
		return append(h, body...)
	case "oldIndeterminate":
		return append([]byte{0x80 | tag<<2 | 3}, body...)
	}
	t.Fatalf("unknown form %q", form)
	return nil
}

func bitsOf(n int) int {
	b := 0
	for n > 1 {
		n >>= 1
		b++
	}
	return b
}

// TestInflateFirst: the decompressed stream inflateFirst hands to
// go-crypto is the one go-crypto's own packet reader makes of the same
// bytes (its Compressed packet's body, then the packets after it), for
// every header form of RFC 9580 section 4.2, ZIP and ZLIB, data after the
// end of the deflate stream inside the packet (skipped, as go-crypto
// does). Packets after the compressed one are refused: the stream fails
// with errAfterCompressed where they start, and so does finish.
func TestInflateFirst(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	small := []byte("\xcb\x0db\x00\x00\x00\x00\x00hello") // a literal data packet, as bytes
	large := make([]byte, 300<<10)
	for i := range large {
		large[i] = "ABCDEFGHIJKLMNOP\r\n"[rnd.IntN(18)]
	}
	tail := framePacket(t, 2, "new1", []byte("a signature packet, as far as this layer knows"))
	for _, tc := range []struct {
		name    string
		form    string
		algo    byte
		payload []byte
		junk    []byte // after the deflate stream, inside the packet
		tail    []byte // packets after the compressed one
	}{
		{"ZIP, new one-octet length", "new1", algoZIP, small, nil, nil},
		{"ZIP, new two-octet length", "new2", algoZIP, large[:4000], nil, tail},
		{"ZIP, new five-octet length", "new5", algoZIP, large, nil, tail},
		{"ZIP, partial lengths", "partial", algoZIP, large, nil, tail},
		{"ZLIB, partial lengths", "partial", algoZLIB, large, nil, tail},
		{"ZIP, legacy one-octet length", "old1", algoZIP, small, nil, tail},
		{"ZIP, legacy two-octet length", "old2", algoZIP, large[:20000], nil, tail},
		{"ZLIB, legacy four-octet length", "old4", algoZLIB, large, nil, tail},
		{"ZIP, legacy indeterminate length", "oldIndeterminate", algoZIP, large, nil, nil},
		{"ZIP, data after the deflate stream", "partial", algoZIP, large, bytes.Repeat([]byte{0xAA}, 3000), tail},
		{"ZLIB, data after the zlib stream", "new5", algoZLIB, small, []byte("junk"), tail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := append([]byte{tc.algo}, compressBody(t, tc.algo, tc.payload)...)
			body = append(body, tc.junk...)
			stream := append(framePacket(t, tagCompressed, tc.form, body), tc.tail...)

			// go-crypto's reading of the same bytes.
			p, err := packet.NewReader(bytes.NewReader(stream)).Next()
			if err != nil {
				t.Fatal(err)
			}
			c, ok := p.(*packet.Compressed)
			if !ok {
				t.Fatalf("go-crypto reads a %T", p)
			}
			ref, err := io.ReadAll(c.Body)
			if err != nil || !bytes.Equal(ref, tc.payload) {
				t.Fatalf("go-crypto: %d bytes, %v", len(ref), err)
			}

			r, finish, err := inflateFirst(bufio.NewReaderSize(bytes.NewReader(stream), 4096), 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if tc.tail == nil && err != nil || tc.tail != nil && !errors.Is(err, errAfterCompressed) {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, tc.payload) {
				t.Fatalf("got %d bytes, want %d", len(got), len(tc.payload))
			}
			if err := finish(); tc.tail == nil && err != nil || tc.tail != nil && !errors.Is(err, errAfterCompressed) {
				t.Fatalf("finish: %v", err)
			}
		})
	}
}

// TestInflateFirstPassThrough: a stream that does not start with a ZIP or
// ZLIB compressed packet reaches go-crypto as it is, unread.
func TestInflateFirstPassThrough(t *testing.T) {
	lit := framePacket(t, 11, "new1", []byte("b\x00\x00\x00\x00\x00hello"))
	for _, tc := range []struct {
		name   string
		stream []byte
	}{
		{"literal data first", lit},
		{"uncompressed compressed packet", framePacket(t, tagCompressed, "new1", append([]byte{0}, lit...))},
		{"BZip2", framePacket(t, tagCompressed, "new1", append([]byte{3}, "BZh9"...))},
		{"not a packet", []byte("plain text")},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(bytes.NewReader(tc.stream))
			r, finish, err := inflateFirst(br, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			if finish() != nil {
				t.Fatal("finish fails on a stream left to go-crypto")
			}
			if r != io.Reader(br) {
				t.Fatalf("got a %T, want the stream itself", r)
			}
			if got, _ := io.ReadAll(r); !bytes.Equal(got, tc.stream) {
				t.Fatalf("the stream changed: %q", got)
			}
		})
	}
}

// TestInflateFirstBad: damaged framing or a damaged or cut compressed
// stream is an error when the stream is read (or at once), never a short
// stream read as complete; and the decompressed packets stop with
// go-crypto's ErrMessageTooLarge past the bound.
func TestInflateFirstBad(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB
	zip := append([]byte{algoZIP}, compressBody(t, algoZIP, payload)...)
	good := framePacket(t, tagCompressed, "partial", zip)
	for _, tc := range []struct {
		name   string
		stream []byte
		bound  int64
		want   error // nil: any error
	}{
		{"cut inside a partial chunk", good[:len(good)/2], 1 << 30, nil},
		{"cut after a partial length", good[:1+1+512], 1 << 30, nil},
		{"five-octet length cut", []byte{0xc0 | tagCompressed, 255, 0, 0}, 1 << 30, errPacketFraming},
		{"legacy length cut", []byte{0x80 | tagCompressed<<2 | 2, 0}, 1 << 30, errPacketFraming},
		{"packet ends inside the deflate stream", framePacket(t, tagCompressed, "new5", zip[:len(zip)-10]), 1 << 30, nil},
		{"not deflate", framePacket(t, tagCompressed, "new5", append([]byte{algoZIP}, bytes.Repeat([]byte{0xff}, 100)...)), 1 << 30, nil},
		{"not zlib", framePacket(t, tagCompressed, "new1", append([]byte{algoZLIB}, "nonsense"...)), 1 << 30, nil},
		{"over the bound", good, 64 << 10, pgperrors.ErrMessageTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _, err := inflateFirst(bufio.NewReader(bytes.NewReader(tc.stream)), tc.bound)
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if err == nil {
				t.Fatal("read without an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzInflateFirst: on any stream inflateFirst does not panic, and when
// both it (not passing the stream through) and go-crypto read a first
// compressed packet without error, what it hands on starts with go-crypto's decompressed body;
// finish never panics and agrees with a stream read to its end.
func FuzzInflateFirst(f *testing.F) {
	f.Add([]byte{0xc8, 0x05, algoZIP, 0x01, 0x00, 0x00, 0xff, 0xff})
	f.Add(append([]byte{0xa3, algoZIP}, compressBody(&testing.T{}, algoZIP, []byte("hello hello hello"))...))
	f.Add(append([]byte{0xc8, 0xe9, algoZLIB}, bytes.Repeat([]byte{0x78}, 512)...))
	f.Fuzz(func(t *testing.T, stream []byte) {
		br := bufio.NewReader(bytes.NewReader(stream))
		r, finish, err := inflateFirst(br, 1<<20)
		if err != nil || r == io.Reader(br) { // passed through: go-crypto reads it
			return
		}
		got, err := io.ReadAll(r)
		if err != nil {
			finish() // must not panic either
			return
		}
		if err := finish(); err != nil {
			t.Fatalf("the stream reads to its end, finish fails: %v", err)
		}
		p, err := packet.NewReader(bytes.NewReader(stream)).Next()
		c, ok := p.(*packet.Compressed)
		if err != nil || !ok || len(stream) < 3 {
			return
		}
		ref, err := io.ReadAll(io.LimitReader(c.Body, 1<<20))
		if err != nil {
			return
		}
		if !bytes.HasPrefix(got, ref) {
			t.Fatalf("inflateFirst gave %q, go-crypto %q", got, ref)
		}
	})
}
