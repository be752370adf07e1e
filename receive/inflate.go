package receive

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zlib"
)

// OpenPGP framing read by inflateFirst (RFC 9580 sections 4.2, 5.6).
const (
	tagCompressed  = 8
	algoZIP        = 1 // raw deflate
	algoZLIB       = 2
	inflateBufSize = 64 << 10
)

// errPacketFraming: a packet's length header is cut short or invalid.
var errPacketFraming = errors.New("receive: malformed OpenPGP packet length")

// inflateFirst takes the compression layer off a decrypted packet stream
// when its first packet is a ZIP or ZLIB Compressed Data packet, and
// returns the stream go-crypto's message reader then walks: the
// decompressed packets followed by whatever came after the compressed
// packet in br (as go-crypto's own packet reader does when it pushes and
// pops a compressed body). It decompresses with klauspost/compress's
// inflater, about twice as fast as compress/flate's that go-crypto calls
// and offers no hook to replace. Every other stream (uncompressed,
// BZip2, a compressed packet that is not first) is returned as it is, for
// go-crypto to read.
//
// The decompressed packets are bounded as go-crypto bounds them
// (packet.LimitReader, failing with errors.ErrMessageTooLarge beyond
// hard); the caller still applies the expansion bound to the plaintext
// and checkCompression (nested compression) to br first. As in go-crypto,
// whatever follows the end of the deflate stream inside the packet is
// skipped.
func inflateFirst(br *bufio.Reader, hard int64) (io.Reader, error) {
	hdr, err := br.Peek(1)
	if err != nil || hdr[0]&0x80 == 0 {
		return br, nil // empty or not a packet: go-crypto reports it
	}
	var tag byte
	if hdr[0]&0x40 != 0 {
		tag = hdr[0] & 0x3f
	} else {
		tag = (hdr[0] & 0x3f) >> 2
	}
	if tag != tagCompressed {
		return br, nil
	}
	// The header's at most 6 bytes and the algorithm octet: peek them to
	// decide without consuming, so that go-crypto still gets the stream
	// whole when the algorithm is not ours to read.
	head, _ := br.Peek(7)
	body, hlen, err := packetBody(head, br)
	if err != nil {
		return nil, err
	}
	if hlen >= len(head) {
		return nil, fmt.Errorf("%w: compressed packet cut short", errPacketFraming)
	}
	algo := head[hlen]
	if algo != algoZIP && algo != algoZLIB {
		return br, nil
	}
	if _, err := br.Discard(hlen); err != nil {
		return nil, err
	}
	var one [1]byte
	if _, err := io.ReadFull(body, one[:]); err != nil { // the algorithm octet, through the body's framing
		return nil, fmt.Errorf("%w: compressed packet cut short", errPacketFraming)
	}
	src := bufio.NewReaderSize(body, inflateBufSize)
	var dec io.ReadCloser
	if algo == algoZIP {
		dec = flate.NewReader(src)
	} else if dec, err = zlib.NewReader(src); err != nil {
		return nil, err
	}
	inflated := &inflateReader{dec: dec, body: body}
	return io.MultiReader(&packet.LimitReader{R: inflated, N: hard}, br), nil
}

// packetBody parses the packet header at the start of head (bytes peeked
// from br, not consumed) and returns the header's length and a reader of
// the packet's body from br, to be used once the header is discarded.
func packetBody(head []byte, br *bufio.Reader) (io.Reader, int, error) {
	if len(head) < 2 {
		return nil, 0, fmt.Errorf("%w: header cut short", errPacketFraming)
	}
	if head[0]&0x40 == 0 { // legacy format: the length type is in the tag octet
		switch head[0] & 3 {
		case 0:
			return io.LimitReader(br, int64(head[1])), 2, nil
		case 1:
			if len(head) < 3 {
				return nil, 0, fmt.Errorf("%w: header cut short", errPacketFraming)
			}
			return io.LimitReader(br, int64(binary.BigEndian.Uint16(head[1:3]))), 3, nil
		case 2:
			if len(head) < 5 {
				return nil, 0, fmt.Errorf("%w: header cut short", errPacketFraming)
			}
			return io.LimitReader(br, int64(binary.BigEndian.Uint32(head[1:5]))), 5, nil
		default: // indeterminate: the body runs to the end of the stream
			return br, 1, nil
		}
	}
	n, partial, hlen, err := newLength(head[1:])
	if err != nil {
		return nil, 0, err
	}
	if partial {
		return &partialReader{r: br, left: n, more: true}, 1 + hlen, nil
	}
	return io.LimitReader(br, n), 1 + hlen, nil
}

// newLength decodes an OpenPGP (new format) body length at the start of
// b: the length, whether it is a partial one, and how many bytes it took.
func newLength(b []byte) (n int64, partial bool, size int, err error) {
	if len(b) < 1 {
		return 0, false, 0, fmt.Errorf("%w: length cut short", errPacketFraming)
	}
	switch c := b[0]; {
	case c < 192:
		return int64(c), false, 1, nil
	case c < 224:
		if len(b) < 2 {
			return 0, false, 0, fmt.Errorf("%w: length cut short", errPacketFraming)
		}
		return (int64(c)-192)<<8 + int64(b[1]) + 192, false, 2, nil
	case c < 255:
		return 1 << (c & 0x1f), true, 1, nil
	default:
		if len(b) < 5 {
			return 0, false, 0, fmt.Errorf("%w: length cut short", errPacketFraming)
		}
		return int64(binary.BigEndian.Uint32(b[1:5])), false, 5, nil
	}
}

// partialReader reads a packet body sent in partial lengths: chunks of
// left bytes, each followed by the next length, the last one not partial.
type partialReader struct {
	r    *bufio.Reader
	left int64
	more bool // the current chunk is a partial one: another length follows
}

func (p *partialReader) Read(b []byte) (int, error) {
	for p.left == 0 {
		if !p.more {
			return 0, io.EOF
		}
		head, _ := p.r.Peek(5)
		n, partial, size, err := newLength(head)
		if err != nil {
			return 0, io.ErrUnexpectedEOF
		}
		if _, err := p.r.Discard(size); err != nil {
			return 0, err
		}
		p.left, p.more = n, partial
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.r.Read(b)
	p.left -= int64(n)
	if err == io.EOF && (p.left > 0 || p.more) {
		err = io.ErrUnexpectedEOF
	} else if err == io.EOF {
		err = nil
	}
	return n, err
}

// inflateReader reads the decompressed packets; at the end of the
// compressed stream it checks the decompressor and skips the rest of the
// packet's body, as go-crypto's decompressionReader does.
type inflateReader struct {
	dec  io.ReadCloser
	body io.Reader
	done bool
}

func (r *inflateReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	n, err := r.dec.Read(p)
	if err == io.EOF {
		r.done = true
		if cerr := r.dec.Close(); cerr != nil {
			return n, cerr
		}
		if _, cerr := io.Copy(io.Discard, r.body); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}
