package outbox_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/internal/smtptest"
	"github.com/securesend/securesend/internal/testpki"
	"github.com/securesend/securesend/send"
)

// reply is what the test server does with one message's DATA.
type reply int

const (
	accept   reply = iota // 250
	temp                  // 451 4.3.0
	perm                  // 554 5.7.1
	drop                  // read the data, then drop the connection without a reply
	tempRcpt              // 450 to RCPT TO
	cut                   // read 64 KiB of the data, then drop the connection mid-upload
	hugeTemp              // 450 4.2.1 to RCPT TO, a reply of 1 MB
	hugePerm              // 550 5.7.1 to RCPT TO, a reply of 1 MB
)

// hugeReplyText is a hostile server's reply of 1 MB: 1,160 lines of 900
// bytes (go-smtp's client takes lines up to 2,000 bytes, and any number).
var hugeReplyText = "Try again\n" + strings.Repeat(strings.Repeat("é", 450)+"\n", 1160)

// server is an in-process SMTP server with implicit TLS on 127.0.0.1 that
// answers DATA from a script and records what it accepted.
type server struct {
	t    testing.TB
	addr string
	ca   *testpki.CA
	leaf *testpki.Leaf

	mu       sync.Mutex
	halt     func()  // stops the running server; nil when down
	script   []reply // consumed one per message; accept when empty
	accepted [][]byte
	attempts int
	aborted  []int  // bytes received of each DATA that ended without the final "."
	onData   func() // called when DATA starts, before the body is read
}

func newServer(t testing.TB) *server {
	t.Helper()
	ca, err := testpki.NewCA("outbox test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, ca: ca, leaf: leaf}
	s.start("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

// start listens on addr (the old address after a stop).
func (s *server) start(addr string) {
	s.t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{s.leaf.TLS}, MinVersion: tls.VersionTLS12}
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after a stop
		if ln, err = tls.Listen("tcp", addr, cfg); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	srv := smtp.NewServer(s)
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 64 << 20
	halt := smtptest.Serve(s.t, srv, ln) // not srv.Close: see smtptest
	s.mu.Lock()
	s.halt, s.addr = halt, ln.Addr().String()
	s.mu.Unlock()
}

// stop closes the listener and every connection: the server is down.
func (s *server) stop() {
	s.mu.Lock()
	halt := s.halt
	s.halt = nil
	s.mu.Unlock()
	if halt != nil {
		halt()
	}
}

func (s *server) setScript(r ...reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = r
}

func (s *server) next() reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if len(s.script) == 0 {
		return accept
	}
	r := s.script[0]
	s.script = s.script[1:]
	return r
}

// attemptCount is the number of MAIL commands seen.
func (s *server) attemptCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// messages returns the accepted messages.
func (s *server) messages() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.accepted...)
}

// abortedUploads returns, for every DATA the client abandoned before the
// final ".", how many bytes had arrived.
func (s *server) abortedUploads() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.aborted...)
}

// messageIDs returns the Message-ID of every accepted message.
func (s *server) messageIDs() []string {
	var ids []string
	for _, m := range s.messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m))
		if err != nil {
			ids = append(ids, "unparsable")
			continue
		}
		ids = append(ids, msg.Header.Get("Message-Id"))
	}
	return ids
}

// submit delivers with send.Submit to this server, trusting its CA.
func (s *server) submit(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	opts := send.Options{Server: addr, RootCAs: s.ca.Pool(), Timeout: 10 * time.Second}
	return send.Submit(ctx, opts, env, body)
}

func (s *server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, c: c}, nil
}

type session struct {
	s     *server
	c     *smtp.Conn
	reply reply
}

func (ss *session) Reset()        {}
func (ss *session) Logout() error { return nil }
func (ss *session) Mail(string, *smtp.MailOptions) error {
	ss.reply = ss.s.next()
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	switch ss.reply {
	case hugeTemp:
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: hugeReplyText}
	case hugePerm:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: hugeReplyText}
	}
	if ss.reply == tempRcpt {
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "Mailbox busy, try later"}
	}
	return nil
}

func (ss *session) Data(r io.Reader) error {
	ss.s.mu.Lock()
	hook := ss.s.onData
	ss.s.mu.Unlock()
	if hook != nil {
		hook()
	}
	if ss.reply == cut {
		io.CopyN(io.Discard, r, 64<<10)
		ss.c.Conn().Close()
		return errors.New("cut")
	}
	b, err := io.ReadAll(r)
	if err != nil {
		// The client went away before the final ".": go-smtp's reader
		// fails, and the message is discarded.
		ss.s.mu.Lock()
		ss.s.aborted = append(ss.s.aborted, len(b))
		ss.s.mu.Unlock()
		return err
	}
	switch ss.reply {
	case temp:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	case perm:
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message refused by policy"}
	case drop:
		ss.c.Conn().Close()
		return errors.New("dropped")
	}
	ss.s.mu.Lock()
	ss.s.accepted = append(ss.s.accepted, b)
	ss.s.mu.Unlock()
	return nil
}
