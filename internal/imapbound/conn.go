// Package imapbound bounds what an IMAP server can make a client hold and
// how long it can make it wait, by wrapping the plaintext connection before
// the IMAP library sees it.
//
// go-imap v2 has no limit on the length of a response line or of a literal,
// and sets its own read deadlines (30 s per response, 5 min per literal)
// over any the caller set. A Conn follows the IMAP framing of RFC 9051
// (lines, and "{N}" literals) in both directions, and refuses:
//
//   - a line (outside literals) longer than Limits.MaxLine;
//   - a message body literal (in "* n FETCH (... BODY[...] {N}") larger
//     than Limits.MaxLiteral, and any other literal larger than MaxLine,
//     as soon as its size is announced, before a byte of it is read;
//   - silence longer than Limits.Timeout while a response is awaited: the
//     greeting, or the tagged completion of a command sent;
//   - more than Limits.MaxUntagged bytes of untagged responses other than
//     FETCH between two command completions (go-imap gathers some, such
//     as SEARCH results, in memory until the command completes; FETCH
//     responses are handed to the caller one at a time);
//   - anything after Limits.Deadline, the overall limit.
//
// The deadlines the IMAP library sets are ignored: the Conn sets its own
// before each read and write. While no response is awaited (the client is
// busy verifying a message it fetched), reads wait without an idle limit,
// still within the overall deadline. The IDLE command is not supported: a
// connection in IDLE counts as awaiting a response.
package imapbound

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// Defaults for the zero Limits.
const (
	DefaultMaxLine    = 64 << 10
	DefaultMaxLiteral = 64 << 20
	DefaultTimeout    = 30 * time.Second
	// DefaultMaxUntagged allows a SEARCH result of about 500,000 UIDs.
	DefaultMaxUntagged = 4 << 20
)

// Errors a Conn returns when a bound is crossed; they come wrapped in a
// *LimitError.
var (
	// ErrLineTooLong: the server sent a line longer than MaxLine.
	ErrLineTooLong = errors.New("the IMAP server sent a line longer than the limit")
	// ErrLiteralTooLarge: the server announced a literal larger than
	// allowed (MaxLiteral for a message, MaxLine for anything else).
	ErrLiteralTooLarge = errors.New("the IMAP server announced data larger than the limit")
	// ErrSilent: no byte arrived within Timeout while a response was
	// awaited.
	ErrSilent = errors.New("the IMAP server did not answer in time")
	// ErrUntaggedFlood: the server sent more than MaxUntagged bytes of
	// untagged responses (other than FETCH) before completing a command.
	ErrUntaggedFlood = errors.New("the IMAP server sent more unsolicited or gathered data than the limit")
	// ErrDeadline: the overall deadline passed.
	ErrDeadline = errors.New("the IMAP session took longer than its overall time limit")
)

// LimitError says which bound a connection crossed.
type LimitError struct {
	// Err is one of ErrLineTooLong, ErrLiteralTooLarge, ErrUntaggedFlood,
	// ErrSilent and ErrDeadline.
	Err error
	// Limit is the bound, in bytes or (for the time errors) nanoseconds.
	Limit int64
	// Size is the announced literal size, for ErrLiteralTooLarge.
	Size int64
	// Cause is the network error, for the time errors.
	Cause error
}

func (e *LimitError) Error() string {
	switch e.Err {
	case ErrLiteralTooLarge:
		return fmt.Sprintf("%v (%d bytes announced, limit %d)", e.Err, e.Size, e.Limit)
	case ErrLineTooLong:
		return fmt.Sprintf("%v of %d bytes", e.Err, e.Limit)
	case ErrUntaggedFlood:
		return fmt.Sprintf("%v (%d bytes before a command completed)", e.Err, e.Limit)
	case ErrSilent:
		return fmt.Sprintf("%v (nothing for %s)", e.Err, time.Duration(e.Limit))
	}
	return e.Err.Error()
}

// Unwrap returns Err and Cause.
func (e *LimitError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// Limits are the bounds of a Conn; a zero field takes its default.
type Limits struct {
	// MaxLine is the longest line outside literals; DefaultMaxLine when 0.
	MaxLine int64
	// MaxLiteral is the largest message body literal; DefaultMaxLiteral
	// when 0.
	MaxLiteral int64
	// MaxUntagged is the most bytes of untagged responses other than
	// FETCH between two tagged completions; DefaultMaxUntagged when 0.
	MaxUntagged int64
	// Timeout is the longest silence while a response is awaited;
	// DefaultTimeout when 0.
	Timeout time.Duration
	// Deadline is the overall limit; none when zero.
	Deadline time.Time
	// Greeted is true when the server's greeting was already read (after
	// a STARTTLS upgrade): the Conn then awaits nothing until a command
	// is sent.
	Greeted bool
}

// Conn is a net.Conn with the bounds of Limits. Its methods may be called
// from a reading and a writing goroutine at once, as net.Conn's.
type Conn struct {
	net.Conn
	lim Limits

	rmu sync.Mutex // the read side
	in  framer

	wmu sync.Mutex // the write side
	out framer

	mu       sync.Mutex
	greeting bool            // the greeting is awaited
	untagged int64           // bytes of untagged non-FETCH responses since the last completion
	pending  map[string]bool // tags of commands sent and not completed
	err      error           // the first bound crossed
}

// New wraps c, which carries plaintext IMAP (a TLS connection, or a
// cleartext one before STARTTLS).
func New(c net.Conn, lim Limits) *Conn {
	if lim.MaxLine <= 0 {
		lim.MaxLine = DefaultMaxLine
	}
	if lim.MaxLiteral <= 0 {
		lim.MaxLiteral = DefaultMaxLiteral
	}
	if lim.Timeout <= 0 {
		lim.Timeout = DefaultTimeout
	}
	if lim.MaxUntagged <= 0 {
		lim.MaxUntagged = DefaultMaxUntagged
	}
	return &Conn{Conn: c, lim: lim, greeting: !lim.Greeted, pending: map[string]bool{}}
}

// Err returns the bound the connection crossed first (a *LimitError), or
// nil. The IMAP library reports read errors as text; Err keeps their type.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Conn) fail(err *LimitError) error {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.Conn.Close()
	return err
}

// awaiting reports whether a response is due.
func (c *Conn) awaiting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.greeting || len(c.pending) > 0
}

// deadline is the deadline of the next read (awaiting) or write.
func (c *Conn) deadline(idle bool) time.Time {
	var d time.Time
	if idle {
		d = time.Now().Add(c.lim.Timeout)
	}
	if !c.lim.Deadline.IsZero() && (d.IsZero() || c.lim.Deadline.Before(d)) {
		d = c.lim.Deadline
	}
	return d
}

// timeoutErr turns a deadline error into a *LimitError.
func (c *Conn) timeoutErr(err error) error {
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		return err
	}
	if !c.lim.Deadline.IsZero() && !time.Now().Before(c.lim.Deadline) {
		return c.fail(&LimitError{Err: ErrDeadline, Cause: err})
	}
	return c.fail(&LimitError{Err: ErrSilent, Limit: int64(c.lim.Timeout), Cause: err})
}

// Read reads from the connection, checking the server's framing.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if err := c.Err(); err != nil {
		return 0, err
	}
	if err := c.Conn.SetReadDeadline(c.deadline(c.awaiting())); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if ferr := c.in.feed(p[:n], &c.lim, c.lineRead); ferr != nil {
		return 0, c.fail(ferr)
	}
	if err != nil {
		err = c.timeoutErr(err)
	}
	return n, err
}

// Write writes to the connection, noting the tags of the commands sent.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.Err(); err != nil {
		return 0, err
	}
	if err := c.Conn.SetWriteDeadline(c.deadline(true)); err != nil {
		return 0, err
	}
	// Note the tags before the bytes leave, so that the read deadline of
	// the reply is in place when it comes.
	c.out.feed(p, &Limits{MaxLine: 1 << 62, MaxLiteral: 1 << 62}, func(head []byte, _ int64) *LimitError { //nolint:errcheck // no limit on what we send
		c.lineWritten(head)
		return nil
	})
	n, err := c.Conn.Write(p)
	if err != nil {
		err = c.timeoutErr(err)
	}
	return n, err
}

// lineRead is called for each complete response the server sent, with
// its size (literals included).
func (c *Conn) lineRead(head []byte, size int64) *LimitError {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.greeting {
		c.greeting = false
		return nil
	}
	if tag, ok := tagOf(head); ok {
		delete(c.pending, tag)
		c.untagged = 0
		return nil
	}
	if isFetch(head) {
		return nil
	}
	c.untagged += size
	if c.untagged > c.lim.MaxUntagged {
		return &LimitError{Err: ErrUntaggedFlood, Limit: c.lim.MaxUntagged}
	}
	return nil
}

// isFetch reports whether head starts a "* n FETCH" response.
func isFetch(head []byte) bool {
	fields := bytes.Fields(head)
	return len(fields) >= 3 && string(fields[0]) == "*" && bytes.EqualFold(fields[2], []byte("FETCH"))
}

// lineWritten is called for each complete command line the client sent.
// A line without a space (a SASL response, DONE) is not a command.
func (c *Conn) lineWritten(head []byte) {
	if tag, ok := tagOf(head); ok {
		c.mu.Lock()
		c.pending[tag] = true
		c.mu.Unlock()
	}
}

// tagOf returns the first word of a line when a space follows it and it is
// not "*" or "+".
func tagOf(head []byte) (string, bool) {
	i := bytes.IndexByte(head, ' ')
	if i <= 0 {
		return "", false
	}
	tag := string(head[:i])
	return tag, tag != "*" && tag != "+"
}

// SetDeadline is ignored: the Conn sets its own deadlines (see the
// package doc).
func (c *Conn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline is ignored, see SetDeadline.
func (c *Conn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is ignored, see SetDeadline.
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

// headSize is how much of the start of a response is kept: enough for the
// tag, and for "* 4294967295 FETCH ".
const headSize = 64

// tailSize is how much of the end of a line is kept: enough for the
// literal announcement " BODY[...]<n> ~{n+}\r".
const tailSize = 40

// framer follows IMAP framing in one direction: lines, each possibly
// interrupted by literals.
type framer struct {
	literal int64 // bytes of the current literal still to come
	line    int64 // bytes of the current line segment so far
	size    int64 // bytes of the current response or command so far
	head    []byte
	tail    []byte
}

// feed consumes p. done is called with the start of each response or
// command and its size when its final CRLF has passed; an error from done
// is returned.
func (f *framer) feed(p []byte, lim *Limits, done func(head []byte, size int64) *LimitError) *LimitError {
	for len(p) > 0 {
		if f.literal > 0 {
			n := min(f.literal, int64(len(p)))
			f.literal -= n
			f.size += n
			p = p[n:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i+1]
		}
		f.line += int64(len(seg))
		f.size += int64(len(seg))
		if f.line > lim.MaxLine {
			return &LimitError{Err: ErrLineTooLong, Limit: lim.MaxLine}
		}
		if room := headSize - len(f.head); room > 0 {
			f.head = append(f.head, seg[:min(room, len(seg))]...)
		}
		f.tail = append(f.tail, seg...)
		if len(f.tail) > tailSize {
			f.tail = append(f.tail[:0], f.tail[len(f.tail)-tailSize:]...)
		}
		p = p[len(seg):]
		if i < 0 {
			continue
		}
		size, before, isLit := literalSize(f.tail)
		limit := lim.MaxLine
		if isLit && isBodyLiteral(f.head, before) {
			limit = lim.MaxLiteral
		}
		f.line, f.tail = 0, f.tail[:0]
		if !isLit {
			err := done(f.head, f.size)
			f.head, f.size = f.head[:0], 0
			if err != nil {
				return err
			}
			continue
		}
		if size < 0 || size > limit {
			return &LimitError{Err: ErrLiteralTooLarge, Limit: limit, Size: size}
		}
		f.literal = size
	}
	return nil
}

// literalSize parses the "{N}\r\n", "{N+}\r\n" or "~{N}\r\n" that ends a
// line announcing a literal, and returns what came before it. A quoted
// string cannot hold CR or LF, so a line ending so always announces one. -1
// is an unreadably large size.
func literalSize(tail []byte) (size int64, before []byte, ok bool) {
	t := bytes.TrimSuffix(bytes.TrimSuffix(tail, []byte("\n")), []byte("\r"))
	if !bytes.HasSuffix(t, []byte("}")) {
		return 0, nil, false
	}
	open := bytes.LastIndexByte(t, '{')
	if open < 0 {
		return 0, nil, false
	}
	digits := bytes.TrimSuffix(t[open+1:len(t)-1], []byte("+"))
	if len(digits) == 0 {
		return 0, nil, false
	}
	for _, b := range digits {
		if b < '0' || b > '9' {
			return 0, nil, false
		}
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return -1, t[:open], true
	}
	return n, t[:open], true
}

// isBodyLiteral reports whether the literal just announced is a message
// body or part: the response is "* n FETCH" and the literal follows a
// section ("BODY[...] {N}", "BODY[]<0> {N}", "BINARY[...] ~{N}").
func isBodyLiteral(head, before []byte) bool {
	fields := bytes.Fields(head)
	if len(fields) < 3 || string(fields[0]) != "*" || !bytes.EqualFold(fields[2], []byte("FETCH")) {
		return false
	}
	b := bytes.TrimSuffix(before, []byte("~"))
	b, ok := bytes.CutSuffix(b, []byte(" "))
	return ok && len(b) > 0 && (b[len(b)-1] == ']' || b[len(b)-1] == '>')
}
