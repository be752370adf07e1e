package account_test

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/account/oauth/oauthtest"
	"github.com/securesend/securesend/internal/testpki"
)

const user = "clinic@example.test"

// oauthAccount is a custom-issuer OAuth account for the authorization
// server at base.
func oauthAccount(name, base string) account.Account {
	return account.Account{
		Name:  name,
		Email: user,
		SMTP:  account.Server{Address: "smtp.example.test:587", Security: account.StartTLS},
		IMAP:  account.Server{Address: "imap.example.test:993", Security: account.ImplicitTLS},
		Auth:  account.AuthOAuth,
		OAuth: &account.OAuthSettings{
			ClientID: oauthtest.ClientID,
			AuthURL:  base + "/authorize",
			TokenURL: base + "/token",
			Scopes:   []string{"mail", "offline_access"},
		},
	}
}

type fixture struct {
	kc    account.Secrets
	store *account.Store
	idp   *oauthtest.Server
	pki   *accounttest.PKI
	creds accounttest.Credentials
}

const password = "Tr0ub4dor&3-test"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	idp := oauthtest.New(user)
	t.Cleanup(idp.Close)
	kc := testKeychain(t)
	return &fixture{
		kc:    kc,
		store: account.NewStore(testHome(t), kc),
		idp:   idp,
		pki:   accounttest.NewPKI(t),
		creds: accounttest.Credentials{User: user, Password: password, OAuth: idp},
	}
}

// add stores a (password or OAuth) and, for OAuth, signs in through the
// test authorization server.
func (f *fixture) add(t *testing.T, a account.Account) *account.Account {
	t.Helper()
	c := account.Credentials{}
	if !a.IsOAuth() {
		c.Password = password
	}
	if err := f.store.Add(a, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Remove(a.Name) })
	if a.IsOAuth() {
		if err := f.store.SignIn(context.Background(), a.Name, oauth.LoginOptions{OpenBrowser: f.idp.Browser()}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.store.Get(a.Name)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *fixture) secrets() []string {
	return append(f.idp.Issued(), password)
}

func TestAccountTest(t *testing.T) {
	otherCA, err := testpki.NewCA("someone else")
	if err != nil {
		t.Fatal(err)
	}
	otherLeaf, err := otherCA.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	wrongCert := &tls.Config{Certificates: []tls.Certificate{otherLeaf.TLS}}
	otherIdP := oauthtest.New(user) // knows none of the fixture's tokens
	defer otherIdP.Close()

	tests := []struct {
		name     string
		oauth    bool
		smtp     accounttest.Options
		imap     accounttest.Options
		mutate   func(f *fixture)
		wantErr  error
		wantMech string // SMTP and IMAP sign-in mechanism on success
		noAuth   bool   // the servers must not have seen any sign-in attempt
	}{
		{name: "password implicit TLS", wantMech: "PLAIN"},
		{name: "password STARTTLS", smtp: accounttest.Options{StartTLS: true, RequireTLS: true}, imap: accounttest.Options{StartTLS: true}, wantMech: "PLAIN"},
		{name: "oauth prefers OAUTHBEARER", oauth: true, wantMech: "OAUTHBEARER"},
		{name: "oauth XOAUTH2 only (Microsoft)", oauth: true,
			smtp: accounttest.Options{StartTLS: true, Mechanisms: []string{"XOAUTH2"}}, imap: accounttest.Options{Mechanisms: []string{"XOAUTH2", "PLAIN"}}, wantMech: "XOAUTH2"},
		{name: "no STARTTLS offered", smtp: accounttest.Options{NoTLS: true, StartTLS: true}, imap: accounttest.Options{NoTLS: true, StartTLS: true}, wantErr: account.ErrNoTLS, noAuth: true},
		{name: "untrusted certificate", smtp: accounttest.Options{TLSConfig: wrongCert}, imap: accounttest.Options{TLSConfig: wrongCert, StartTLS: true}, wantErr: account.ErrCertificate, noAuth: true},
		{name: "TLS 1.1 only", smtp: accounttest.Options{MaxTLSVersion: tls.VersionTLS11}, imap: accounttest.Options{MaxTLSVersion: tls.VersionTLS11}, wantErr: account.ErrTLSVersion, noAuth: true},
		{name: "wrong password", mutate: func(f *fixture) { f.creds.Password = "something else" }, wantErr: account.ErrAuth},
		{name: "no usable mechanism", oauth: true, smtp: accounttest.Options{Mechanisms: []string{"PLAIN", "CRAM-MD5"}}, imap: accounttest.Options{Mechanisms: []string{"PLAIN"}}, wantErr: account.ErrAuth, noAuth: true},
		{name: "token refused by the servers", oauth: true, smtp: accounttest.Options{Mechanisms: []string{"OAUTHBEARER"}}, imap: accounttest.Options{Mechanisms: []string{"XOAUTH2"}},
			mutate: func(f *fixture) { f.creds.OAuth = otherIdP }, wantErr: account.ErrAuth},
		{name: "sign-in expired", oauth: true, mutate: func(f *fixture) { f.idp.Advance(90 * 24 * time.Hour) }, wantErr: oauth.ErrSignInAgain, noAuth: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := passwordAccount("acct")
			if tt.oauth {
				a = oauthAccount("acct", f.idp.URL)
			}
			a.CAFile = f.pki.CAFile
			acct := f.add(t, a)
			if tt.mutate != nil {
				tt.mutate(f)
			}
			smtpSrv := accounttest.StartSMTP(t, f.pki, f.creds, tt.smtp)
			imapSrv := accounttest.StartIMAP(t, f.pki, f.creds, tt.imap)
			acct.SMTP = account.Server{Address: smtpSrv.Addr, Security: sec(tt.smtp)}
			acct.IMAP = account.Server{Address: imapSrv.Addr, Security: sec(tt.imap)}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep, err := acct.Test(ctx, f.kc, account.TestOptions{})
			if rep == nil {
				t.Fatalf("no report (err %v)", err)
			}
			if tt.noAuth {
				if n := len(smtpSrv.Attempts()) + len(imapSrv.Attempts()); n != 0 {
					t.Errorf("servers saw %d sign-in attempts; want none before a good TLS session", n)
				}
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Test error = %v, want %v", err, tt.wantErr)
				}
				mustNotLeak(t, err.Error(), f.secrets()...)
				if rep.SMTP.Error == "" || rep.IMAP == nil || rep.IMAP.Error == "" {
					t.Errorf("both servers should fail: smtp %q imap %+v", rep.SMTP.Error, rep.IMAP)
				}
				return
			}
			if err != nil {
				t.Fatalf("Test: %v", err)
			}
			for _, r := range []account.ServerReport{rep.SMTP, *rep.IMAP} {
				if r.TLS.Version != "TLS 1.3" || r.SignedInWith != tt.wantMech {
					t.Errorf("%s: TLS %q signed in with %q, want TLS 1.3 and %s", r.Address, r.TLS.Version, r.SignedInWith, tt.wantMech)
				}
				if len(r.AuthMechanisms) == 0 {
					t.Errorf("%s: no AUTH mechanisms reported", r.Address)
				}
			}
			if rep.SMTP.RequireTLS != tt.smtp.RequireTLS {
				t.Errorf("REQUIRETLS = %t, want %t", rep.SMTP.RequireTLS, tt.smtp.RequireTLS)
			}
			if !rep.IMAP.IDLE {
				t.Error("IDLE support not reported")
			}
			if got := smtpSrv.SignIns(); !slices.Equal(got, []string{tt.wantMech}) {
				t.Errorf("SMTP server sign-ins %v", got)
			}
			if len(smtpSrv.Messages()) != 0 {
				t.Error("account test sent mail")
			}
		})
	}
}

func sec(o accounttest.Options) account.Security {
	if o.StartTLS {
		return account.StartTLS
	}
	return account.ImplicitTLS
}

func TestSendOptions(t *testing.T) {
	f := newFixture(t)
	pw := passwordAccount("pw")
	pw.CAFile = f.pki.CAFile
	pw.RequireTLS = true
	a := f.add(t, pw)
	opts, err := a.SendOptions(context.Background(), f.kc)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Server != "smtp.example.test:465" || opts.RootCAs == nil || !opts.RequireTLS || opts.Auth == nil {
		t.Fatalf("options: %+v", opts)
	}
	if _, mech, err := opts.Auth([]string{"LOGIN", "PLAIN"}); err != nil || mech != "PLAIN" {
		t.Errorf("password auth picked %q, %v", mech, err)
	}
	if _, mech, err := opts.Auth([]string{"LOGIN"}); err != nil || mech != "LOGIN" {
		t.Errorf("password auth picked %q, %v", mech, err)
	}
	if _, _, err := opts.Auth([]string{"XOAUTH2"}); !errors.Is(err, account.ErrAuth) {
		t.Errorf("password auth with only XOAUTH2 = %v", err)
	}

	o := f.add(t, oauthAccount("m365", f.idp.URL))
	opts, err = o.SendOptions(context.Background(), f.kc)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Security != 1 /* send.StartTLS */ {
		t.Errorf("security %v, want STARTTLS", opts.Security)
	}
	c, mech, err := opts.Auth([]string{"PLAIN", "XOAUTH2"})
	if err != nil || mech != "XOAUTH2" {
		t.Fatalf("oauth auth picked %q, %v", mech, err)
	}
	_, ir, err := c.Start()
	if err != nil || !strings.HasPrefix(string(ir), "user="+user+"\x01auth=Bearer ") {
		t.Errorf("XOAUTH2 initial response malformed (err %v)", err)
	}

	// Revoked at the provider: SendOptions says to sign in again.
	f.idp.RevokeAll()
	o2 := f.add(t, oauthAccount("other", f.idp.URL))
	f.idp.RevokeAll()
	if _, err := o2.SendOptions(context.Background(), f.kc); !errors.Is(err, oauth.ErrSignInAgain) {
		t.Errorf("SendOptions after revocation = %v, want ErrSignInAgain", err)
	} else {
		mustNotLeak(t, err.Error(), f.secrets()...)
	}
}

func TestDialIMAPRefreshesToken(t *testing.T) {
	f := newFixture(t)
	a := oauthAccount("m365", f.idp.URL)
	a.CAFile = f.pki.CAFile
	acct := f.add(t, a)
	srv := accounttest.StartIMAP(t, f.pki, f.creds, accounttest.Options{Mechanisms: []string{"XOAUTH2"}})
	acct.IMAP = account.Server{Address: srv.Addr, Security: account.ImplicitTLS}
	before, err := f.kc.Get("account/m365/oauth-refresh-token")
	if err != nil {
		t.Fatal(err)
	}
	c, err := acct.DialIMAP(context.Background(), f.kc, account.IMAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	after, err := f.kc.Get("account/m365/oauth-refresh-token")
	if err != nil {
		t.Fatal(err)
	}
	if before == after || f.idp.Refreshes() != 1 {
		t.Errorf("rotated refresh token not saved to the keychain (refreshes %d)", f.idp.Refreshes())
	}
	if got := srv.SignIns(); !slices.Equal(got, []string{"XOAUTH2"}) {
		t.Errorf("sign-ins %v", got)
	}
}

// TestDialIMAPMinTLS: the policy's minimum TLS version applies to IMAP: a
// server that stops at TLS 1.2 is refused before any sign-in when 1.3 is
// required, and accepted otherwise.
func TestDialIMAPMinTLS(t *testing.T) {
	f := newFixture(t)
	a := oauthAccount("m365", f.idp.URL)
	a.CAFile = f.pki.CAFile
	acct := f.add(t, a)
	srv := accounttest.StartIMAP(t, f.pki, f.creds, accounttest.Options{Mechanisms: []string{"XOAUTH2"}, MaxTLSVersion: tls.VersionTLS12})
	acct.IMAP = account.Server{Address: srv.Addr, Security: account.ImplicitTLS}
	if c, err := acct.DialIMAP(context.Background(), f.kc, account.IMAPOptions{MinTLSVersion: tls.VersionTLS13}); err == nil {
		c.Close()
		t.Fatal("TLS 1.2 accepted with a 1.3 minimum")
	}
	if got := srv.SignIns(); len(got) != 0 {
		t.Fatalf("signed in over a refused connection: %v", got)
	}
	c, err := acct.DialIMAP(context.Background(), f.kc, account.IMAPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
