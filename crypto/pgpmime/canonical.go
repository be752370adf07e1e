package pgpmime

import "io"

// CRLFWriter returns a writer that forwards to w with every bare LF turned
// into CRLF, the canonical form that OpenPGP/MIME signatures cover.
func CRLFWriter(w io.Writer) io.Writer { return &crlfWriter{w: w} }

type crlfWriter struct {
	w      io.Writer
	lastCR bool
	buf    []byte
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	c.buf = c.buf[:0]
	for _, b := range p {
		if b == '\n' && !c.lastCR {
			c.buf = append(c.buf, '\r')
		}
		c.buf = append(c.buf, b)
		c.lastCR = b == '\r'
	}
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	if cap(c.buf) > 256<<10 {
		c.buf = nil
	}
	return len(p), nil
}
