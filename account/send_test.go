package account_test

import (
	"context"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/send"
)

// TestSendThroughAccount submits real mail with send.Submit using the
// options of password and OAuth accounts, against go-smtp servers that
// accept PLAIN, XOAUTH2 (Microsoft style: STARTTLS on 587) and OAUTHBEARER.
func TestSendThroughAccount(t *testing.T) {
	tests := []struct {
		name     string
		oauth    bool
		srv      accounttest.Options
		wantMech string
	}{
		{"password, implicit TLS", false, accounttest.Options{}, "PLAIN"},
		{"microsoft style XOAUTH2 over STARTTLS", true, accounttest.Options{StartTLS: true, Mechanisms: []string{"LOGIN", "XOAUTH2"}}, "XOAUTH2"},
		{"OAUTHBEARER", true, accounttest.Options{Mechanisms: []string{"PLAIN", "OAUTHBEARER", "XOAUTH2"}}, "OAUTHBEARER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := passwordAccount("acct")
			if tt.oauth {
				a = oauthAccount("acct", f.idp.URL)
				// Access tokens that are stale at once: every use refreshes.
				f.idp.SetAccessTTL(5 * time.Second)
			}
			a.CAFile = f.pki.CAFile
			srv := accounttest.StartSMTP(t, f.pki, f.creds, tt.srv)
			a.SMTP = account.Server{Address: srv.Addr, Security: sec(tt.srv)}
			acct := f.add(t, a)
			ctx := context.Background()
			for i := range 2 {
				opts, err := acct.SendOptions(ctx, f.kc)
				if err != nil {
					t.Fatal(err)
				}
				res, err := send.Send(ctx, opts, &send.Message{
					From:      mail.Address{Address: acct.Email},
					To:        []mail.Address{{Address: "pharmacy@example.test"}},
					Subject:   "test",
					Note:      "hello",
					Documents: []send.Document{{Path: scan(t)}},
				})
				if err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
				if res.AuthMechanism != tt.wantMech {
					t.Errorf("signed in with %q, want %s", res.AuthMechanism, tt.wantMech)
				}
			}
			if n := len(srv.Messages()); n != 2 {
				t.Errorf("server got %d messages, want 2", n)
			}
		})
	}
}

// TestSendWithRevokedSignIn: the provider revoked the refresh token after
// the options were made; the submission fails as a sign-in problem that
// tells the user to sign in again, and no token shows in the error.
func TestSendWithRevokedSignIn(t *testing.T) {
	f := newFixture(t)
	f.idp.SetAccessTTL(5 * time.Second)
	acct, srv := f.oauthOnSMTP(t, "XOAUTH2")
	opts, err := acct.SendOptions(context.Background(), f.kc)
	if err != nil {
		t.Fatal(err)
	}
	f.idp.RevokeAll()
	_, err = send.Send(context.Background(), opts, &send.Message{
		From: mail.Address{Address: acct.Email}, To: []mail.Address{{Address: "pharmacy@example.test"}}, Subject: "x", Note: "y",
		Documents: []send.Document{{Path: scan(t)}},
	})
	if err == nil {
		t.Fatal("send succeeded with a revoked sign-in")
	}
	if !errors.Is(err, send.ErrAuth) || !strings.Contains(err.Error(), "sign in again") {
		t.Errorf("error = %v; want a sign-in error that says to sign in again", err)
	}
	mustNotLeak(t, err.Error(), f.secrets()...)
	if len(srv.Messages()) != 0 {
		t.Error("a message was accepted")
	}
}

// scan writes a small PDF-like document.
func scan(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "scan.pdf")
	if err := os.WriteFile(p, []byte("%PDF-1.4\n%test document\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAccessTokenRefusedByServer: the server refuses the access token
// (XOAUTH2 answers the JSON error challenge with an empty response,
// OAUTHBEARER with %x01). The token is then refreshed and the sign-in tried
// once more on the same connection: a token that was stale at the server, or
// refused once (not yet known to it), is replaced and the message goes; a
// server that keeps refusing gets exactly one retry, and the send fails as a
// sign-in problem without showing the token.
func TestAccessTokenRefusedByServer(t *testing.T) {
	tests := []struct {
		name    string
		refuse  func(f *fixture)
		wantErr bool
	}{
		{name: "stale at the server", refuse: func(f *fixture) { f.idp.Advance(2 * time.Hour) }},
		{name: "revoked at the provider", refuse: func(f *fixture) { f.idp.RevokeAccessTokens() }},
		{name: "refused once", refuse: func(f *fixture) { f.idp.RefuseNextAccessChecks(1) }},
		{name: "refused for good", refuse: func(f *fixture) { f.idp.RefuseNextAccessChecks(100) }, wantErr: true},
	}
	for _, mech := range []string{"XOAUTH2", "OAUTHBEARER"} {
		for _, tt := range tests {
			t.Run(mech+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t)
				acct, srv := f.oauthOnSMTP(t, mech)
				opts, err := acct.SendOptions(context.Background(), f.kc)
				if err != nil {
					t.Fatal(err)
				}
				tt.refuse(f)
				refreshes := f.idp.Refreshes()
				_, err = send.Send(context.Background(), opts, &send.Message{
					From: mail.Address{Address: acct.Email}, To: []mail.Address{{Address: "pharmacy@example.test"}}, Subject: "x", Note: "y",
					Documents: []send.Document{{Path: scan(t)}},
				})
				if got := srv.Attempts(); len(got) != 2 || got[0] != mech || got[1] != mech {
					t.Errorf("attempts %v, want %s twice", got, mech)
				}
				if f.idp.Refreshes() != refreshes+1 {
					t.Errorf("refreshes %d, want one after the refusal", f.idp.Refreshes()-refreshes)
				}
				if tt.wantErr {
					if !errors.Is(err, send.ErrAuth) {
						t.Fatalf("send = %v, want ErrAuth", err)
					}
					mustNotLeak(t, err.Error(), f.secrets()...)
					if len(srv.SignIns()) != 0 || len(srv.Messages()) != 0 {
						t.Error("the server accepted a refused token")
					}
					return
				}
				if err != nil {
					t.Fatalf("send after the refused token: %v", err)
				}
				if len(srv.Messages()) != 1 {
					t.Errorf("server got %d messages", len(srv.Messages()))
				}
			})
		}
	}
}

// TestIMAPRetriesRefusedToken: IMAP AUTHENTICATE with a token the server
// refuses once is retried with a refreshed token.
func TestIMAPRetriesRefusedToken(t *testing.T) {
	f := newFixture(t)
	a := oauthAccount("acct", f.idp.URL)
	a.CAFile = f.pki.CAFile
	srv := accounttest.StartIMAP(t, f.pki, f.creds, accounttest.Options{Mechanisms: []string{"XOAUTH2"}})
	a.IMAP = account.Server{Address: srv.Addr, Security: account.ImplicitTLS}
	acct := f.add(t, a)
	f.idp.RefuseNextAccessChecks(1)
	c, err := acct.DialIMAP(context.Background(), f.kc, account.IMAPOptions{})
	if err != nil {
		t.Fatalf("DialIMAP with a token refused once: %v", err)
	}
	c.Close()
	f.idp.RefuseNextAccessChecks(2)
	if _, err := acct.DialIMAP(context.Background(), f.kc, account.IMAPOptions{}); !errors.Is(err, account.ErrAuth) {
		t.Fatalf("DialIMAP with a token refused twice = %v, want ErrAuth", err)
	}
}

// TestOptionsRefreshPerSubmission: the outbox ('outbox run --watch', the
// app) makes an account's send options once and submits with them for as
// long as it runs. Each submission must sign in with a current access
// token, refreshed with the refresh token when the one it had expired,
// not with the token the options were made with.
func TestOptionsRefreshPerSubmission(t *testing.T) {
	f := newFixture(t)
	acct, srv := f.oauthOnSMTP(t, "XOAUTH2")
	// Access tokens that are stale at once (oauth2 refreshes tokens due
	// within 10 s): every sign-in needs a refresh.
	f.idp.SetAccessTTL(5 * time.Second)
	ctx := context.Background()
	opts, err := acct.SendOptions(ctx, f.kc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		before := f.idp.Refreshes()
		if _, err := send.Send(ctx, opts, &send.Message{
			From: mail.Address{Address: acct.Email}, To: []mail.Address{{Address: "pharmacy@example.test"}},
			Subject: "test", Note: "hello", Documents: []send.Document{{Path: scan(t)}},
		}); err != nil {
			t.Fatalf("submission %d with options made once: %v", i, err)
		}
		if f.idp.Refreshes() <= before {
			t.Errorf("submission %d signed in without refreshing the stale access token", i)
		}
	}
	if n := len(srv.Messages()); n != 3 {
		t.Errorf("server got %d messages, want 3", n)
	}
}

// oauthOnSMTP adds an OAuth account ("acct") whose SMTP server, on
// implicit TLS with the fixture's CA, offers only the SASL mechanism mech.
func (f *fixture) oauthOnSMTP(t *testing.T, mech string) (*account.Account, *accounttest.SMTPServer) {
	t.Helper()
	a := oauthAccount("acct", f.idp.URL)
	a.CAFile = f.pki.CAFile
	srv := accounttest.StartSMTP(t, f.pki, f.creds, accounttest.Options{Mechanisms: []string{mech}})
	a.SMTP = account.Server{Address: srv.Addr, Security: account.ImplicitTLS}
	return f.add(t, a), srv
}
