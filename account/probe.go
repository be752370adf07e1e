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
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/send"
)

// ServerReport is what Test found on one server.
type ServerReport struct {
	Address  string   `json:"address"`
	Security Security `json:"security"`
	// TLS is the negotiated session (empty when TLS failed).
	TLS TLSInfo `json:"tls"`
	// AuthMechanisms are the SASL mechanisms offered inside TLS.
	AuthMechanisms []string `json:"auth_mechanisms"`
	// SignedInWith is the mechanism that succeeded ("" when sign-in failed).
	SignedInWith string `json:"signed_in_with,omitempty"`
	// RequireTLS: the SMTP server offers REQUIRETLS (RFC 8689).
	RequireTLS bool `json:"requiretls,omitempty"`
	// IDLE: the IMAP server supports IDLE (RFC 2177).
	IDLE bool `json:"idle,omitempty"`
	// Error is the failure, if any, in plain language.
	Error string `json:"error,omitempty"`
}

// TestReport is the outcome of Test for both servers.
type TestReport struct {
	SMTP ServerReport  `json:"smtp"`
	IMAP *ServerReport `json:"imap,omitempty"`
}

// TestOptions are the optional parts of Test.
type TestOptions struct {
	// Timeout bounds each connection step; 30s when zero.
	Timeout time.Duration
	// LocalName is the EHLO name; "localhost" when empty.
	LocalName string
	// MinTLSVersion raises the lowest TLS version accepted (the
	// organisation policy's floor); TLS 1.2 is the minimum anyway.
	MinTLSVersion uint16
}

// Test connects to the account's SMTP and IMAP servers over enforced TLS,
// signs in, and reports the TLS version, the AUTH mechanisms, REQUIRETLS and
// IDLE support. It sends no mail and changes nothing on the servers. The
// error joins the failures of both servers; the report is complete either
// way.
func (a *Account) Test(ctx context.Context, secrets Secrets, opts TestOptions) (*TestReport, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.LocalName == "" {
		opts.LocalName = "localhost"
	}
	rep := &TestReport{}
	smtpErr := a.testSMTP(ctx, secrets, opts, &rep.SMTP)
	if smtpErr != nil {
		rep.SMTP.Error = smtpErr.Error()
	}
	var imapErr error
	if a.IMAP.Address != "" {
		rep.IMAP = &ServerReport{}
		imapErr = a.testIMAP(ctx, secrets, opts, rep.IMAP)
		if imapErr != nil {
			rep.IMAP.Error = imapErr.Error()
		}
	}
	return rep, errors.Join(smtpErr, imapErr)
}

func (a *Account) testSMTP(ctx context.Context, secrets Secrets, opts TestOptions, r *ServerReport) error {
	addr := a.SMTP.Address
	r.Address, r.Security = addr, a.SMTP.Security
	cfg, err := a.tlsConfig(a.SMTP.Host())
	if err != nil {
		return err
	}
	cfg.MinVersion = max(cfg.MinVersion, opts.MinTLSVersion)
	var state tls.ConnectionState
	cfg.VerifyConnection = func(cs tls.ConnectionState) error { state = cs; return nil }
	d := &net.Dialer{Timeout: opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: dial %s: %w: %w", addr, ErrUnreachable, err)
	}
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	conn.SetDeadline(time.Now().Add(opts.Timeout)) //nolint:errcheck // best effort
	var c *smtp.Client
	if a.SMTP.Security == StartTLS {
		// NewClientStartTLS fails when STARTTLS is not offered, before
		// anything but EHLO is sent.
		c, err = smtp.NewClientStartTLS(conn, cfg)
		if err != nil {
			conn.Close()
			return classifyTLS("smtp: starttls", addr, err)
		}
	} else {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return classifyTLS("smtp: tls", addr, err)
		}
		c = smtp.NewClient(tc)
	}
	defer c.Close()
	if err := c.Hello(opts.LocalName); err != nil {
		return classifyTLS("smtp: tls", addr, err)
	}
	if state.Version < tls.VersionTLS12 {
		return fmt.Errorf("smtp: %s: %w", addr, ErrTLSVersion)
	}
	r.TLS = tlsInfo(state)
	if ok, mechs := c.Extension("AUTH"); ok {
		r.AuthMechanisms = strings.Fields(strings.ToUpper(mechs))
		sort.Strings(r.AuthMechanisms)
	}
	r.RequireTLS, _ = c.Extension("REQUIRETLS")
	auth, err := a.Authenticator(ctx, secrets, addr)
	if err != nil {
		return err
	}
	sc, mech, err := auth(r.AuthMechanisms)
	if err != nil {
		return fmt.Errorf("smtp: %s: %w", addr, err)
	}
	if err := c.Auth(sc); err != nil {
		return authFailure(mech, addr, err)
	}
	r.SignedInWith = mech
	c.Quit() //nolint:errcheck // the test is over either way
	return nil
}

// authFailure is the error of a refused SMTP sign-in: ErrAuth and the
// server's reply (code, enhanced status code and text on one line, without
// control characters). A provider's known refusal of a password sign-in
// (PLAIN, LOGIN) also wraps the *send.ProviderRefusal, whose advice, naming
// the fix, comes first, as 'securesend send' says it.
func authFailure(mech, addr string, err error) error {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return fmt.Errorf("smtp: %s at %s: %w: %w", mech, addr, ErrAuth, err)
	}
	reply := send.Reply{Code: se.Code, Text: se.Message}
	if ec := se.EnhancedCode; ec != (smtp.EnhancedCode{}) && ec != smtp.NoEnhancedCode {
		reply.EnhancedCode = fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
	}
	if strings.EqualFold(mech, sasl.Plain) || strings.EqualFold(mech, sasl.Login) {
		if pr := send.ProviderRefusalFor(reply); pr != nil {
			return fmt.Errorf("smtp: %s at %s: %w: %w (server said: %s)", mech, addr, ErrAuth, pr, reply)
		}
	}
	return fmt.Errorf("smtp: %s at %s: %w (server said: %s)", mech, addr, ErrAuth, reply)
}

func (a *Account) testIMAP(ctx context.Context, secrets Secrets, opts TestOptions, r *ServerReport) error {
	r.Address, r.Security = a.IMAP.Address, a.IMAP.Security
	c, err := a.dialIMAPTLS(ctx, IMAPOptions{Timeout: opts.Timeout, MinTLSVersion: opts.MinTLSVersion})
	if err != nil {
		return err
	}
	r.TLS = c.TLS
	r.AuthMechanisms = authMechanisms(c.Client.Caps())
	if err := c.authenticate(ctx, a, secrets); err != nil {
		c.Client.Close()
		c.stop()
		return err
	}
	r.SignedInWith = c.Mechanism
	r.IDLE = c.Client.Caps().Has(imap.CapIdle)
	return c.Close()
}
