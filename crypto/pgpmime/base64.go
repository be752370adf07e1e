package pgpmime

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
)

// Base64Reader decodes a MIME base64 body (RFC 2045 section 6.8): line
// breaks and white space anywhere are ignored, any other character outside
// the alphabet is an error wrapping ErrMalformed. It works on large chunks
// without per-line allocation, several times faster than
// base64.NewDecoder over MIME lines.
func Base64Reader(r io.Reader) io.Reader {
	return &b64Reader{br: bufio.NewReaderSize(r, 32<<10)}
}

type b64Reader struct {
	br    *bufio.Reader
	clean []byte // carried-over and newly cleaned characters
	dec   []byte
	out   []byte
	err   error
}

func (r *b64Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.next()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *b64Reader) next() {
	if len(r.clean) == 0 && r.nextLines() {
		return
	}
	chunk, err := r.br.ReadSlice('\n')
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		r.err = err
		return
	}
	body := chunk
	for len(body) > 0 && b64Class[body[len(body)-1]] == b64Space {
		body = body[:len(body)-1]
	}
	clean := true
	for _, c := range body {
		if b64Class[c] != b64Alphabet {
			clean = false
			break
		}
	}
	if clean {
		r.clean = append(r.clean, body...)
	} else {
		for _, c := range body {
			switch b64Class[c] {
			case b64Alphabet:
				r.clean = append(r.clean, c)
			case b64Space:
			default:
				r.err = fmt.Errorf("pgpmime: base64: invalid character %q: %w", c, ErrMalformed)
				return
			}
		}
	}
	n := len(r.clean) / 4 * 4
	if err == io.EOF {
		n = len(r.clean)
	}
	if n > 0 {
		enc := base64.StdEncoding
		if n%4 != 0 {
			enc = base64.RawStdEncoding // unpadded tail at the very end
		}
		if need := enc.DecodedLen(n); cap(r.dec) < need {
			r.dec = make([]byte, need)
		}
		m, derr := enc.Decode(r.dec[:cap(r.dec)], r.clean[:n])
		if derr != nil {
			r.err = fmt.Errorf("pgpmime: base64: %v: %w", derr, ErrMalformed)
			return
		}
		r.out = r.dec[:m]
		r.clean = append(r.clean[:0], r.clean[n:]...)
	}
	if err == io.EOF {
		r.err = io.EOF
	}
}

// nextLines is the fast path of next: it decodes all complete lines
// already buffered in one call (encoding/base64 skips CR and LF), when
// they hold only alphabet characters and line breaks, a multiple of 4 of
// the former. It reports false, consuming nothing, for anything else
// (white space, padding inside, a partial quantum), which next then
// handles line by line with the same result.
func (r *b64Reader) nextLines() bool {
	buf, _ := r.br.Peek(r.br.Buffered())
	end := bytes.LastIndexByte(buf, '\n') + 1
	if end == 0 {
		return false
	}
	lines := buf[:end]
	if (len(lines)-bytes.Count(lines, lf)-bytes.Count(lines, cr))%4 != 0 {
		return false
	}
	if need := base64.StdEncoding.DecodedLen(len(lines)); cap(r.dec) < need {
		r.dec = make([]byte, need)
	}
	m, err := base64.StdEncoding.Decode(r.dec[:cap(r.dec)], lines)
	if err != nil {
		return false // let the line-by-line path judge (or report) it
	}
	r.out = r.dec[:m]
	r.br.Discard(end)
	return true
}

var lf = []byte{'\n'}

const (
	b64Invalid = iota
	b64Alphabet
	b64Space
)

// b64Class classifies bytes of a MIME base64 body.
var b64Class = func() (t [256]uint8) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") {
		t[c] = b64Alphabet
	}
	for _, c := range []byte(" \t\r\n") {
		t[c] = b64Space
	}
	return t
}()
