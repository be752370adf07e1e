package account

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
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

// IMAPOptions are the optional parts of DialIMAP.
type IMAPOptions struct {
	// Timeout bounds the dial and the TLS handshake; 30s when zero.
	Timeout time.Duration
	// Dial replaces the network dialer (tests, proxies).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MinTLSVersion raises the lowest TLS version accepted (the
	// organisation policy's, e.g. tls.VersionTLS13); never below TLS 1.2.
	MinTLSVersion uint16
}

// DialIMAP connects to the account's IMAP server with the same TLS rules as
// sending (TLS 1.2+, verified certificate; with STARTTLS, the upgrade must
// succeed before anything else) and signs in. The connection is closed when
// ctx ends.
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
		return nil, err
	}
	return c, nil
}

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
	conn.SetDeadline(time.Now().Add(timeout)) //nolint:errcheck // cleared below
	var client *imapclient.Client
	if a.IMAP.Security == StartTLS {
		client, err = imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: cfg})
		if err != nil {
			stop()
			conn.Close()
			return nil, classifyTLS("imap: starttls", addr, err)
		}
	} else {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			stop()
			conn.Close()
			return nil, classifyTLS("imap: tls", addr, err)
		}
		client = imapclient.New(tc, nil)
	}
	if err := client.WaitGreeting(); err != nil {
		stop()
		client.Close()
		return nil, fmt.Errorf("imap: greeting from %s: %w: %w", addr, ErrUnreachable, err)
	}
	conn.SetDeadline(time.Time{}) //nolint:errcheck // imapclient sets its own deadlines
	if state.Version == 0 {
		stop()
		client.Close()
		return nil, fmt.Errorf("imap: %s: %w", addr, ErrNoTLS)
	}
	if state.Version < tls.VersionTLS12 {
		stop()
		client.Close()
		return nil, fmt.Errorf("imap: %s: %w", addr, ErrTLSVersion)
	}
	return &IMAPConn{Client: client, TLS: tlsInfo(state), stop: stop}, nil
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
