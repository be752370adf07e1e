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

// errAfterCompressed: data follows the Compressed Data packet that
// inflateFirst decompressed. RFC 9580's grammar (section 10.3) has nothing
// after a Compressed Message's packet, and no implementation writes it.
var errAfterCompressed = errors.New("receive: data after the compressed packet")

// errAfterMessage: the decompressed data goes on after the message
// go-crypto read from it (its literal data and signatures).
var errAfterMessage = errors.New("receive: data after the message inside the compressed packet")

// inflateFirst takes the compression layer off a decrypted packet stream
// when its first packet is a ZIP or ZLIB Compressed Data packet, and
// returns the stream go-crypto's message reader then walks: the
// decompressed packets, then an error if anything follows the compressed
// packet in br (see below). It decompresses with klauspost/compress's
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
//
// Unlike go-crypto's packet reader, which pops the decompressed stream at
// its end and reads on in the outer one, the stream returned cannot tell
// where the decompressed packets end: a packet cut at their end would go
// on in whatever follows the compressed packet. So nothing may follow it:
// reading past the decompressed packets fails with errAfterCompressed, and
// finish, to be called once go-crypto has read the message, reads the end
// of the compressed stream (and its checksum) and fails with
// errAfterCompressed if anything follows the packet (go-crypto ignores
// errors after the signature, so the stream's error alone is not enough).
// finish also fails with errAfterMessage if the decompressed data goes on
// after what go-crypto read, and with the decompressor's error if the
// deflate stream or its ZLIB checksum is bad, or io.ErrUnexpectedEOF if the
// packet is cut short after the deflate stream (go-crypto ignores all
// three).
func inflateFirst(br *bufio.Reader, hard int64) (stream io.Reader, finish func() error, err error) {
	none := func() error { return nil }
	hdr, err := br.Peek(1)
	if err != nil || hdr[0]&0x80 == 0 {
		return br, none, nil // empty or not a packet: go-crypto reports it
	}
	var tag byte
	if hdr[0]&0x40 != 0 {
		tag = hdr[0] & 0x3f
	} else {
		tag = (hdr[0] & 0x3f) >> 2
	}
	if tag != tagCompressed {
		return br, none, nil
	}
	// The header's at most 6 bytes and the algorithm octet: peek them to
	// decide without consuming, so that go-crypto still gets the stream
	// whole when the algorithm is not ours to read.
	head, _ := br.Peek(7)
	body, hlen, err := packetBody(head, br)
	if err != nil {
		return nil, nil, err
	}
	if hlen >= len(head) {
		return nil, nil, fmt.Errorf("%w: compressed packet cut short", errPacketFraming)
	}
	algo := head[hlen]
	if algo != algoZIP && algo != algoZLIB {
		return br, none, nil
	}
	if _, err := br.Discard(hlen); err != nil {
		return nil, nil, err
	}
	var one [1]byte
	if _, err := io.ReadFull(body, one[:]); err != nil { // the algorithm octet, through the body's framing
		return nil, nil, fmt.Errorf("%w: compressed packet cut short", errPacketFraming)
	}
	src := bufio.NewReaderSize(body, inflateBufSize)
	var dec io.ReadCloser
	if algo == algoZIP {
		dec = flate.NewReader(src)
	} else if dec, err = zlib.NewReader(src); err != nil {
		return nil, nil, err
	}
	inflated := &packet.LimitReader{R: &inflateReader{dec: dec, body: body}, N: hard}
	after := &afterReader{br: br}
	finish = func() error {
		// go-crypto reads a signed message's packets to the end of the
		// decompressed stream, an unsigned one's to the end of its literal
		// data: what is left must be nothing but the end of the deflate
		// stream. Not a byte more is inflated, so that data hidden after
		// the message costs nothing to refuse.
		switch n, err := io.ReadFull(inflated, one[:]); {
		case n > 0:
			return errAfterMessage
		case err != io.EOF:
			return err
		}
		_, err := after.Read(one[:])
		if err == io.EOF {
			return nil
		}
		return err
	}
	return io.MultiReader(inflated, after), finish, nil
}

// afterReader stands for what follows the compressed packet: nothing.
// It reports io.EOF at the end of br and errAfterCompressed before any
// byte.
type afterReader struct{ br *bufio.Reader }

func (a *afterReader) Read([]byte) (int, error) {
	if _, err := a.br.Peek(1); err != nil {
		return 0, err
	}
	return 0, errAfterCompressed
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
			return &fixedReader{br, int64(head[1])}, 2, nil
		case 1:
			if len(head) < 3 {
				return nil, 0, fmt.Errorf("%w: header cut short", errPacketFraming)
			}
			return &fixedReader{br, int64(binary.BigEndian.Uint16(head[1:3]))}, 3, nil
		case 2:
			if len(head) < 5 {
				return nil, 0, fmt.Errorf("%w: header cut short", errPacketFraming)
			}
			return &fixedReader{br, int64(binary.BigEndian.Uint32(head[1:5]))}, 5, nil
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
	return &fixedReader{br, n}, 1 + hlen, nil
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
// Its errors are sticky: go-crypto's io.ReadFull drops an error that comes
// with the last bytes it asked for, so an error reported once (the packet
// cut short after the deflate stream) would otherwise vanish before finish
// reads again.
type inflateReader struct {
	dec  io.ReadCloser
	body io.Reader
	done bool
	err  error
}

func (r *inflateReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.done {
		return 0, io.EOF
	}
	n, err := r.dec.Read(p)
	if err == io.EOF {
		r.done = true
		if cerr := r.dec.Close(); cerr != nil {
			err = cerr
		} else if _, cerr := io.Copy(io.Discard, r.body); cerr != nil {
			err = cerr
		}
	}
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// fixedReader reads a packet body of a fixed length n from r, failing
// with io.ErrUnexpectedEOF if r ends first (io.LimitReader would report a
// clean io.EOF for a packet cut short).
type fixedReader struct {
	r *bufio.Reader
	n int64
}

func (f *fixedReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	if err == io.EOF && f.n > 0 {
		err = io.ErrUnexpectedEOF
	} else if err == io.EOF {
		err = nil
	}
	return n, err
}
