package account

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/securesend/securesend/internal/imapbound"
)

// IMAPConn is an authenticated IMAP connection to an account's mailbox.
// Close it when done.
type IMAPConn struct {
	// Client is the go-imap client, in the authenticated state.
	Client *imapclient.Client
	// TLS describes the negotiated session.
	TLS TLSInfo
	// Mechanism is the SASL mechanism used ("LOGIN" for the LOGIN command).
	Mechanism string
	stop      func() bool
	bound     *imapbound.Conn
}

// Close logs out and closes the connection.
func (c *IMAPConn) Close() error {
	defer c.stop()
	if err := c.Client.Logout().Wait(); err != nil {
		c.Client.Close()
		return nil //nolint:nilerr // the server may drop the connection on LOGOUT; nothing to report.
	}
	return c.Client.Close()
}

// Err returns why the connection was cut, when a bound of IMAPOptions was
// crossed (a *imapbound.LimitError: a line or message too large, a server
// silent too long, the overall deadline), or nil. go-imap reports these
// as text only.
func (c *IMAPConn) Err() error { return c.bound.Err() }

// IMAPOptions are the optional parts of DialIMAP.
type IMAPOptions struct {
	// Timeout bounds the dial, the TLS handshake, and each wait for the
	// server (the greeting, and each response while one is due); 30s
	// when zero. The overall limit is ctx's deadline.
	Timeout time.Duration
	// MaxMessageSize is the largest message (IMAP literal) accepted, in
	// bytes; imapbound.DefaultMaxLiteral (64 MiB) when zero. A server that
	// announces a larger one is disconnected before sending it. Lines are
	// limited to imapbound.DefaultMaxLine (64 KiB).
	MaxMessageSize int64
	// Dial replaces the network dialer (tests, proxies).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MinTLSVersion raises the lowest TLS version accepted (the
	// organisation policy's, e.g. tls.VersionTLS13); never below TLS 1.2.
	MinTLSVersion uint16
}

// DialIMAP connects to the account's IMAP server with the same TLS rules as
// sending (TLS 1.2+, verified certificate; with STARTTLS, the upgrade must
// succeed before anything else) and signs in. The connection is closed when
// ctx ends, and everything the server sends is bounded (see IMAPOptions and
// package imapbound), before TLS too.
func (a *Account) DialIMAP(ctx context.Context, secrets Secrets, opts IMAPOptions) (*IMAPConn, error) {
	if a.IMAP.Address == "" {
		return nil, fmt.Errorf("account %s: no IMAP server is configured", a.Name)
	}
	c, err := a.dialIMAPTLS(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := c.authenticate(ctx, a, secrets); err != nil {
		c.Client.Close()
		c.stop()
		return nil, c.boundErr(err)
	}
	return c, nil
}

// boundErr puts the bound crossed, if any, in front of err.
func (c *IMAPConn) boundErr(err error) error {
	if berr := c.bound.Err(); berr != nil && !errors.Is(err, berr) {
		return fmt.Errorf("%w (%w)", berr, err)
	}
	return err
}

// greetedConn is a bounded connection after a STARTTLS upgrade, which
// go-imap reads from the start: it gets a greeting first, as it expects,
// since the real one came before the upgrade.
type greetedConn struct {
	*imapbound.Conn
	r io.Reader
}

func (g *greetedConn) Read(p []byte) (int, error) { return g.r.Read(p) }

// dialIMAPTLS connects and sets up TLS, without signing in.
func (a *Account) dialIMAPTLS(ctx context.Context, opts IMAPOptions) (*IMAPConn, error) {
	addr := a.IMAP.Address
	cfg, err := a.tlsConfig(a.IMAP.Host())
	if err != nil {
		return nil, err
	}
	cfg.MinVersion = max(cfg.MinVersion, opts.MinTLSVersion)
	var state tls.ConnectionState
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		state = cs // called after the certificate was verified
		return nil
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	dial := opts.Dial
	if dial == nil {
		d := &net.Dialer{Timeout: timeout}
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("imap: dial %s: %w: %w", addr, ErrUnreachable, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*IMAPConn, error) {
		stop()
		conn.Close()
		return nil, err
	}
	lim := imapbound.Limits{MaxLiteral: opts.MaxMessageSize, Timeout: timeout}
	lim.Deadline, _ = ctx.Deadline()
	handshake := func() (*tls.Conn, error) {
		hsDeadline := time.Now().Add(timeout)
		if !lim.Deadline.IsZero() && lim.Deadline.Before(hsDeadline) {
			hsDeadline = lim.Deadline
		}
		conn.SetDeadline(hsDeadline) //nolint:errcheck // the bounded conn sets its own after
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		conn.SetDeadline(time.Time{}) //nolint:errcheck // see above
		return tc, nil
	}
	var (
		client *imapclient.Client
		bound  *imapbound.Conn
	)
	if a.IMAP.Security == StartTLS {
		plain := imapbound.New(conn, lim)
		if err := imapStartTLS(plain); err != nil {
			if errors.Is(err, ErrNoTLS) || errors.Is(err, errInjected) {
				return fail(fmt.Errorf("imap: starttls %s: %w", addr, err))
			}
			return fail(fmt.Errorf("imap: starttls %s: %w: %w", addr, ErrUnreachable, err))
		}
		tc, err := handshake()
		if err != nil {
			return fail(classifyTLS("imap: starttls", addr, err))
		}
		lim.Greeted = true
		bound = imapbound.New(tc, lim)
		greeting := strings.NewReader("* OK TLS established\r\n")
		client = imapclient.New(&greetedConn{Conn: bound, r: io.MultiReader(greeting, bound)}, nil)
	} else {
		tc, err := handshake()
		if err != nil {
			return fail(classifyTLS("imap: tls", addr, err))
		}
		bound = imapbound.New(tc, lim)
		client = imapclient.New(bound, nil)
	}
	c := &IMAPConn{Client: client, stop: stop, bound: bound}
	if err := client.WaitGreeting(); err != nil {
		client.Close()
		return fail(fmt.Errorf("imap: greeting from %s: %w: %w", addr, ErrUnreachable, c.boundErr(err)))
	}
	if state.Version == 0 {
		client.Close()
		return fail(fmt.Errorf("imap: %s: %w", addr, ErrNoTLS))
	}
	if state.Version < tls.VersionTLS12 {
		client.Close()
		return fail(fmt.Errorf("imap: %s: %w", addr, ErrTLSVersion))
	}
	c.TLS = tlsInfo(state)
	return c, nil
}

// authMechanisms lists the AUTH= capabilities.
func authMechanisms(caps imap.CapSet) []string {
	var mechs []string
	for c := range caps {
		if m, ok := strings.CutPrefix(string(c), "AUTH="); ok {
			mechs = append(mechs, m)
		}
	}
	sort.Strings(mechs)
	return mechs
}

func (c *IMAPConn) authenticate(ctx context.Context, a *Account, secrets Secrets) error {
	addr := a.IMAP.Address
	caps := c.Client.Caps()
	mechs := authMechanisms(caps)
	auth, err := a.Authenticator(ctx, secrets, addr)
	if err != nil {
		return err
	}
	if !a.IsOAuth() && !caps.Has(imap.CapLoginDisabled) && !hasMech(mechs, "PLAIN") {
		pw, err := password(a, secrets)
		if err != nil {
			return err
		}
		if err := c.Client.Login(a.Login(), pw).Wait(); err != nil {
			return fmt.Errorf("imap: login at %s: %w: %w", addr, ErrAuth, err)
		}
		c.Mechanism = "LOGIN"
		return nil
	}
	sc, mech, err := auth(mechs)
	if err != nil {
		return fmt.Errorf("imap: %s: %w", addr, err)
	}
	err = c.Client.Authenticate(sc)
	if err != nil && RetryRefusedToken(sc) {
		// The server refused the OAuth access token: once more with a
		// freshly refreshed one.
		if sc, mech, err = auth(mechs); err != nil {
			return fmt.Errorf("imap: %s: %w", addr, err)
		}
		err = c.Client.Authenticate(sc)
	}
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) {
			return fmt.Errorf("imap: %s at %s: %w (server said: %s)", mech, addr, ErrAuth, ie.Text)
		}
		return fmt.Errorf("imap: %s at %s: %w: %w", mech, addr, ErrAuth, err)
	}
	c.Mechanism = mech
	return nil
}
