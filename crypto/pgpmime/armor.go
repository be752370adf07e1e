package pgpmime

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// armorWriter writes OpenPGP ASCII armor (RFC 9580 section 6) with CRLF
// line endings and 76-character lines, for the multi-megabyte encrypted
// part, with no per-line allocation (several times faster than go-crypto's
// encoder). It writes the CRC-24 line: RFC 9580 makes it optional, but
// GnuPG 2.2 needs it when the base64 ends without padding (length a
// multiple of 3), or it reads the END line as data ("invalid radix64
// character 2D") and the message fails its integrity check.
type armorWriter struct {
	w         io.Writer
	blockType string
	b64       io.WriteCloser
	lw        *lineWrapper
	crc       uint32
	started   bool
}

func newArmorWriter(w io.Writer, blockType string) *armorWriter {
	a := &armorWriter{w: w, blockType: blockType, lw: &lineWrapper{w: w, width: 76}, crc: crc24Init}
	a.b64 = base64.NewEncoder(base64.StdEncoding, a.lw)
	return a
}

func (a *armorWriter) Write(p []byte) (int, error) {
	if !a.started {
		a.started = true
		if _, err := io.WriteString(a.w, "-----BEGIN "+a.blockType+"-----\r\n\r\n"); err != nil {
			return 0, err
		}
	}
	a.crc = crc24Update(a.crc, p)
	return a.b64.Write(p)
}

// Close ends the base64, writes the checksum line and the footer.
func (a *armorWriter) Close() error {
	if !a.started {
		if _, err := a.Write(nil); err != nil {
			return err
		}
	}
	if err := a.b64.Close(); err != nil {
		return err
	}
	if a.lw.n > 0 {
		if _, err := io.WriteString(a.w, "\r\n"); err != nil {
			return err
		}
	}
	sum := crc24Sum(a.crc)
	crc := base64.StdEncoding.EncodeToString([]byte{byte(sum >> 16), byte(sum >> 8), byte(sum)})
	_, err := io.WriteString(a.w, "="+crc+"\r\n-----END "+a.blockType+"-----\r\n")
	return err
}

// lineWrapper breaks its output into CRLF-terminated lines of width.
type lineWrapper struct {
	w     io.Writer
	width int
	n     int // characters on the current line
}

var crlf = []byte("\r\n")

func (l *lineWrapper) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		k := min(l.width-l.n, len(p))
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		l.n += k
		p = p[k:]
		if l.n == l.width {
			if _, err := l.w.Write(crlf); err != nil {
				return 0, err
			}
			l.n = 0
		}
	}
	return total, nil
}

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
