package app

import (
	"context"
	"errors"
	"github.com/securesend/securesend/internal/termsafe"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/send"
)

// TestExplainProviderRefusal sends from the Send tab through a real
// submission (send.Send over TLS) to an in-process server that refuses
// the password sign-in with a provider's reply: the problem shown, and
// the notification, say what to do (the ProviderRefusal's advice and
// where the app does it) and quote the server's reply with its enhanced
// status code on one line; another server's refusal gets no advice.
func TestExplainProviderRefusal(t *testing.T) {
	tests := []struct {
		name      string
		reply     *smtp.SMTPError
		wantTitle string
		want      []string // in the problem shown
		notWant   []string
	}{
		{
			name:      "Microsoft SMTP AUTH off",
			reply:     &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139}, Message: "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.\x1b[31m"},
			wantTitle: "Not sent: Microsoft 365 has sending from mail programs (Authenticated SMTP) turned off for this mailbox or organisation: ask your Microsoft 365 administrator to turn it on for this mailbox, then sign in with `securesend account add --auth microsoft`.",
			want: []string{
				"In this app: Settings, Add an account, Provider Microsoft 365, then Sign in with Microsoft.",
				"The mail server said: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.[31m.",
				"Your documents are still here",
			},
		},
		{
			name:      "Google username and password not accepted",
			reply:     &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "5.7.8 Username and Password not accepted. For more information, go to\n https://support.google.com/mail/?p=BadCredentials - gsmtp"},
			wantTitle: "Not sent: Google did not accept the user name and password: check them; if the account uses 2-Step Verification, Google needs an app password (https://myaccount.google.com/apppasswords) instead of your Google password, or sign in with `securesend account add --auth google`.",
			want: []string{
				"In this app: Settings, Add an account, Provider Google Workspace, then Sign in with Google.",
				"The mail server said: 535 5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials - gsmtp.",
			},
		},
		{
			name:      "another server",
			reply:     &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"},
			wantTitle: "Not sent: The mail server rejected the sign-in.",
			want:      []string{"The mail server said: 535 5.7.8 Authentication credentials invalid."},
			notWant:   []string{"In this app:", "securesend account add"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pki := accounttest.NewPKI(t)
			srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{AuthReply: tt.reply})
			u := newDemoUI(t, func(c *Config) {
				c.Outbox = nil // the direct path
				c.Send = func(ctx context.Context, m *send.Message, _ func(int64)) (*send.Result, error) {
					return send.Send(ctx, send.Options{Server: srv.Addr, Security: send.ImplicitTLS, RootCAs: pki.CA.Pool(),
						Auth: send.PasswordAuth("clinic", "pw")}, m)
				}
			})
			s := u.send
			addSamples(t, s)
			s.noNHI.SetChecked(true)
			assertNotificationSent(t, &fyne.Notification{Title: "Not sent", Content: tt.wantTitle}, func() {
				sent := expect(&s.sendDone)
				pressSend(t, s)
				await(t, "send", sent)
			})
			got := texts(s.problem)
			for _, w := range append([]string{tt.wantTitle}, tt.want...) {
				if !strings.Contains(got, w) {
					t.Errorf("problem shown lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("problem shown has %q:\n%s", w, got)
				}
			}
			if strings.Contains(got, "\x1b") {
				t.Errorf("a control character from the server is shown:\n%q", got)
			}
			if len(s.docs) != 2 {
				t.Error("documents not kept")
			}
		})
	}
}

// TestExplainSendErrorShowsServerTextSafely: a mail server's reply with
// control or bidi characters cannot rewrite what the error dialog says.
func TestExplainSendErrorShowsServerTextSafely(t *testing.T) {
	for _, err := range []error{
		&send.Error{Kind: send.ErrPermanent, Stage: "data-reply", Reply: send.Reply{Code: 554, Text: "rejected\u202e tnes\x1b[2K\rSent OK"}},
		errors.New("dial: \u2066odd\u2069 host\x07"),
	} {
		title, detail := explainSendError(err)
		for _, r := range title + detail {
			if termsafe.Unsafe(r) {
				t.Errorf("%v: raw %U in %q / %q", err, r, title, detail)
			}
		}
		// A server's reply has them removed (send.Reply.String); other
		// text has them shown.
		var se *send.Error
		if !errors.As(err, &se) && !strings.Contains(title+detail, "<U+") {
			t.Errorf("%v: the odd characters are not shown: %q / %q", err, title, detail)
		}
	}
}
