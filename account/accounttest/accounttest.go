// Package accounttest runs real mail servers on 127.0.0.1 for tests of
// accounts, sending and the inbox: a go-smtp submission server and a go-imap
// in-memory IMAP server, over implicit TLS or STARTTLS with certificates
// from a private test CA, accepting PLAIN, XOAUTH2 and OAUTHBEARER against a
// password or an oauthtest authorization server. The servers record what
// clients did (sign-in attempts, mechanisms, changes to the mailbox) so that
// tests can assert that nothing was sent before TLS and nothing was
// altered.
package accounttest

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/account/oauth/oauthtest"
	"github.com/securesend/securesend/account/xoauth2"
	"github.com/securesend/securesend/internal/smtptest"
	"github.com/securesend/securesend/internal/testpki"
)

// PKI is a test CA with a certificate for 127.0.0.1 and localhost.
type PKI struct {
	CA *testpki.CA
	// Config is a server TLS configuration with the certificate.
	Config *tls.Config
	// CAFile is the CA certificate as a PEM file, for Account.CAFile.
	CAFile string
}

// NewPKI makes a CA, a server certificate and the CA file in a temporary
// directory.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	ca, err := testpki.NewCA("securesend test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return &PKI{CA: ca, Config: &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}, CAFile: f}
}

// Credentials is what the servers accept: User with Password (PLAIN,
// LOGIN) or with an access token that OAuth accepts (XOAUTH2,
// OAUTHBEARER).
type Credentials struct {
	User     string
	Password string
	OAuth    *oauthtest.Server
}

func (c Credentials) password(user, pass string) error {
	if c.Password == "" || user != c.User || pass != c.Password {
		return errAuth
	}
	return nil
}

func (c Credentials) token(user, tok string) error {
	if c.OAuth == nil || user != c.User {
		return errAuth
	}
	return c.OAuth.CheckAccessToken(user, tok)
}

var errAuth = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}

// Options choose how a server behaves.
type Options struct {
	// StartTLS serves a plaintext port upgraded with STARTTLS instead of
	// implicit TLS.
	StartTLS bool
	// NoTLS serves plaintext without offering STARTTLS (and accepts
	// credentials in the clear, so tests can check none are sent).
	NoTLS bool
	// MaxTLSVersion caps the server's TLS version (outdated servers).
	MaxTLSVersion uint16
	// TLSConfig replaces the PKI's configuration (wrong certificates).
	TLSConfig *tls.Config
	// Mechanisms are the SASL mechanisms offered; PLAIN, XOAUTH2 and
	// OAUTHBEARER when nil.
	Mechanisms []string
	// RequireTLS advertises REQUIRETLS (SMTP).
	RequireTLS bool
	// AuthReply, when set, answers every SMTP sign-in with this refusal
	// (a provider's, say "535 5.7.139 ...").
	AuthReply *smtp.SMTPError
}

func (o Options) mechanisms() []string {
	if o.Mechanisms == nil {
		return []string{sasl.Plain, xoauth2.Mechanism, sasl.OAuthBearer}
	}
	return o.Mechanisms
}

func (o Options) tlsConfig(p *PKI) *tls.Config {
	cfg := p.Config.Clone()
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	}
	if o.MaxTLSVersion != 0 {
		cfg.MinVersion = tls.VersionTLS10
		cfg.MaxVersion = o.MaxTLSVersion
	}
	return cfg
}

// Log records what clients did.
type Log struct {
	mu       sync.Mutex
	auths    []string // mechanism of every sign-in attempt (LOGIN for the command)
	ok       []string // mechanism of every successful sign-in
	changes  []string // mailbox-changing commands (IMAP)
	messages [][]byte // accepted messages (SMTP)
}

func (l *Log) attempt(mech string) { l.mu.Lock(); l.auths = append(l.auths, mech); l.mu.Unlock() }
func (l *Log) success(mech string) { l.mu.Lock(); l.ok = append(l.ok, mech); l.mu.Unlock() }
func (l *Log) change(cmd string)   { l.mu.Lock(); l.changes = append(l.changes, cmd); l.mu.Unlock() }

// Attempts lists the mechanisms of all sign-in attempts.
func (l *Log) Attempts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.auths...)
}

// SignIns lists the mechanisms of successful sign-ins.
func (l *Log) SignIns() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ok...)
}

// Changes lists commands that changed the mailbox (STORE, EXPUNGE, COPY,
// MOVE, DELETE, RENAME, APPEND by a client).
func (l *Log) Changes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.changes...)
}

// Messages returns the messages the SMTP server accepted.
func (l *Log) Messages() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][]byte(nil), l.messages...)
}

func listen(t testing.TB, o Options, p *PKI) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !o.StartTLS && !o.NoTLS {
		ln = tls.NewListener(ln, o.tlsConfig(p))
	}
	return ln
}

// SMTPServer is a running submission server.
type SMTPServer struct {
	Addr string
	Log
	sessions int           // open sessions; guarded by Log.mu
	ended    chan struct{} // closed and replaced when a session ends; guarded by Log.mu
}

// Idle waits until no SMTP session is open. A client killed after its
// final "." leaves its message in the server's socket; once Idle returns,
// that message is in Messages or was discarded, so a count taken then
// does not change behind the caller's back.
func (s *SMTPServer) Idle(ctx context.Context) error {
	for {
		s.mu.Lock()
		n, ended := s.sessions, s.ended
		s.mu.Unlock()
		if n <= 0 {
			return nil
		}
		select {
		case <-ended:
		case <-ctx.Done():
			return fmt.Errorf("accounttest: %d SMTP sessions still open: %w", n, ctx.Err())
		}
	}
}

// StartSMTP starts a submission server; it stops when the test ends.
func StartSMTP(t testing.TB, p *PKI, creds Credentials, o Options) *SMTPServer {
	t.Helper()
	s := &SMTPServer{ended: make(chan struct{})}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.sessions++
		s.mu.Unlock()
		return &smtpSession{srv: s, creds: creds, mechs: o.mechanisms(), reply: o.AuthReply}, nil
	})
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.EnableREQUIRETLS = o.RequireTLS
	if o.StartTLS && !o.NoTLS {
		srv.TLSConfig = o.tlsConfig(p)
	}
	srv.AllowInsecureAuth = o.NoTLS
	srv.ErrorLog = discard{}
	ln := listen(t, o, p)
	s.Addr = ln.Addr().String()
	smtptest.Serve(t, srv, ln) // not srv.Close: see smtptest
	return s
}

type discard struct{}

func (discard) Printf(string, ...any) {}
func (discard) Println(...any)        {}

type smtpSession struct {
	srv   *SMTPServer
	creds Credentials
	mechs []string
	authd bool
	reply *smtp.SMTPError // Options.AuthReply
}

func (s *smtpSession) AuthMechanisms() []string { return s.mechs }

// smtpSASL makes every failed exchange a 535 reply, as real submission
// servers answer (go-smtp would say 454 for other errors).
type smtpSASL struct{ sasl.Server }

func (s smtpSASL) Next(resp []byte) ([]byte, bool, error) {
	ch, done, err := s.Server.Next(resp)
	if err != nil {
		err = errAuth
	}
	return ch, done, err
}

// refusal ends a sign-in at once with Options.AuthReply.
type refusal struct{ err error }

func (r refusal) Next([]byte) ([]byte, bool, error) { return nil, true, r.err }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if s.reply != nil {
		s.srv.attempt(mech)
		return refusal{s.reply}, nil
	}
	srv, err := s.auth(mech)
	if err != nil {
		return nil, err
	}
	return smtpSASL{srv}, nil
}

func (s *smtpSession) auth(mech string) (sasl.Server, error) {
	s.srv.attempt(mech)
	done := func(err error) error {
		if err == nil {
			s.authd = true
			s.srv.success(mech)
		}
		return err
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return done(s.creds.password(user, pass)) }), nil
	case xoauth2.Mechanism:
		return xoauth2.NewServer(func(user, tok string) error { return done(s.creds.token(user, tok)) }), nil
	case sasl.OAuthBearer:
		return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if done(s.creds.token(o.Username, o.Token)) != nil {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			return nil
		}), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if !s.authd {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.messages = append(s.srv.messages, b)
	s.srv.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset() {}

// Logout ends the session: go-smtp calls it once per session, when its
// connection closes (after any DATA it was reading) or at STARTTLS.
func (s *smtpSession) Logout() error {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.sessions--
	close(s.srv.ended)
	s.srv.ended = make(chan struct{})
	return nil
}

// IMAPServer is a running IMAP server with one user and an INBOX.
type IMAPServer struct {
	Addr string
	Log
	user *imapmemserver.User
	mu   sync.Mutex
}

// internalPassword is the memserver user's password, used after a token
// check for the OAuth mechanisms.
const internalPassword = "accounttest-internal"

// StartIMAP starts an IMAP server for creds.User; it stops when the test
// ends.
func StartIMAP(t testing.TB, p *PKI, creds Credentials, o Options) *IMAPServer {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(creds.User, internalPassword)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	s := &IMAPServer{user: u}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &imapSession{Session: mem.NewSession(), srv: s, creds: creds, mechs: o.mechanisms()}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIdle: {}, imap.CapMove: {}},
		InsecureAuth: o.NoTLS,
		Logger:       discard{},
	}
	if o.StartTLS && !o.NoTLS {
		opts.TLSConfig = o.tlsConfig(p)
	}
	srv := imapserver.New(opts)
	ln := listen(t, o, p)
	s.Addr = ln.Addr().String()
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return s
}

// Deliver appends a message to the INBOX and returns its UID.
func (s *IMAPServer) Deliver(t testing.TB, raw []byte) imap.UID {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.user.Append("INBOX", literal{bytes.NewReader(raw)}, &imap.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.UID
}

// RecreateInbox deletes and recreates the INBOX, which gives it a new
// UIDVALIDITY, as a server restore or migration would.
func (s *IMAPServer) RecreateInbox(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := s.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
}

// Count returns the number of messages in mailbox.
func (s *IMAPServer) Count(t testing.TB, mailbox string) uint32 {
	t.Helper()
	st, err := s.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		t.Fatal(err)
	}
	return *st.NumMessages
}

// Status returns the INBOX's message and unseen counts.
func (s *IMAPServer) Status(t testing.TB) (messages, unseen uint32) {
	t.Helper()
	st, err := s.user.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true})
	if err != nil {
		t.Fatal(err)
	}
	return *st.NumMessages, *st.NumUnseen
}

type literal struct{ *bytes.Reader }

func (l literal) Size() int64 { return l.Reader.Size() }

type imapSession struct {
	imapserver.Session
	srv   *IMAPServer
	creds Credentials
	mechs []string
}

func (s *imapSession) Login(user, pass string) error {
	s.srv.attempt("LOGIN")
	if err := s.creds.password(user, pass); err != nil {
		return imapserver.ErrAuthFailed
	}
	s.srv.success("LOGIN")
	return s.Session.Login(user, internalPassword)
}

func (s *imapSession) AuthenticateMechanisms() []string { return s.mechs }

func (s *imapSession) Authenticate(mech string) (sasl.Server, error) {
	s.srv.attempt(mech)
	login := func(user string, err error) error {
		if err != nil {
			return imapserver.ErrAuthFailed
		}
		if err := s.Session.Login(user, internalPassword); err != nil {
			return err
		}
		s.srv.success(mech)
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return login(user, s.creds.password(user, pass)) }), nil
	case xoauth2.Mechanism:
		return xoauth2.NewServer(func(user, tok string) error { return login(user, s.creds.token(user, tok)) }), nil
	case sasl.OAuthBearer:
		return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if login(o.Username, s.creds.token(o.Username, o.Token)) != nil {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			return nil
		}), nil
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "unsupported mechanism"}
}

func (s *imapSession) Store(w *imapserver.FetchWriter, ns imap.NumSet, f *imap.StoreFlags, o *imap.StoreOptions) error {
	s.srv.change("STORE")
	return s.Session.Store(w, ns, f, o)
}

func (s *imapSession) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	s.srv.change("EXPUNGE")
	return s.Session.Expunge(w, uids)
}

func (s *imapSession) Copy(ns imap.NumSet, dest string) (*imap.CopyData, error) {
	s.srv.change("COPY")
	return s.Session.Copy(ns, dest)
}

func (s *imapSession) Move(w *imapserver.MoveWriter, ns imap.NumSet, dest string) error {
	s.srv.change("MOVE " + dest)
	return s.Session.(imapserver.SessionMove).Move(w, ns, dest)
}

func (s *imapSession) Delete(mbox string) error {
	s.srv.change("DELETE")
	return s.Session.Delete(mbox)
}

func (s *imapSession) Rename(mbox, to string, o *imap.RenameOptions) error {
	s.srv.change("RENAME")
	return s.Session.Rename(mbox, to, o)
}

func (s *imapSession) Append(mbox string, r imap.LiteralReader, o *imap.AppendOptions) (*imap.AppendData, error) {
	s.srv.change("APPEND")
	return s.Session.Append(mbox, r, o)
}
