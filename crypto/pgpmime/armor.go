package pgpmime

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// armorWriter writes OpenPGP ASCII armor (RFC 9580 section 6) with CRLF
// line endings and 76-character lines, for the multi-megabyte encrypted
// part: whole lines are encoded straight into one output buffer (encodeLine,
// a pair table: two lookups per 3 bytes) and written 64 KiB at a time, with
// no per-line write or allocation. It writes the CRC-24 line: RFC 9580
// makes it optional, but GnuPG 2.2 needs it when the base64 ends without
// padding (length a multiple of 3), or it reads the END line as data
// ("invalid radix64 character 2D") and the message fails its integrity
// check.
type armorWriter struct {
	body      *b64Writer // the base64 lines, after the header in its buffer
	blockType string
	crc       uint32
	started   bool
}

const (
	armorLineBytes = 57 // 76 base64 characters
	armorLineLen   = 76 + 2
	armorOutSize   = 64 << 10
)

func newArmorWriter(w io.Writer, blockType string) *armorWriter {
	return &armorWriter{body: newB64Writer(w), blockType: blockType, crc: crc24Init}
}

func (a *armorWriter) Write(p []byte) (int, error) {
	if !a.started {
		a.started = true
		a.body.out = append(a.body.out, "-----BEGIN "+a.blockType+"-----\r\n\r\n"...)
	}
	a.crc = crc24Update(a.crc, p)
	return a.body.Write(p)
}

// Close ends the base64 (a last, shorter line, padded), writes the
// checksum line and the footer.
func (a *armorWriter) Close() error {
	if !a.started {
		if _, err := a.Write(nil); err != nil {
			return err
		}
	}
	b := a.body
	if b.err != nil {
		return b.err
	}
	b.end()
	sum := crc24Sum(a.crc)
	b.out = append(b.out, '=')
	b.out = base64.StdEncoding.AppendEncode(b.out, []byte{byte(sum >> 16), byte(sum >> 8), byte(sum)})
	b.out = append(b.out, "\r\n-----END "+a.blockType+"-----\r\n"...)
	return b.flush()
}

// b64Pairs maps 12 bits to the two base64 characters that encode them
// (the standard alphabet, RFC 4648 section 4), first character high.
var b64Pairs = func() (t [4096]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6])<<8 | uint16(alphabet[i&63])
	}
	return t
}()

// encodeLine writes the base64 encoding of src (a multiple of 3 bytes) to
// dst (4/3 as long), as encoding/base64's StdEncoding.Encode does.
func encodeLine(dst, src []byte) {
	for len(src) >= 6 && len(dst) >= 8 {
		v := uint64(src[0])<<40 | uint64(src[1])<<32 | uint64(src[2])<<24 | uint64(src[3])<<16 | uint64(src[4])<<8 | uint64(src[5])
		binary.BigEndian.PutUint64(dst, uint64(b64Pairs[v>>36&0xfff])<<48|uint64(b64Pairs[v>>24&0xfff])<<32|uint64(b64Pairs[v>>12&0xfff])<<16|uint64(b64Pairs[v&0xfff]))
		src, dst = src[6:], dst[8:]
	}
	if len(src) >= 3 && len(dst) >= 4 {
		v := uint(src[0])<<16 | uint(src[1])<<8 | uint(src[2])
		binary.BigEndian.PutUint32(dst, uint32(b64Pairs[v>>12&0xfff])<<16|uint32(b64Pairs[v&0xfff]))
	}
}

var crlf = []byte("\r\n")

// ArmorReader returns a reader of the binary data of the first ASCII
// armored block in r (RFC 9580 section 6.2). It decodes line by line
// without allocating per line; armor headers and the optional CRC-24 line
// are skipped (RFC 9580 says to ignore the checksum). A malformed block is
// an error wrapping ErrMalformed.
func ArmorReader(r io.Reader) io.Reader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 4096 {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &armorReader{br: br}
}

type armorReader struct {
	br    *bufio.Reader
	state int // 0 before BEGIN, 1 headers, 2 data, 3 done
	out   []byte
	buf   []byte
	err   error
}

func (a *armorReader) Read(p []byte) (int, error) {
	for len(a.out) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		a.next()
	}
	n := copy(p, a.out)
	a.out = a.out[n:]
	return n, nil
}

func (a *armorReader) fail(format string, args ...any) {
	a.err = fmt.Errorf("pgpmime: armor: "+format+": %w", append(args, ErrMalformed)...)
}

// next processes one line, or in the data, every complete line already
// buffered when none of them can be anything but data.
func (a *armorReader) next() {
	if a.state == 2 && a.nextLines() {
		return
	}
	line, err := a.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		a.fail("line too long")
		return
	}
	if err != nil && (err != io.EOF || len(line) == 0) {
		if err == io.EOF {
			a.fail("no END line (truncated?)")
		} else {
			a.err = err
		}
		return
	}
	text := bytes.TrimRight(line, " \t\r\n")
	switch a.state {
	case 0:
		if bytes.HasPrefix(text, []byte("-----BEGIN PGP ")) && bytes.HasSuffix(text, []byte("-----")) {
			a.state = 1
		}
	case 1:
		if len(text) == 0 {
			a.state = 2
		} else if !bytes.Contains(text, []byte(": ")) {
			// No header block: this is already data.
			a.state = 2
			a.decode(text)
		}
	case 2:
		a.decode(text)
	}
}

// nextLines is the fast path of next in the data: it decodes the
// complete lines already buffered, each on its own with decodeQuanta, as
// long as each is a multiple of 4 alphabet characters (so not the END
// line, nor padding, nor the CRC-24 line) followed by optional spaces,
// tabs and CRs and a LF, and consumes them. It stops at the first line
// that is anything else, which next then handles on its own with the same
// result, and reports false if it decoded no line.
func (a *armorReader) nextLines() bool {
	buf, _ := a.br.Peek(a.br.Buffered())
	if need := len(buf)/4*3 + 16; cap(a.buf) < need {
		a.buf = make([]byte, need, max(need, 1024))
	}
	dst := a.buf[:cap(a.buf)]
	n, consumed := decodeLines(dst, buf, true)
	if consumed == 0 {
		return false
	}
	a.out = dst[:n]
	a.br.Discard(consumed)
	return true
}

func (a *armorReader) decode(text []byte) {
	switch {
	case len(text) == 0:
		return
	case text[0] == '=':
		return // CRC-24, ignored
	case text[0] == '-':
		if bytes.HasPrefix(text, []byte("-----END PGP ")) {
			a.state, a.err = 3, io.EOF
			return
		}
		a.fail("unexpected line")
		return
	}
	need := base64.StdEncoding.DecodedLen(len(text))
	if cap(a.buf) < need {
		a.buf = make([]byte, need, max(need, 1024))
	}
	n, err := base64.StdEncoding.Decode(a.buf[:need], text)
	if err != nil {
		a.fail("bad base64")
		return
	}
	a.out = a.buf[:n]
}
