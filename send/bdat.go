package send

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// bdatChunk is the size of a BDAT chunk. Each chunk costs one command and
// one reply; with PIPELINING the next chunk is sent before the reply to
// the previous one is read, so a round trip costs nothing while a chunk
// is in flight.
const bdatChunk = 1 << 20

// maxBDATReply bounds the bytes read for one reply to a BDAT chunk (RFC
// 5321 allows 512 per line). go-smtp's reader, which bdat bypasses, caps
// a line at 2000 bytes; without a cap a hostile server could make the
// client buffer an endless reply and keep it as the message's verdict.
const maxBDATReply = 64 << 10

// errReplyTooLong is returned for a reply longer than maxBDATReply.
var errReplyTooLong = errors.New("the server's reply to BDAT is too long")

// replyLimit fails a Read once left bytes have been read; replyReader
// resets left before each reply. The bufio.Reader above reads ahead at
// most its size (4 KiB) beyond a reply, so one reply costs at most
// maxBDATReply plus that.
type replyLimit struct {
	r    io.Reader
	left int
}

func (l *replyLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errReplyTooLong
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= n
	return n, err
}

// replyReader reads the server's replies to the commands data and bdat
// write to the TLS connection themselves, each bounded by maxBDATReply.
type replyReader struct {
	limit *replyLimit
	r     *textproto.Reader
}

func newReplyReader(tc *tls.Conn) *replyReader {
	limit := &replyLimit{r: tc}
	return &replyReader{limit: limit, r: textproto.NewReader(bufio.NewReaderSize(limit, 4096))}
}

// read reads one reply within timeout; a reply with another code than
// want is an *smtp.SMTPError.
func (rr *replyReader) read(conn *deadlineConn, timeout time.Duration, want int) (string, error) {
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	rr.limit.left = maxBDATReply
	_, msg, err := rr.r.ReadResponse(want)
	var te *textproto.Error
	if errors.As(err, &te) {
		return "", smtpError(te)
	}
	return msg, err
}

// bdat sends body with BDAT (RFC 3030 CHUNKING) instead of DATA: each
// chunk goes to the TLS connection as it is, after a "BDAT <size>" line,
// so the message is neither scanned nor dot-stuffed (go-smtp's DATA writer
// does both a byte at a time), and the TLS records are full. go-smtp's
// client has no BDAT, so the commands are written to tc, the connection
// under c, and the replies read from it; c is idle meanwhile (nothing of
// the server's is left in its buffer after the RCPT replies, and the
// server sends nothing after the last BDAT reply until QUIT).
//
// Every chunk of the message goes without LAST; once the server has
// accepted them all, the commit point (Options.BeforeCommit) comes, then
// the end of data, an empty "BDAT 0 LAST" (RFC 3030 section 2 allows a
// zero-length last chunk): the only thing that can be lost between the
// commit point and the server's verdict is that one short command.
//
// The same guarantees as data: if body cannot be read, ctx ends or the
// commit point fails, the connection is dropped before "BDAT 0 LAST", so
// the server discards what it got; an error after it was written is
// "data-reply" (the server may have accepted the message).
func (s *submission) bdat(ctx context.Context, c *smtp.Client, tc *tls.Conn, conn *deadlineConn, body io.Reader) error {
	window := 0 // chunks that may await their reply while the next is sent
	if ok, _ := c.Extension("PIPELINING"); ok {
		window = 1
	}
	replies := newReplyReader(tc)
	cw := &countingWriter{w: tc, conn: conn, timeout: s.timeout, progress: s.opts.Progress}
	buf := make([]byte, bdatChunk)
	cmd := make([]byte, 0, 32)
	pending := 0
	// reply reads the reply to the oldest chunk awaiting it.
	reply := func() (string, error) {
		pending--
		return replies.read(conn, s.timeout, 250)
	}
	// write sends one BDAT command and its chunk.
	write := func(chunk []byte, last bool) error {
		cmd = strconv.AppendInt(append(cmd[:0], "BDAT "...), int64(len(chunk)), 10)
		if last {
			cmd = append(cmd, " LAST"...)
		}
		cmd = append(cmd, "\r\n"...)
		if err := conn.SetDeadline(time.Now().Add(s.timeout)); err != nil {
			return err
		}
		if _, err := tc.Write(cmd); err != nil {
			return err
		}
		if len(chunk) > 0 {
			if _, err := cw.Write(chunk); err != nil {
				return err
			}
		}
		pending++
		return nil
	}
	for eof := false; !eof; {
		n, rerr := io.ReadFull(body, buf)
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			eof = true
		case rerr != nil:
			c.Close() // no LAST chunk: the server must discard the message
			if ctx.Err() != nil {
				return s.fail(ctx, "data", rerr)
			}
			return &Error{Kind: ErrInvalidMessage, Stage: "data", Server: s.opts.Server, Result: s.res, Err: rerr}
		}
		if n > 0 {
			if err := write(buf[:n], false); err != nil {
				c.Close()
				return s.fail(ctx, "data", err)
			}
		}
		// Every chunk is accepted before the commit point.
		for pending > window || (eof && pending > 0) {
			if _, err := reply(); err != nil {
				c.Close()
				return s.fail(ctx, "data", err)
			}
		}
	}
	s.res.Size = cw.n
	if err := s.commit(ctx, c); err != nil {
		return err
	}
	if err := write(nil, true); err != nil {
		// "BDAT 0 LAST" did not go out whole (a TLS record the server
		// cannot decrypt is nothing to it): the message is discarded.
		c.Close()
		return s.fail(ctx, "data", err)
	}
	msg, err := reply()
	if err != nil {
		// "BDAT 0 LAST" was handed over: this is the server's verdict on
		// the message, or a failure after which it may have accepted it.
		c.Close()
		return s.fail(ctx, "data-reply", err)
	}
	s.res.Reply = parseReply(250, msg)
	s.res.QueueID = queueID(s.res.Reply.Text)
	return nil
}

// smtpError converts a reply with an unexpected code, as net/textproto
// reports it, to the *smtp.SMTPError go-smtp returns for other commands,
// with the enhanced status code (RFC 3463) split off the text.
func smtpError(te *textproto.Error) *smtp.SMTPError {
	se := &smtp.SMTPError{Code: te.Code, EnhancedCode: smtp.NoEnhancedCode, Message: te.Msg}
	r := parseReply(te.Code, te.Msg)
	if r.EnhancedCode == "" {
		return se
	}
	var ec smtp.EnhancedCode
	for i, f := range strings.SplitN(r.EnhancedCode, ".", 3) {
		v, err := strconv.Atoi(f)
		if err != nil {
			return se
		}
		ec[i] = v
	}
	se.EnhancedCode, se.Message = ec, r.Text
	return se
}
