package demomail

import (
	"bytes"
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// backend hands out one session per SMTP connection.
type backend struct{ s *System }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	select {
	case <-b.s.done:
		return nil, errClosed
	default:
	}
	return &session{s: b.s, conn: c}, nil
}

// session is one SMTP connection. It requires AUTH PLAIN (which go-smtp
// allows only inside TLS) before MAIL FROM.
type session struct {
	s     *System
	conn  *smtp.Conn
	user  string
	from  string
	rcpts []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		a, ok := ss.s.Account(username)
		if !ok || !constantTimeEqual(a.Password, password) {
			return smtp.ErrAuthFailed
		}
		ss.user = a.Address
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.user == "" {
		return smtp.ErrAuthRequired
	}
	if !strings.EqualFold(from, ss.user) {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: fmt.Sprintf("sender <%s> is not the signed-in account", from)}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.user == "" {
		return smtp.ErrAuthRequired
	}
	if _, ok := ss.s.Account(to); !ok {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
			Message: fmt.Sprintf("<%s>: the demo mail system only delivers to @%s mailboxes", to, Domain)}
	}
	ss.rcpts = append(ss.rcpts, strings.ToLower(to))
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if ss.user == "" || len(ss.rcpts) == 0 {
		return smtp.ErrAuthRequired
	}
	now := time.Now()
	id := ss.s.nextQueueID()
	tlsNote := ""
	if st, ok := ss.conn.TLSConnectionState(); ok {
		tlsNote = fmt.Sprintf("\r\n\t(using %s with cipher %s)", versionName(st.Version), tlsCipher(st.CipherSuite))
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "Return-Path: <%s>\r\n", ss.from)
	fmt.Fprintf(&buf, "Received: from %s by localhost (securesend demo) with ESMTPSA id %s%s;\r\n\t%s\r\n",
		ss.conn.Hostname(), id, tlsNote, now.Format(time.RFC1123Z))
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	if err := ss.s.deliver(ss.rcpts, buf.Bytes(), now); err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: err.Error()}
	}
	// A 250 carried in an SMTPError is how go-smtp lets a backend choose the
	// success text; the queue id in it is what the sender's confirmation shows.
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as " + id}
}

func (ss *session) Reset() {
	ss.from = ""
	ss.rcpts = nil
}

func (ss *session) Logout() error { return nil }

func versionName(v uint16) string { return tls.VersionName(v) }

func tlsCipher(id uint16) string { return tls.CipherSuiteName(id) }

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
