package send

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Envelope is the SMTP envelope (RFC 5321): the reverse path and the
// forward paths, which need not match the header fields (Bcc).
type Envelope struct {
	From string
	To   []string
	// Size, when > 0, is declared with the SIZE extension (RFC 1870) if the
	// server offers it, so a server with a lower limit refuses at MAIL
	// instead of after the whole upload. It should not be below the real
	// size; Send uses an upper bound.
	Size int64
}

// DefaultTimeout bounds each network step when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// Submit submits body, a complete RFC 5322 message, over TLS-enforced SMTP
// and returns the transmission result.
//
// Order of events: connect (Options.Dial or a TCP dialer), TLS (implicit,
// or STARTTLS which must be offered), EHLO inside TLS, check of the
// negotiated version and of REQUIRETLS, AUTH (only ever inside TLS), MAIL
// (with REQUIRETLS when the server offers it), RCPT for every recipient,
// DATA (or BDAT with CHUNKING) streaming body, Options.BeforeCommit (the
// commit point), and the end of data (the final "." or "BDAT 0 LAST").
// If any TLS step fails, nothing else is sent. If the body cannot be read,
// ctx ends or BeforeCommit fails before the end of data, the connection is
// dropped without it, so the server discards the partial message.
//
// Every error is an *Error wrapping one of the Err* kinds, except
// ErrInvalidMessage for a bad envelope or an unreadable body. When the
// server accepted the message for some recipients but not all, Submit
// returns the Result and an *Error of kind ErrRecipientsRejected. Each
// network step is bounded by Options.Timeout; ctx bounds the whole
// submission and cancelling it aborts it at once.
func Submit(ctx context.Context, opts Options, env Envelope, body io.Reader) (*Result, error) {
	host, _, err := net.SplitHostPort(opts.Server)
	if err != nil || host == "" {
		return nil, fmt.Errorf("send: server %q must be host:port: %w", opts.Server, ErrInvalidMessage)
	}
	if env.From == "" || len(env.To) == 0 {
		return nil, fmt.Errorf("send: the envelope needs a sender and at least one recipient: %w", ErrInvalidMessage)
	}
	for _, a := range append([]string{env.From}, env.To...) {
		if a == "" || strings.ContainsAny(a, "\r\n<> ") || hasControl(a) {
			return nil, fmt.Errorf("send: envelope address %q is not valid: %w", a, ErrInvalidMessage)
		}
	}
	s := &submission{opts: opts, env: env, host: host}
	s.init()
	return s.run(ctx, body)
}

// submission is the state of one Submit call.
type submission struct {
	opts    Options
	env     Envelope
	host    string
	timeout time.Duration
	now     func() time.Time
	res     *Result

	// passwordAuth: the sign-in was (being) made with a password (PLAIN
	// or LOGIN), so a provider's refusal of passwords applies.
	passwordAuth bool
}

func (s *submission) init() {
	s.timeout = s.opts.Timeout
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	s.now = s.opts.Now
	if s.now == nil {
		s.now = time.Now
	}
	sec := "tls"
	if s.opts.Security == StartTLS {
		sec = "starttls"
	}
	s.res = &Result{Server: s.opts.Server, Security: sec, Started: s.now()}
}

// fail builds the *Error for a failure at stage, classifying err.
func (s *submission) fail(ctx context.Context, stage string, err error) *Error {
	e := &Error{Stage: stage, Server: s.opts.Server, Err: err}
	if s.res.TLS.Version != "" {
		e.Result = s.res
	}
	if ctx.Err() != nil {
		e.Kind = ErrTemporary
		e.Err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
		return e
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e.Reply = replyOf(se)
		e.Err = nil
		switch {
		case stage == "starttls":
			e.Kind = ErrNoTLS
		case se.Code/100 == 4:
			e.Kind = ErrTemporary
		case stage == "auth":
			e.Kind = ErrAuth
		default:
			e.Kind = ErrPermanent
		}
		// Microsoft answers a password sign-in with 5.7.30 at AUTH or,
		// after accepting it, at MAIL; the advice names the fix.
		if s.passwordAuth && (stage == "auth" || stage == "mail") {
			if pr := ProviderRefusalFor(e.Reply); pr != nil {
				e.Kind, e.Err = ErrAuth, pr
			}
		}
		return e
	}
	if stage == "tls" {
		if k := tlsKind(err); k != nil {
			e.Kind = k
			return e
		}
	}
	e.Kind = ErrTemporary
	return e
}

func (s *submission) run(ctx context.Context, body io.Reader) (*Result, error) {
	cfg, err := tlsConfig(s.opts, s.host, s.now, nil)
	if err != nil {
		return nil, &Error{Kind: ErrCertificate, Stage: "tls", Server: s.opts.Server, Err: err}
	}

	dial := s.opts.Dial
	if dial == nil {
		d := &net.Dialer{}
		dial = d.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, s.timeout)
	raw, err := dial(dctx, "tcp", s.opts.Server)
	cancel()
	if err != nil {
		return nil, s.fail(ctx, "dial", err)
	}
	conn := &deadlineConn{Conn: raw, max: s.timeout}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, tc, err := s.connect(ctx, conn, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()

	cs := tc.ConnectionState()
	if !cs.HandshakeComplete {
		return nil, s.fail(ctx, "tls", errors.New("no TLS session"))
	}
	s.res.TLS = tlsInfo(cs, s.host)
	if cs.Version < minVersion(s.opts) {
		return nil, &Error{Kind: ErrTLSVersion, Stage: "tls", Server: s.opts.Server, Result: s.res,
			Err: fmt.Errorf("negotiated %s, at least %s is required", tls.VersionName(cs.Version), tls.VersionName(minVersion(s.opts)))}
	}

	requireTLS, _ := c.Extension("REQUIRETLS")
	if !requireTLS && s.opts.RequireTLS {
		return nil, &Error{Kind: ErrRequireTLS, Stage: "mail", Server: s.opts.Server, Result: s.res}
	}

	if s.opts.Auth != nil {
		if err := s.auth(c); err != nil {
			if ee, ok := err.(*Error); ok {
				return nil, ee
			}
			return nil, s.fail(ctx, "auth", err)
		}
	}

	if err := c.Mail(s.env.From, &smtp.MailOptions{RequireTLS: requireTLS, Size: s.env.Size}); err != nil {
		return nil, s.fail(ctx, "mail", err)
	}
	s.res.RequireTLS = requireTLS

	for _, rcpt := range s.env.To {
		// go-smtp returns no text for a successful RCPT; read it off the
		// wire. Only RCPT traffic is captured (never AUTH), in memory.
		capture := &replyCapture{}
		c.DebugWriter = capture
		err := c.Rcpt(rcpt, nil)
		c.DebugWriter = nil
		var se *smtp.SMTPError
		switch {
		case err == nil:
			s.res.Accepted = append(s.res.Accepted, RecipientResult{Address: rcpt, Reply: capture.reply(250)})
		case errors.As(err, &se):
			s.res.Rejected = append(s.res.Rejected, RecipientResult{Address: rcpt, Reply: replyOf(se)})
		default:
			return nil, s.fail(ctx, "rcpt", err)
		}
	}
	if len(s.res.Accepted) == 0 {
		kind := ErrTemporary
		for _, r := range s.res.Rejected {
			if r.Reply.Code/100 != 4 {
				kind = ErrPermanent
			}
		}
		return nil, &Error{Kind: kind, Stage: "rcpt", Server: s.opts.Server, Reply: s.res.Rejected[0].Reply, Result: s.res}
	}

	send := s.data
	if chunking, _ := c.Extension("CHUNKING"); chunking {
		send = s.bdat
	}
	if err := send(ctx, c, tc, conn, body); err != nil {
		return nil, err
	}
	_ = c.Quit()
	s.res.Finished = s.now()
	if len(s.res.Rejected) > 0 {
		return s.res, &Error{Kind: ErrRecipientsRejected, Stage: "rcpt", Server: s.opts.Server, Reply: s.res.Rejected[0].Reply, Result: s.res}
	}
	return s.res, nil
}

// connect sets up TLS (implicit, or STARTTLS) and says EHLO inside it. It
// returns go-smtp's client for the commands and the TLS connection under
// it, which bdat writes the message to directly.
//
// With STARTTLS, go-smtp's client sends EHLO and STARTTLS in the clear and
// reads the 220 reply; its TLS client over conn is not used (crypto/tls
// handshakes on first use, and the first client is dropped unused).
// connect makes its own TLS client over conn, handshakes, and gives
// go-smtp a second client over it that starts at EHLO (see tlsSession). A
// server that sent anything after its 220 reply in the clear (a STARTTLS
// injection) breaks the handshake: nothing the first client read ahead
// is ever used.
func (s *submission) connect(ctx context.Context, conn *deadlineConn, cfg *tls.Config) (*smtp.Client, *tls.Conn, error) {
	localName := s.opts.LocalName
	if localName == "" {
		localName = "localhost"
	}
	if s.opts.Security == StartTLS {
		if _, err := smtp.NewClientStartTLS(conn, cfg); err != nil {
			switch {
			case conn.sawStartTLS():
				return nil, nil, s.fail(ctx, "starttls", err)
			case strings.Contains(err.Error(), "doesn't support STARTTLS"):
				return nil, nil, &Error{Kind: ErrNoTLS, Stage: "starttls", Server: s.opts.Server}
			default:
				return nil, nil, s.fail(ctx, "greeting", err)
			}
		}
	}
	tc := tls.Client(conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, s.timeout)
	err := tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		return nil, nil, s.fail(ctx, "tls", err)
	}
	var c *smtp.Client
	if s.opts.Security == StartTLS {
		c = smtp.NewClient(&tlsSession{Conn: tc})
	} else {
		c = smtp.NewClient(tc)
	}
	c.CommandTimeout = s.timeout
	c.SubmissionTimeout = s.timeout
	if err := c.Hello(localName); err != nil {
		c.Close()
		return nil, nil, s.fail(ctx, "greeting", err)
	}
	return c, tc, nil
}

// tlsSession is the TLS connection after STARTTLS as go-smtp's client
// expects a new connection to look: it starts with a 220 greeting. The
// server greeted before STARTTLS and does not again (RFC 3207 section 4.2),
// so the first Read returns a 220 line made here, which go-smtp reads and
// drops before it sends EHLO; after that, every byte is the server's.
type tlsSession struct {
	net.Conn
	greeted bool
}

// sessionGreeting is what tlsSession's first Read returns.
const sessionGreeting = "220 TLS session established (STARTTLS)\r\n"

func (t *tlsSession) Read(p []byte) (int, error) {
	if !t.greeted {
		if len(p) < len(sessionGreeting) {
			return 0, io.ErrShortBuffer
		}
		t.greeted = true
		return copy(p, sessionGreeting), nil
	}
	return t.Conn.Read(p)
}

// auth authenticates with the mechanism the Authenticator picks.
func (s *submission) auth(c *smtp.Client) error {
	_, list := c.Extension("AUTH")
	mechs := strings.Fields(list)
	client, mech, err := s.opts.Auth(mechs)
	if err != nil {
		return &Error{Kind: ErrAuth, Stage: "auth", Server: s.opts.Server, Result: s.res, Err: err}
	}
	s.passwordAuth = strings.EqualFold(mech, sasl.Plain) || strings.EqualFold(mech, sasl.Login)
	if err := c.Auth(client); err != nil {
		// An OAuth access token the server refused is refreshed and tried
		// once more (see account.OAuthAuth).
		if r, ok := client.(interface{ TokenRefused() bool }); !ok || !r.TokenRefused() {
			return err
		}
		if client, mech, err = s.opts.Auth(mechs); err != nil {
			return &Error{Kind: ErrAuth, Stage: "auth", Server: s.opts.Server, Result: s.res, Err: err}
		}
		if err := c.Auth(client); err != nil {
			return err
		}
	}
	s.res.AuthMechanism = mech
	return nil
}

// data sends DATA and streams body, dot-stuffed (RFC 5321 section
// 4.5.2), to tc, the connection under c, through its own buffer: go-smtp's
// DATA writer cannot be flushed short of its final ".", and the commit
// point (commit) must come after every byte of the message has been
// written and before that ".". As in bdat, the command is written to tc
// and the replies read from it, and c is idle meanwhile (nothing of the
// server's is left in its buffer after the RCPT replies, and the server
// sends nothing after its reply to the final "." until QUIT).
func (s *submission) data(ctx context.Context, c *smtp.Client, tc *tls.Conn, conn *deadlineConn, body io.Reader) error {
	replies := newReplyReader(tc)
	if err := conn.SetDeadline(time.Now().Add(s.timeout)); err != nil {
		c.Close()
		return s.fail(ctx, "data", err)
	}
	if _, err := io.WriteString(tc, "DATA\r\n"); err != nil {
		c.Close()
		return s.fail(ctx, "data", err)
	}
	if _, _, err := replies.read(conn, s.timeout, 354); err != nil {
		c.Close()
		return s.fail(ctx, "data", err)
	}
	bw := bufio.NewWriterSize(tc, 32*1024)
	dw := textproto.NewWriter(bw).DotWriter()
	cw := &countingWriter{w: dw, conn: conn, timeout: s.timeout, progress: s.opts.Progress}
	buf := make([]byte, 32*1024)
	var lastByte byte
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			lastByte = buf[n-1]
			if _, err := cw.Write(buf[:n]); err != nil {
				c.Close() // no final dot: the server must discard the message
				return s.fail(ctx, "data", err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			c.Close()
			if ctx.Err() != nil {
				return s.fail(ctx, "data", rerr)
			}
			return &Error{Kind: ErrInvalidMessage, Stage: "data", Server: s.opts.Server, Result: s.res, Err: rerr}
		}
	}
	s.res.Size = cw.n
	// End the last line, as the dot writer would with the final ".", so
	// that only "." and its CRLF follow the commit point.
	var eol string
	switch lastByte {
	case '\n':
	case '\r':
		eol = "\n"
	default:
		eol = "\r\n"
	}
	if err := conn.SetDeadline(time.Now().Add(s.timeout)); err != nil {
		c.Close()
		return s.fail(ctx, "data", err)
	}
	if _, err := io.WriteString(dw, eol); err != nil {
		c.Close()
		return s.fail(ctx, "data", err)
	}
	if err := bw.Flush(); err != nil {
		c.Close()
		return s.fail(ctx, "data", err)
	}
	if err := s.commit(ctx, c); err != nil {
		return err
	}
	if err := conn.SetDeadline(time.Now().Add(s.timeout)); err != nil {
		c.Close()
		return s.fail(ctx, "data", err)
	}
	if err := dw.Close(); err != nil { // ".\r\n", flushed
		// The final "." did not go out whole (a TLS record the server
		// cannot decrypt is nothing to it): the message is discarded.
		c.Close()
		return s.fail(ctx, "data", err)
	}
	code, msg, err := replies.read(conn, s.timeout, 2)
	if err != nil {
		// Everything, final "." included, was handed over: the server
		// may have accepted the message even if its reply never came.
		c.Close()
		return s.fail(ctx, "data-reply", err)
	}
	s.res.Reply = parseReply(code, msg)
	s.res.QueueID = queueID(s.res.Reply.Text)
	return nil
}

// commit calls Options.BeforeCommit, the commit point, after every byte
// of the message and before the end of data. If it fails, the connection
// is dropped without the end of data: the server discards the message.
func (s *submission) commit(ctx context.Context, c *smtp.Client) error {
	if s.opts.BeforeCommit == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		c.Close()
		return s.fail(ctx, "data", err)
	}
	if err := s.opts.BeforeCommit(); err != nil {
		c.Close()
		return &Error{Kind: ErrTemporary, Stage: "data", Server: s.opts.Server, Result: s.res,
			Err: fmt.Errorf("the message was not completed, so the server discarded it, because the moment before completing it could not be recorded: %w", err)}
	}
	// Cancelled while the commit point was being recorded: stop here
	// rather than complete a message the caller gave up on.
	if err := ctx.Err(); err != nil {
		c.Close()
		return s.fail(ctx, "data", err)
	}
	return nil
}

// replyOf converts a go-smtp error to a Reply.
func replyOf(se *smtp.SMTPError) Reply {
	r := Reply{Code: se.Code, Text: se.Message}
	if ec := se.EnhancedCode; ec != (smtp.EnhancedCode{}) && ec != smtp.NoEnhancedCode {
		r.EnhancedCode = fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
	}
	return r
}

var enhancedCodeRE = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3}) `)

// parseReply splits an enhanced status code off a reply text.
func parseReply(code int, text string) Reply {
	r := Reply{Code: code, Text: text}
	if m := enhancedCodeRE.FindStringSubmatch(text); m != nil && strings.HasPrefix(m[1], strconv.Itoa(code/100)) {
		r.EnhancedCode = m[1]
		r.Text = text[len(m[0]):]
	}
	return r
}

var queueIDRE = regexp.MustCompile(`(?i)queued as ([A-Za-z0-9._-]+)`)

// queueID finds the queue identifier in a final reply, as Postfix
// ("Ok: queued as 4ABC123"), Exim and others write it.
func queueID(text string) string {
	if m := queueIDRE.FindStringSubmatch(text); m != nil {
		return strings.TrimRight(m[1], ".")
	}
	return ""
}

// deadlineConn caps every deadline go-smtp sets at max from now, and
// notes whether the STARTTLS command went out.
type deadlineConn struct {
	net.Conn
	max time.Duration

	mu       sync.Mutex
	startTLS bool
	read     int64 // bytes read from the server so far
}

// maxServerBytes bounds what one submission reads from the server: the TLS
// handshake (certificate chains of a few kilobytes) and replies of a few
// lines each. go-smtp's client reads a multi-line reply whole, however
// long, so without this bound a hostile server could keep it reading
// until memory runs out ("250-" lines without end).
const maxServerBytes = 4 << 20

// ErrServerTooMuch: the server sent more than maxServerBytes.
var ErrServerTooMuch = errors.New("the server sent more than 4 MiB of replies, which no mail server does; the connection was closed")

func (d *deadlineConn) Read(p []byte) (int, error) {
	d.mu.Lock()
	left := maxServerBytes - d.read
	d.mu.Unlock()
	if left <= 0 {
		return 0, ErrServerTooMuch
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := d.Conn.Read(p)
	d.mu.Lock()
	d.read += int64(n)
	d.mu.Unlock()
	return n, err
}

func (d *deadlineConn) SetDeadline(t time.Time) error {
	if limit := time.Now().Add(d.max); !t.IsZero() && t.After(limit) {
		t = limit
	}
	return d.Conn.SetDeadline(t)
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	d.mu.Lock()
	if !d.startTLS && len(p) >= 8 && strings.EqualFold(string(p[:8]), "STARTTLS") {
		d.startTLS = true
	}
	d.mu.Unlock()
	return d.Conn.Write(p)
}

func (d *deadlineConn) sawStartTLS() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.startTLS
}

// countingWriter counts the message bytes, reports progress and keeps a
// fresh write deadline while the body streams.
type countingWriter struct {
	w        io.Writer
	conn     *deadlineConn
	timeout  time.Duration
	progress func(int64)
	n        int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(c.n)
	}
	return n, err
}

// replyCapture collects the bytes of one command exchange (go-smtp's
// DebugWriter sees both directions) to recover the server's reply text.
type replyCapture struct {
	buf []byte
}

func (r *replyCapture) Write(p []byte) (int, error) {
	if len(r.buf) < 4096 {
		r.buf = append(r.buf, p[:min(len(p), 4096-len(r.buf))]...)
	}
	return len(p), nil
}

var replyLineRE = regexp.MustCompile(`^(\d{3})[ -](.*)$`)

// reply returns the last reply line with the given code, or a bare Reply
// with that code if there is none.
func (r *replyCapture) reply(code int) Reply {
	var text string
	found := false
	for _, line := range strings.Split(string(r.buf), "\n") {
		line = strings.TrimRight(line, "\r")
		if m := replyLineRE.FindStringSubmatch(line); m != nil && m[1] == strconv.Itoa(code) {
			text, found = m[2], true
		}
	}
	if !found {
		return Reply{Code: code}
	}
	return parseReply(code, text)
}
