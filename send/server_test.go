package send

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/internal/smtptest"
	"github.com/securesend/securesend/internal/testpki"
)

const (
	testUser     = "clinic"
	testPassword = "correct horse battery staple"
)

// backend is an in-process go-smtp backend that records what it saw.
type backend struct {
	mu      sync.Mutex
	auths   int // successful or not
	mails   int
	datas   int // DATA bodies fully received
	mailOpt smtp.MailOptions
	rcpts   []string
	last    []byte // last message, if keep
	lastSum string // SHA-256 of the last message
	lastLen int64

	keep     bool                                  // keep the message bytes (small tests)
	rcptErr  map[string]error                      // per-recipient reply
	dataErr  error                                 // reply after DATA; nil means default 250
	onMail   func()                                // called in MAIL
	onData   func(c *smtp.Conn, r io.Reader) error // replaces reading the data
	password string                                // accepted password; testPassword if ""
	cleanup  func()                                // run before the server closes
}

func (b *backend) counts() (auths, mails, datas int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.auths, b.mails, b.datas
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{b: b, c: c}, nil
}

type session struct {
	b *backend
	c *smtp.Conn
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.b.mu.Lock()
		defer s.b.mu.Unlock()
		s.b.auths++
		want := s.b.password
		if want == "" {
			want = testPassword
		}
		if username != testUser || password != want {
			return smtp.ErrAuthFailed
		}
		return nil
	}), nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.b.mu.Lock()
	s.b.mails++
	if opts != nil {
		s.b.mailOpt = *opts
	}
	s.b.rcpts = nil
	hook := s.b.onMail
	s.b.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if err := s.b.rcptErr[to]; err != nil {
		return err
	}
	s.b.rcpts = append(s.b.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if s.b.onData != nil {
		return s.b.onData(s.c, r)
	}
	h := sha256.New()
	var buf bytes.Buffer
	w := io.Writer(h)
	if s.b.keep {
		w = io.MultiWriter(h, &buf)
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.datas++
	s.b.last = buf.Bytes()
	s.b.lastSum = hex.EncodeToString(h.Sum(nil))
	s.b.lastLen = n
	return s.b.dataErr
}

// serverConfig says how to run a test server.
type serverConfig struct {
	implicit   bool        // TLS from the first byte; else STARTTLS
	noTLS      bool        // no TLS at all (STARTTLS not offered)
	tls        *tls.Config // server TLS config; a cert for 127.0.0.1 from ca if nil
	requireTLS bool        // advertise REQUIRETLS
	maxBytes   int64
}

// testCA is one CA per test binary run.
var testCA = sync.OnceValue(func() *testpki.CA {
	ca, err := testpki.NewCA("securesend send test CA")
	if err != nil {
		panic(err)
	}
	return ca
})

// startServer runs a go-smtp server for be on 127.0.0.1 and returns its
// address and client options trusting the test CA.
func startServer(t testing.TB, be smtp.Backend, sc serverConfig) Options {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.EnableREQUIRETLS = sc.requireTLS
	srv.MaxMessageBytes = sc.maxBytes
	srv.ErrorLog = discardLogger{}
	if !sc.noTLS {
		cfg := sc.tls
		if cfg == nil {
			leaf, err := testCA().Issue("127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			cfg = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
		}
		srv.TLSConfig = cfg
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if sc.implicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	// Not srv.Close: its race with a BDAT chunk in flight showed in
	// TestSubmitFaults (see smtptest).
	smtptest.Serve(t, srv, l)
	opts := Options{
		Server:  l.Addr().String(),
		RootCAs: testCA().Pool(),
		Auth:    PasswordAuth(testUser, testPassword),
	}
	if !sc.implicit {
		opts.Security = StartTLS
	}
	return opts
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// rawServer accepts connections on 127.0.0.1 and hands each to handle on
// its own goroutine (for replies go-smtp's server cannot produce). When
// the test ends it closes the listener and every open connection and
// waits for the handlers, so that none outlives its test.
func rawServer(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	return startRaw(t, handle).addr
}

// rawSrv is a running rawServer.
type rawSrv struct {
	t    testing.TB
	addr string

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // open connections
	active int                   // handlers running
	zero   chan struct{}         // closed while active is 0
}

func startRaw(t testing.TB, handle func(net.Conn)) *rawSrv {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawSrv{t: t, addr: l.Addr().String(), conns: map[net.Conn]struct{}{}, zero: make(chan struct{})}
	close(s.zero)
	accepting := make(chan struct{})
	t.Cleanup(func() {
		l.Close()
		<-accepting
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.idle()
	})
	go func() {
		defer close(accepting)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			if s.active == 0 {
				s.zero = make(chan struct{})
			}
			s.active++
			s.mu.Unlock()
			go func() {
				defer func() {
					c.Close()
					s.mu.Lock()
					delete(s.conns, c)
					if s.active--; s.active == 0 {
						close(s.zero)
					}
					s.mu.Unlock()
				}()
				handle(c)
			}()
		}
	}()
	return s
}

// idle waits until the handler of every connection accepted so far has
// returned, so what the server recorded is final: the client has closed
// the connection, or the handler hung up. The handlers in this package
// set a deadline on their connection, so the wait is bounded by it.
func (s *rawSrv) idle() {
	s.mu.Lock()
	zero := s.zero
	s.mu.Unlock()
	select {
	case <-zero:
	case <-time.After(time.Minute):
		s.t.Errorf("a connection handler of the test server is still running after a minute")
	}
}

type sasl_Client = sasl.Client

func newCA(t testing.TB) *testpki.CA {
	t.Helper()
	ca, err := testpki.NewCA("some other CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustLeaf(t testing.TB, ca *testpki.CA, hosts ...string) tls.Certificate {
	t.Helper()
	leaf, err := ca.Issue(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return leaf.TLS
}

func expiredLeaf(t testing.TB) tls.Certificate {
	t.Helper()
	leaf, err := testCA().IssueValid(time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return leaf.TLS
}
