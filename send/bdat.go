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

// replyLimit fails a Read once left bytes have been read; bdat resets left
// before each reply. The bufio.Reader above reads ahead at most its size
// (4 KiB) beyond a reply, so one reply costs at most maxBDATReply plus
// that.
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

// bdat sends body with BDAT (RFC 3030 CHUNKING) instead of DATA: each
// chunk goes to the TLS connection as it is, after a "BDAT <size>" line,
// so the message is neither scanned nor dot-stuffed (go-smtp's DATA writer
// does both a byte at a time), and the TLS records are full. go-smtp's
// client has no BDAT, so the commands are written to tc, the connection
// under c, and the replies read from it; c is idle meanwhile (nothing of
// the server's is left in its buffer after the RCPT replies, and the
// server sends nothing after the last BDAT reply until QUIT).
//
// The same guarantees as data: if body cannot be read, or ctx ends, the
// connection is dropped before the chunk marked LAST, so the server
// discards what it got; an error after the LAST chunk was written is
// "data-reply" (the server may have accepted the message).
func (s *submission) bdat(ctx context.Context, c *smtp.Client, tc *tls.Conn, conn *deadlineConn, body io.Reader) error {
	window := 0 // chunks that may await their reply while the next is sent
	if ok, _ := c.Extension("PIPELINING"); ok {
		window = 1
	}
	limit := &replyLimit{r: tc}
	replies := textproto.NewReader(bufio.NewReaderSize(limit, 4096))
	cw := &countingWriter{w: tc, conn: conn, timeout: s.timeout, progress: s.opts.Progress}
	buf := make([]byte, bdatChunk)
	cmd := make([]byte, 0, 32)
	pending, last := 0, false
	// reply reads the reply to the oldest chunk awaiting it.
	reply := func() (string, error) {
		if err := conn.SetDeadline(time.Now().Add(s.timeout)); err != nil {
			return "", err
		}
		pending--
		limit.left = maxBDATReply
		_, msg, err := replies.ReadResponse(250)
		var te *textproto.Error
		if errors.As(err, &te) {
			return "", smtpError(te)
		}
		return msg, err
	}
	for !last {
		n, rerr := io.ReadFull(body, buf)
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			last = true
		case rerr != nil:
			c.Close() // no LAST chunk: the server must discard the message
			if ctx.Err() != nil {
				return s.fail(ctx, "data", rerr)
			}
			return &Error{Kind: ErrInvalidMessage, Stage: "data", Server: s.opts.Server, Result: s.res, Err: rerr}
		}
		cmd = strconv.AppendInt(append(cmd[:0], "BDAT "...), int64(n), 10)
		if last {
			cmd = append(cmd, " LAST"...)
		}
		cmd = append(cmd, "\r\n"...)
		if err := conn.SetDeadline(time.Now().Add(s.timeout)); err != nil {
			c.Close()
			return s.fail(ctx, "data", err)
		}
		if _, err := tc.Write(cmd); err != nil {
			c.Close()
			return s.fail(ctx, "data", err)
		}
		if _, err := cw.Write(buf[:n]); err != nil {
			c.Close()
			return s.fail(ctx, "data", err)
		}
		pending++
		for pending > window || (last && pending > 0) {
			final := last && pending == 1 // the reply to the LAST chunk
			msg, err := reply()
			if err != nil {
				c.Close()
				var se *smtp.SMTPError
				if last && !conn.writeFailed() && (final || !errors.As(err, &se)) {
					// Every chunk, LAST included, was handed over: this
					// is the server's verdict on the message, or a
					// failure after which it may have accepted it.
					return s.fail(ctx, "data-reply", err)
				}
				return s.fail(ctx, "data", err)
			}
			if last && pending == 0 {
				s.res.Size = cw.n
				s.res.Reply = parseReply(250, msg)
				s.res.QueueID = queueID(s.res.Reply.Text)
			}
		}
	}
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
