package pgpmime

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
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
	// padded: the data decoded so far ended in padding ('='), which ends
	// base64 data (RFC 2045 section 6.8): only white space may follow.
	padded bool
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
	if r.padded {
		r.trailer()
		return
	}
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
		r.padded = r.clean[n-1] == '='
		r.clean = append(r.clean[:0], r.clean[n:]...)
		if r.padded && len(r.clean) > 0 {
			r.err = errAfterPadding
			return
		}
	}
	if err == io.EOF {
		r.err = io.EOF
	}
}

// errAfterPadding: base64 data goes on after the padding that ends it.
// RFC 2045 section 6.8 lets a decoder take '=' for the end of the data,
// and some do (Python's email package), while others decode on: the
// content would depend on the reader, so it is refused.
var errAfterPadding = fmt.Errorf("pgpmime: base64: data after the padding ('=') that ends it: %w", ErrMalformed)

// trailer reads what follows the padding: white space only, else
// errAfterPadding.
func (r *b64Reader) trailer() {
	chunk, err := r.br.ReadSlice('\n')
	for _, c := range chunk {
		if b64Class[c] != b64Space {
			r.err = errAfterPadding
			return
		}
	}
	switch {
	case err == io.EOF:
		r.err = io.EOF
	case err != nil && err != bufio.ErrBufferFull:
		r.err = err
	}
}

// nextLines is the fast path of next: it decodes the complete lines
// already buffered, each on its own with decodeQuanta, as long as each is
// a multiple of 4 alphabet characters followed by CRLF or LF, and consumes
// them. It stops at the first line that is anything else (white space,
// padding, a partial quantum, an invalid character), which next then
// handles line by line with the same result, and reports false if it
// decoded no line.
func (r *b64Reader) nextLines() bool {
	buf, _ := r.br.Peek(r.br.Buffered())
	if need := len(buf)/4*3 + 16; cap(r.dec) < need {
		r.dec = make([]byte, need)
	}
	dst := r.dec[:cap(r.dec)]
	n, consumed := decodeLines(dst, buf, false)
	if consumed == 0 {
		return false
	}
	r.out = dst[:n]
	r.br.Discard(consumed)
	return true
}

// decodeLines is the loop of both nextLines (base64 bodies and armor): it
// decodes into dst, each line on its own with decodeQuanta, the complete
// lines at the start of buf, as long as each is a multiple of 4 alphabet
// characters once its LF and what precedes the LF is cut off: one CR, or
// with armored any CRs, spaces and tabs. It stops at the first line that
// is anything else and returns the bytes written to dst and the bytes of
// buf consumed. dst must have room for len(buf)/4*3 bytes.
func decodeLines(dst, buf []byte, armored bool) (n, consumed int) {
	for {
		i := bytes.IndexByte(buf[consumed:], '\n')
		if i < 0 {
			return n, consumed
		}
		line := buf[consumed : consumed+i]
		if armored {
			for len(line) > 0 && (line[len(line)-1] == '\r' || line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
				line = line[:len(line)-1]
			}
		} else if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if !decodeQuanta(dst[n:], line) {
			return n, consumed
		}
		n += len(line) / 4 * 3
		consumed += i + 1
	}
}

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

// b64Dec0..3 map a base64 character to its 6 bits already shifted into
// place for the first..fourth character of a quantum (so a quantum is the
// OR of four lookups); anything outside the alphabet, '=' included, sets
// b64Bad.
var b64Dec0, b64Dec1, b64Dec2, b64Dec3 = func() (t0, t1, t2, t3 [256]uint32) {
	for i := range 256 {
		t0[i], t1[i], t2[i], t3[i] = b64Bad, b64Bad, b64Bad, b64Bad
	}
	for v, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t0[c], t1[c], t2[c], t3[c] = uint32(v)<<18, uint32(v)<<12, uint32(v)<<6, uint32(v)
	}
	return
}()

const b64Bad = 0xff000000

// decodeQuanta decodes src, whose length must be a multiple of 4 and which
// must hold only alphabet characters (no padding, no line breaks), into
// dst, which must have room for len(src)/4*3 bytes. It reports false when
// src holds anything else; dst is then partly written. About twice as fast
// as encoding/base64 on this clean input: four table lookups ORed per
// quantum, two quanta per 8-byte store.
func decodeQuanta(dst, src []byte) bool {
	if len(src)%4 != 0 || len(dst) < len(src)/4*3 {
		return false
	}
	for len(src) >= 16 && len(dst) >= 14 {
		_, _ = src[15], dst[13]
		a := b64Dec0[src[0]] | b64Dec1[src[1]] | b64Dec2[src[2]] | b64Dec3[src[3]]
		b := b64Dec0[src[4]] | b64Dec1[src[5]] | b64Dec2[src[6]] | b64Dec3[src[7]]
		c := b64Dec0[src[8]] | b64Dec1[src[9]] | b64Dec2[src[10]] | b64Dec3[src[11]]
		d := b64Dec0[src[12]] | b64Dec1[src[13]] | b64Dec2[src[14]] | b64Dec3[src[15]]
		if (a|b|c|d)&b64Bad != 0 {
			return false
		}
		binary.BigEndian.PutUint64(dst, uint64(a)<<40|uint64(b)<<16)
		binary.BigEndian.PutUint64(dst[6:], uint64(c)<<40|uint64(d)<<16)
		src, dst = src[16:], dst[12:]
	}
	for len(src) >= 4 {
		a := b64Dec0[src[0]] | b64Dec1[src[1]] | b64Dec2[src[2]] | b64Dec3[src[3]]
		if a&b64Bad != 0 {
			return false
		}
		dst[0], dst[1], dst[2] = byte(a>>16), byte(a>>8), byte(a)
		src, dst = src[4:], dst[3:]
	}
	return true
}

// Base64Writer returns a writer that encodes what is written to it as a
// MIME base64 body (RFC 2045 section 6.8): 76-character lines ending in
// CRLF, the last one shorter and padded. Whole lines are encoded straight
// into a 64 KiB buffer with the armor writer's pair table (encodeLine) and
// written to w when it is full, with no per-line write or allocation; its
// output is the same as encoding/base64's StdEncoding cut into such lines.
// Close writes the last line and what is buffered; it does not close w.
func Base64Writer(w io.Writer) io.WriteCloser {
	return newB64Writer(w)
}

func newB64Writer(w io.Writer) *b64Writer {
	return &b64Writer{
		w:    w,
		pend: make([]byte, 0, armorLineBytes),
		out:  make([]byte, 0, armorOutSize),
	}
}

type b64Writer struct {
	w    io.Writer
	pend []byte // input of a line not yet complete (< armorLineBytes)
	out  []byte // encoded lines not yet written
	err  error  // the first write error: every later call returns it
}

func (b *b64Writer) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n := len(p)
	if len(b.pend) > 0 {
		k := copy(b.pend[len(b.pend):armorLineBytes], p)
		b.pend = b.pend[:len(b.pend)+k]
		p = p[k:]
		if len(b.pend) < armorLineBytes {
			return n, nil
		}
		if err := b.line(b.pend); err != nil {
			return 0, err
		}
		b.pend = b.pend[:0]
	}
	for len(p) >= armorLineBytes {
		if err := b.line(p[:armorLineBytes]); err != nil {
			return 0, err
		}
		p = p[armorLineBytes:]
	}
	b.pend = append(b.pend, p...)
	return n, nil
}

// line appends the encoding of one full line of input (armorLineBytes)
// and its CRLF, writing the buffer out first when it has no room.
func (b *b64Writer) line(src []byte) error {
	if len(b.out)+armorLineLen > cap(b.out) {
		if err := b.flush(); err != nil {
			return err
		}
	}
	o := len(b.out)
	b.out = b.out[:o+armorLineLen]
	encodeLine(b.out[o:o+76], src)
	b.out[o+76], b.out[o+77] = '\r', '\n'
	return nil
}

func (b *b64Writer) flush() error {
	if len(b.out) == 0 {
		return nil
	}
	_, err := b.w.Write(b.out)
	b.out = b.out[:0]
	if err != nil {
		b.err = err
	}
	return err
}

// Close encodes the last, shorter line (padded) and writes what is
// buffered.
func (b *b64Writer) Close() error {
	if b.err != nil {
		return b.err
	}
	b.end()
	return b.flush()
}

// end appends the encoding of the last, shorter line (padded) and its
// CRLF to the buffer, if any input is pending.
func (b *b64Writer) end() {
	if len(b.pend) > 0 {
		b.out = base64.StdEncoding.AppendEncode(b.out, b.pend)
		b.out = append(b.out, crlf...)
		b.pend = b.pend[:0]
	}
}
