package send

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// refusingBackend is a go-smtp server backend that answers every AUTH, or
// every MAIL, with a fixed reply: the real replies of Microsoft 365 and
// Google, through go-smtp's own server, so the client reads them as they
// come off the wire. (go-smtp's server writes the enhanced code on the
// last line only; Google's two-line replies carry it on both, so the
// tables below put it at the start of their first line themselves.)
type refusingBackend struct {
	mechs   []string
	authErr error // the reply to AUTH; nil: accepted
	mailErr error // the reply to MAIL; nil: accepted
}

func (b *refusingBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &refusingSession{b}, nil
}

type refusingSession struct{ b *refusingBackend }

func (s *refusingSession) AuthMechanisms() []string { return s.b.mechs }

func (s *refusingSession) Auth(string) (sasl.Server, error) { return refusingSASL{s.b.authErr}, nil }

func (s *refusingSession) Mail(string, *smtp.MailOptions) error { return s.b.mailErr }
func (s *refusingSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *refusingSession) Data(io.Reader) error                 { return errors.New("not reached") }
func (s *refusingSession) Reset()                               {}
func (s *refusingSession) Logout() error                        { return nil }

// refusingSASL ends the exchange at once with err (nil: success).
type refusingSASL struct{ err error }

func (r refusingSASL) Next([]byte) ([]byte, bool, error) { return nil, true, r.err }

// tokenClient is a minimal XOAUTH2 client: the token sign-in, to which a
// provider's "no passwords" advice must not be given.
type tokenClient struct{}

func (tokenClient) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=u\x01auth=Bearer t\x01\x01"), nil
}
func (tokenClient) Next([]byte) ([]byte, error)       { return nil, nil }
func tokenAuth([]string) (sasl.Client, string, error) { return tokenClient{}, "XOAUTH2", nil }

// TestProviderRefusals: the replies Microsoft 365 and Google really send
// when they refuse a password sign-in become an *Error of kind ErrAuth
// whose message names the fix and keeps the server's code and enhanced
// status code; a token sign-in, or the same code from another server,
// gets no such advice.
func TestProviderRefusals(t *testing.T) {
	smtpErr := func(code int, ec smtp.EnhancedCode, msg string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: msg}
	}
	tests := []struct {
		name     string
		authErr  error
		mailErr  error
		token    bool
		stage    string
		provider string // "" for no advice
		advice   string
		said     string // the "server said" part, whole
	}{
		{
			name:     "Microsoft basic auth disabled",
			authErr:  smtpErr(535, smtp.EnhancedCode{5, 7, 139}, "Authentication unsuccessful, basic authentication is disabled. [SY4P282CA0012.AUSP282.PROD.OUTLOOK.COM 2026-12-31T23:59:59.000Z 08DC1234ABCD5678]"),
			stage:    "auth",
			provider: "Microsoft 365",
			advice:   "Microsoft 365 no longer accepts passwords for sending: sign in with `securesend account add --auth microsoft`",
			said:     "(server said: 535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [SY4P282CA0012.AUSP282.PROD.OUTLOOK.COM 2026-12-31T23:59:59.000Z 08DC1234ABCD5678])",
		},
		{
			name:     "Microsoft client submission at AUTH",
			authErr:  smtpErr(550, smtp.EnhancedCode{5, 7, 30}, "Basic authentication is not supported for Client Submission."),
			stage:    "auth",
			provider: "Microsoft 365",
			advice:   "Microsoft 365 no longer accepts passwords for sending: sign in with `securesend account add --auth microsoft`",
			said:     "(server said: 550 5.7.30 Basic authentication is not supported for Client Submission.)",
		},
		{
			name:     "Microsoft client submission at MAIL",
			mailErr:  smtpErr(550, smtp.EnhancedCode{5, 7, 30}, "Basic authentication is not supported for Client Submission."),
			stage:    "mail",
			provider: "Microsoft 365",
			advice:   "Microsoft 365 no longer accepts passwords for sending",
			said:     "(server said: 550 5.7.30 Basic authentication is not supported for Client Submission.)",
		},
		{
			name:     "Microsoft SMTP AUTH off for the tenant",
			authErr:  smtpErr(535, smtp.EnhancedCode{5, 7, 139}, "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."),
			stage:    "auth",
			provider: "Microsoft 365",
			advice:   "ask your Microsoft 365 administrator to turn it on for this mailbox, then sign in with `securesend account add --auth microsoft`",
			said:     "(server said: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.)",
		},
		{
			name:     "Google app password required",
			authErr:  smtpErr(534, smtp.EnhancedCode{5, 7, 9}, "5.7.9 Application-specific password required. For more information, go to\n https://support.google.com/mail/?p=InvalidSecondFactor d2e1a72fcca58-7a1b2c3d4e5sm1234567b3a.12 - gsmtp"),
			stage:    "auth",
			provider: "Google",
			advice:   "create an app password (https://myaccount.google.com/apppasswords) and use it instead, or sign in with `securesend account add --auth google`",
			said:     "(server said: 534 5.7.9 Application-specific password required. For more information, go to https://support.google.com/mail/?p=InvalidSecondFactor d2e1a72fcca58-7a1b2c3d4e5sm1234567b3a.12 - gsmtp)",
		},
		{
			name:     "Google password not accepted",
			authErr:  smtpErr(535, smtp.EnhancedCode{5, 7, 8}, "5.7.8 Username and Password not accepted. For more information, go to\n https://support.google.com/mail/?p=BadCredentials 41be03b00d2f7-b5e1c2d3f4asm123456a12.34 - gsmtp"),
			stage:    "auth",
			provider: "Google",
			advice:   "Google did not accept the user name and password: check them; if the account uses 2-Step Verification, Google needs an app password",
			said:     "(server said: 535 5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials 41be03b00d2f7-b5e1c2d3f4asm123456a12.34 - gsmtp)",
		},
		{
			name:    "another server's 5.7.8",
			authErr: smtpErr(535, smtp.EnhancedCode{5, 7, 8}, "Error: authentication failed: UGFzc3dvcmQ6"),
			stage:   "auth",
			advice:  "the mail server rejected the sign-in",
			said:    "(server said: 535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6)",
		},
		{
			name:    "a token refused for SMTP AUTH off",
			authErr: smtpErr(535, smtp.EnhancedCode{5, 7, 139}, "Authentication unsuccessful, basic authentication is disabled."),
			token:   true,
			stage:   "auth",
			advice:  "the mail server rejected the sign-in",
			said:    "(server said: 535 5.7.139 Authentication unsuccessful, basic authentication is disabled.)",
		},
		{
			name:    "a temporary 4.7.0",
			authErr: smtpErr(454, smtp.EnhancedCode{4, 7, 0}, "Temporary authentication failure"),
			stage:   "auth",
			advice:  "temporary failure",
			said:    "(server said: 454 4.7.0 Temporary authentication failure)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &refusingBackend{mechs: []string{sasl.Plain, sasl.Login, "XOAUTH2"}, authErr: tt.authErr, mailErr: tt.mailErr}
			opts := startServer(t, be, serverConfig{})
			if tt.token {
				opts.Auth = tokenAuth
			}
			_, err := Submit(context.Background(), opts, Envelope{From: "dr@clinic.example", To: []string{"rx@pharmacy.example"}}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			msg := err.Error()
			if se.Stage != tt.stage || !strings.Contains(msg, tt.advice) || !strings.HasSuffix(msg, tt.said) {
				t.Errorf("error %q\nwant stage %s, %q and the end %q", msg, tt.stage, tt.advice, tt.said)
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, testPassword) {
				t.Errorf("error has a newline or the password: %q", msg)
			}
			var ref *smtp.SMTPError
			if !errors.As(tt.authErr, &ref) && !errors.As(tt.mailErr, &ref) {
				t.Fatal("no reply in the table")
			}
			ec := fmt.Sprintf("%d.%d.%d", ref.EnhancedCode[0], ref.EnhancedCode[1], ref.EnhancedCode[2])
			if se.Reply.Code != ref.Code || se.Reply.EnhancedCode != ec {
				t.Errorf("reply %+v, want code %d, enhanced %s", se.Reply, ref.Code, ec)
			}
			var pr *ProviderRefusal
			switch {
			case tt.provider == "" && errors.As(err, &pr):
				t.Errorf("advice given: %+v", pr)
			case tt.provider != "" && (!errors.As(err, &pr) || pr.Provider != tt.provider || !errors.Is(err, ErrAuth) || !errors.Is(se.Kind, ErrAuth)):
				t.Errorf("want a ProviderRefusal of %s matching ErrAuth, got %v", tt.provider, err)
			}
		})
	}
}
