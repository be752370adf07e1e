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
	a := oauthAccount("acct", f.idp.URL)
	a.CAFile = f.pki.CAFile
	srv := accounttest.StartSMTP(t, f.pki, f.creds, accounttest.Options{Mechanisms: []string{"XOAUTH2"}})
	a.SMTP = account.Server{Address: srv.Addr, Security: account.ImplicitTLS}
	acct := f.add(t, a)
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

// TestAccessTokenRefusedByServer: the server refuses the access token (it
// expired by the server's clock); XOAUTH2 answers the JSON error challenge
// with an empty response and OAUTHBEARER aborts, and either way the send
// fails as a sign-in problem without showing the token.
func TestAccessTokenRefusedByServer(t *testing.T) {
	for _, mech := range []string{"XOAUTH2", "OAUTHBEARER"} {
		t.Run(mech, func(t *testing.T) {
			f := newFixture(t)
			a := oauthAccount("acct", f.idp.URL)
			a.CAFile = f.pki.CAFile
			srv := accounttest.StartSMTP(t, f.pki, f.creds, accounttest.Options{Mechanisms: []string{mech}})
			a.SMTP = account.Server{Address: srv.Addr, Security: account.ImplicitTLS}
			acct := f.add(t, a)
			opts, err := acct.SendOptions(context.Background(), f.kc)
			if err != nil {
				t.Fatal(err)
			}
			f.idp.Advance(2 * time.Hour) // the cached access token is now stale at the server
			_, err = send.Send(context.Background(), opts, &send.Message{
				From: mail.Address{Address: acct.Email}, To: []mail.Address{{Address: "pharmacy@example.test"}}, Subject: "x", Note: "y",
				Documents: []send.Document{{Path: scan(t)}},
			})
			if !errors.Is(err, send.ErrAuth) {
				t.Fatalf("send = %v, want ErrAuth", err)
			}
			mustNotLeak(t, err.Error(), f.secrets()...)
			if got := srv.Attempts(); len(got) != 1 || got[0] != mech {
				t.Errorf("attempts %v", got)
			}
			if len(srv.SignIns()) != 0 || len(srv.Messages()) != 0 {
				t.Error("the server accepted a stale token")
			}
		})
	}
}

// TestOptionsRefreshPerSubmission: the outbox ('outbox run --watch', the
// app) makes an account's send options once and submits with them for as
// long as it runs. Each submission must sign in with a current access
// token, refreshed with the refresh token when the one it had expired,
// not with the token the options were made with.
func TestOptionsRefreshPerSubmission(t *testing.T) {
	f := newFixture(t)
	a := oauthAccount("acct", f.idp.URL)
	a.CAFile = f.pki.CAFile
	srv := accounttest.StartSMTP(t, f.pki, f.creds, accounttest.Options{Mechanisms: []string{"XOAUTH2"}})
	a.SMTP = account.Server{Address: srv.Addr, Security: account.ImplicitTLS}
	acct := f.add(t, a)
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
