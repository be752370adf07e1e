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
