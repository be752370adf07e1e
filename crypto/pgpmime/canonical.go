package pgpmime

import (
	"bytes"
	"io"
)

// CRLFWriter returns a writer that forwards to w with every bare LF turned
// into CRLF, the canonical form that OpenPGP/MIME signatures cover. Input
// that is already CRLF passes through without copying.
func CRLFWriter(w io.Writer) io.Writer { return &crlfWriter{w: w} }

type crlfWriter struct {
	w      io.Writer
	lastCR bool // the previous Write ended in CR
}

var cr = []byte{'\r'}

func (c *crlfWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	start := 0
	for i := 0; i < len(p); {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		j += i
		if !(j > 0 && p[j-1] == '\r' || j == 0 && c.lastCR) {
			if _, err := c.w.Write(p[start:j]); err != nil {
				return 0, err
			}
			if _, err := c.w.Write(cr); err != nil {
				return 0, err
			}
			start = j
		}
		i = j + 1
	}
	if _, err := c.w.Write(p[start:]); err != nil {
		return 0, err
	}
	c.lastCR = p[len(p)-1] == '\r'
	return len(p), nil
}

// CRLFReader returns a reader of the bytes CRLFWriter would write for the
// content of r: every LF not preceded by CR made CRLF, everything else as
// it is. A multipart/signed part's signature covers exactly these bytes
// (RFC 3156 section 5), so a verifier that parses them, rather than the
// part as it arrived, releases only what was signed: line ends changed in
// transit (CRLF to LF, LF to CRLF) change nothing it decodes.
func CRLFReader(r io.Reader) io.Reader {
	t := &transformReader{src: r}
	t.w = CRLFWriter(&t.out)
	return t
}

// TextSignatureReader returns a reader of the bytes an OpenPGP text
// signature (type 0x01, RFC 9580 section 5.2.1.2) over the content of r
// hashes, exactly as go-crypto makes them when it checks one
// (openpgp.NewCanonicalTextHash): an LF is made CRLF unless it directly
// follows a CR, and the byte after a CR is never changed. That is not
// quite CRLFReader's rule ("\r\r\n" stays here "\r\r\r\n"); the exact rule
// matters, because a verifier must parse the very bytes that were hashed.
func TextSignatureReader(r io.Reader) io.Reader {
	t := &transformReader{src: r}
	t.w = &textCanon{w: &t.out}
	return t
}

// textCanon is go-crypto's canonical text transform (openpgp/
// canonical_text.go, writeCanonical) as a writer.
type textCanon struct {
	w       io.Writer
	afterCR bool
}

func (c *textCanon) Write(p []byte) (int, error) {
	start := 0
	for i, b := range p {
		if c.afterCR {
			c.afterCR = false
			continue
		}
		switch b {
		case '\r':
			c.afterCR = true
		case '\n':
			if _, err := c.w.Write(p[start:i]); err != nil {
				return 0, err
			}
			if _, err := c.w.Write(crlf); err != nil {
				return 0, err
			}
			start = i + 1
		}
	}
	if _, err := c.w.Write(p[start:]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// transformReader reads src through the writer w, which writes the
// transformed bytes to out; it holds at most one read of src (doubled).
type transformReader struct {
	src io.Reader
	w   io.Writer
	out bytes.Buffer
	buf []byte
	err error
}

func (t *transformReader) Read(p []byte) (int, error) {
	for t.out.Len() == 0 {
		if t.err != nil {
			return 0, t.err
		}
		if t.buf == nil {
			t.buf = make([]byte, 32<<10)
		}
		n, err := t.src.Read(t.buf[:min(len(t.buf), max(len(p), 512))])
		if n > 0 {
			t.w.Write(t.buf[:n]) // to a bytes.Buffer: cannot fail
		}
		t.err = err
	}
	return t.out.Read(p)
}
