package pgpmime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrMalformed is wrapped by RawReader errors about the structure (missing
// boundary, truncated message).
var ErrMalformed = errors.New("malformed MIME multipart structure")

// RawReader splits a multipart body into its raw parts.
type RawReader struct {
	br       *bufio.Reader
	dash     []byte // "--" + boundary
	started  bool
	done     bool
	cur      *rawPart
	maxParts int
	parts    int
	endLF    bool // the current part ended at a delimiter after a bare LF
	// ambiguous: a delimiter line held a CR in its transport padding, or
	// the preamble held the boundary after a bare CR (Ambiguous).
	ambiguous bool
}

// NewRawReader reads the multipart body r whose boundary is boundary.
func NewRawReader(r io.Reader, boundary string) *RawReader {
	return &RawReader{br: bufio.NewReaderSize(r, 64<<10), dash: []byte("--" + boundary), maxParts: 1000}
}

// NextPart returns a reader of the next part's exact bytes (header, blank
// line, body; without the line break before the next delimiter). The
// previous part is drained first. It returns io.EOF after the close
// delimiter, and an error wrapping ErrMalformed if the body ends before it.
func (m *RawReader) NextPart() (io.Reader, error) {
	if m.done {
		return nil, io.EOF
	}
	if !m.started {
		if err := m.skipPreamble(); err != nil {
			return nil, err
		}
		m.started = true
	} else if m.cur != nil {
		if _, err := io.Copy(io.Discard, m.cur); err != nil {
			return nil, err
		}
		if m.cur.closing {
			m.done = true
			return nil, io.EOF
		}
	}
	m.parts++
	if m.parts > m.maxParts {
		return nil, fmt.Errorf("pgpmime: more than %d parts: %w", m.maxParts, ErrMalformed)
	}
	m.cur = &rawPart{m: m}
	m.endLF = false
	return m.cur, nil
}

// PartEndedAtBareLF reports whether the part NextPart last returned, once
// read to its end, ended at a delimiter line preceded by a bare LF rather
// than CRLF. RFC 2046 requires CRLF; RawReader also accepts LF for copies
// whose line ends were changed, but where the part's own bytes are its
// content (Content-Transfer-Encoding: binary) a parser that requires CRLF
// would read that part on past the delimiter.
func (m *RawReader) PartEndedAtBareLF() bool { return m.endLF }

// Ambiguous reports whether the multipart read so far holds a boundary
// that readers taking a lone CR for a line end (Python's email package)
// split otherwise than RFC 2046 and RawReader: a delimiter line whose
// transport padding holds a CR ("--boundary\r\r\n": such a reader ends
// the delimiter at the first CR and takes the CRLF for the end of an
// empty part header), or a preamble holding the boundary after a bare CR
// (where such a reader starts a part RawReader never returns). Signed
// content must be read one way only, so a verifier refuses it.
func (m *RawReader) Ambiguous() bool { return m.ambiguous }

// Epilogue returns a reader of what follows the close delimiter line (the
// epilogue, RFC 2046 section 5.1.1), once NextPart has returned io.EOF.
func (m *RawReader) Epilogue() io.Reader { return m.br }

func (m *RawReader) skipPreamble() error {
	midLine := false
	crDash := append([]byte{'\r'}, m.dash...)
	var tail []byte // the end of the previous piece of a long line
	for {
		line, err := m.br.ReadSlice('\n')
		if !m.ambiguous && (bytes.Contains(line, crDash) || len(tail) > 0 && bytes.Contains(append(tail, line[:min(len(line), len(crDash))]...), crDash)) {
			m.ambiguous = true
		}
		tail = append(tail[:0], line[max(0, len(line)-len(crDash)+1):]...)
		if !midLine && len(line) > 0 {
			if closing, ok := m.delimiter(line); ok {
				if closing {
					m.done = true
					return io.EOF
				}
				return nil
			}
		}
		midLine = errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !midLine {
			if err == io.EOF {
				return fmt.Errorf("pgpmime: no boundary delimiter: %w", ErrMalformed)
			}
			return err
		}
	}
}

// delimiter reports whether line is a delimiter line of this multipart,
// and whether it is the close delimiter.
func (m *RawReader) delimiter(line []byte) (closing, ok bool) {
	if !bytes.HasPrefix(line, m.dash) {
		return false, false
	}
	rest := line[len(m.dash):]
	if bytes.HasPrefix(rest, []byte("--")) {
		closing = true
		rest = rest[2:]
	}
	// Only transport padding (linear white space) may follow.
	if len(bytes.TrimRight(rest, " \t\r\n")) != 0 {
		return false, false
	}
	pad := bytes.TrimSuffix(bytes.TrimSuffix(rest, []byte("\n")), []byte("\r"))
	if bytes.IndexByte(pad, '\r') >= 0 {
		m.ambiguous = true
	}
	return closing, true
}

type rawPart struct {
	m       *RawReader
	pending []byte // line break held back: it belongs to a delimiter if one follows
	head    []byte // the released line break, returned before chunk
	chunk   []byte // bytes ready to return: a slice of m.br's buffer, valid until its next read
	pend    [2]byte
	out     [2]byte
	midLine bool // the previous read ended inside a long line
	end     bool
	closing bool
	err     error
}

func (p *rawPart) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if len(p.head) > 0 {
			k := copy(b[n:], p.head)
			p.head = p.head[k:]
			n += k
			continue
		}
		if len(p.chunk) == 0 {
			if p.end {
				break
			}
			if p.err != nil {
				if n > 0 {
					return n, nil
				}
				return 0, p.err
			}
			p.fill()
			continue
		}
		k := copy(b[n:], p.chunk)
		p.chunk = p.chunk[k:]
		n += k
	}
	if n == 0 && p.end {
		return 0, io.EOF
	}
	return n, nil
}

// fill makes the next bytes of the part ready: every complete line already
// buffered up to the first that could be a delimiter, or else one line (or
// a piece of a long one).
func (p *rawPart) fill() {
	if !p.midLine && p.fillLines() {
		return
	}
	line, err := p.m.br.ReadSlice('\n')
	if !p.midLine && len(line) > 0 {
		if closing, ok := p.m.delimiter(line); ok {
			p.m.endLF = len(p.pending) == 1
			p.end, p.closing, p.pending = true, closing, nil
			return
		}
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		p.setChunk(line, nil)
		p.midLine = true
		return
	}
	p.midLine = false
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("pgpmime: message ends before the closing boundary (truncated?): %w", ErrMalformed)
		}
		p.err = err
		p.setChunk(line, nil)
		return
	}
	body, brk := splitBreak(line)
	p.setChunk(body, brk)
}

// fillLines is the fast path of fill, at the start of a line: it takes
// the complete lines already buffered, up to the first one that starts
// with the delimiter's "--boundary" (which the slow path then checks), in
// one chunk without copying. It reports whether it found any.
func (p *rawPart) fillLines() bool {
	br := p.m.br
	buf, _ := br.Peek(br.Buffered())
	end := bytes.LastIndexByte(buf, '\n') + 1
	if end == 0 || bytes.HasPrefix(buf, p.m.dash) {
		return false
	}
	lines := buf[:end]
	// Look for the dashes rather than for line breaks: base64 has none,
	// so the search runs through a whole chunk at vector speed.
	for off := 0; ; {
		i := bytes.Index(lines[off:], p.m.dash)
		if i < 0 {
			break
		}
		if i += off; lines[i-1] == '\n' { // i > 0: buf does not start with dash
			lines = lines[:i]
			break
		}
		off = i + 1
	}
	body, brk := splitBreak(lines)
	p.setChunk(body, brk)
	br.Discard(len(lines))
	return true
}

// setChunk makes the held-back line break plus body the next bytes to
// return, and holds back brk. body is not copied: it must stay valid until
// the chunk is read.
func (p *rawPart) setChunk(body, brk []byte) {
	p.out = p.pend
	p.head = p.out[:len(p.pending)]
	p.chunk = body
	p.pending = p.pend[:copy(p.pend[:], brk)]
}

// splitBreak splits the line break (CRLF or LF) off line.
func splitBreak(line []byte) (body, brk []byte) {
	if bytes.HasSuffix(line, []byte("\r\n")) {
		return line[:len(line)-2], line[len(line)-2:]
	}
	if bytes.HasSuffix(line, []byte("\n")) {
		return line[:len(line)-1], line[len(line)-1:]
	}
	return line, nil
}
