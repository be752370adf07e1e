package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/send"
)

// TestAccountTestProviderRefusal: an account test against a server that
// refuses the password sign-in with a provider's real reply says what to
// do (the advice 'securesend send' gives) and quotes the reply with its
// enhanced status code, on one line without control characters (go-smtp's
// server writes the enhanced code on the last line only; Google's two-line
// replies carry it on both, so the first line starts with it here);
// another server's refusal, or a
// token's, gets no advice.
func TestAccountTestProviderRefusal(t *testing.T) {
	tests := []struct {
		name     string
		reply    *smtp.SMTPError
		oauth    bool
		provider string // "" for no advice
		advice   string // in the error
		said     string // the error ends with it
	}{
		{
			name:     "Microsoft basic auth disabled",
			reply:    &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139}, Message: "Authentication unsuccessful, basic authentication is disabled. [SY4P282CA0012.AUSP282.PROD.OUTLOOK.COM]"},
			provider: "Microsoft 365",
			advice:   "Microsoft 365 no longer accepts passwords for sending: sign in with `securesend account add --auth microsoft`",
			said:     "(server said: 535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [SY4P282CA0012.AUSP282.PROD.OUTLOOK.COM])",
		},
		{
			name:     "Google app password",
			reply:    &smtp.SMTPError{Code: 534, EnhancedCode: smtp.EnhancedCode{5, 7, 9}, Message: "5.7.9 Application-specific password required. Learn more at\n https://support.google.com/mail/?p=InvalidSecondFactor \x1b[2J"},
			provider: "Google",
			advice:   "create an app password (https://myaccount.google.com/apppasswords)",
			said:     "(server said: 534 5.7.9 Application-specific password required. Learn more at https://support.google.com/mail/?p=InvalidSecondFactor [2J)",
		},
		{
			name:   "another server's 5.7.8",
			reply:  &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Error: authentication failed"},
			advice: "the mail server rejected the sign-in",
			said:   "(server said: 535 5.7.8 Error: authentication failed)",
		},
		{
			name:   "a token refused with Microsoft's words",
			reply:  &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139}, Message: "Authentication unsuccessful, basic authentication is disabled."},
			oauth:  true,
			advice: "the mail server rejected the sign-in",
			said:   "(server said: 535 5.7.139 Authentication unsuccessful, basic authentication is disabled.)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			srv := accounttest.StartSMTP(t, f.pki, f.creds, accounttest.Options{AuthReply: tt.reply})
			a := passwordAccount("refused")
			if tt.oauth {
				a = oauthAccount("refused", f.idp.URL)
			}
			a.SMTP = account.Server{Address: srv.Addr, Security: account.ImplicitTLS}
			a.IMAP = account.Server{}
			a.CAFile = f.pki.CAFile
			got := f.add(t, a)
			rep, err := got.Test(context.Background(), f.kc, account.TestOptions{})
			if !errors.Is(err, account.ErrAuth) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.advice) || !strings.HasSuffix(msg, tt.said) || rep.SMTP.Error != msg {
				t.Errorf("error %q (report %q)\nwant %q and the end %q", msg, rep.SMTP.Error, tt.advice, tt.said)
			}
			if strings.ContainsAny(msg, "\n\x1b") {
				t.Errorf("the server's reply reached the error raw: %q", msg)
			}
			mustNotLeak(t, msg, f.secrets()...)
			var pr *send.ProviderRefusal
			switch {
			case tt.provider == "" && errors.As(err, &pr):
				t.Errorf("advice %q given for %s", pr.Advice, tt.name)
			case tt.provider != "" && (!errors.As(err, &pr) || pr.Provider != tt.provider):
				t.Errorf("want a ProviderRefusal of %s, got %v", tt.provider, err)
			}
		})
	}
}
