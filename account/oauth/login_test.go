package oauth_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/account/oauth/oauthtest"
)

func testConfig(s *oauthtest.Server) oauth.Config {
	return oauth.Config{
		ClientID: oauthtest.ClientID,
		AuthURL:  s.AuthURL,
		TokenURL: s.TokenURL,
		Scopes:   []string{"mail", "offline_access"},
	}
}

// memStore is a RefreshStore in memory (the keychain one is tested in
// package account, against the real keychain).
type memStore struct {
	mu    sync.Mutex
	rt    string
	saves int
}

func (m *memStore) Load() (string, error) { m.mu.Lock(); defer m.mu.Unlock(); return m.rt, nil }
func (m *memStore) Save(rt string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rt = rt
	m.saves++
	return nil
}

func TestLogin(t *testing.T) {
	closedURL := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr + "/token"
	}()
	tests := []struct {
		name    string
		setup   func(s *oauthtest.Server, c *oauth.Config)
		wantErr error
	}{
		{name: "happy path"},
		{name: "wrong state", setup: func(s *oauthtest.Server, _ *oauth.Config) { s.TamperState(true) }, wantErr: oauth.ErrState},
		{name: "denied consent", setup: func(s *oauthtest.Server, _ *oauth.Config) { s.Deny(true) }, wantErr: oauth.ErrDenied},
		{name: "token endpoint down", setup: func(_ *oauthtest.Server, c *oauth.Config) { c.TokenURL = closedURL }, wantErr: oauth.ErrUnreachable},
		{name: "unknown client", setup: func(_ *oauthtest.Server, c *oauth.Config) { c.ClientID = "someone-else" }, wantErr: errBrowser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := oauthtest.New("alice@example.test")
			defer s.Close()
			cfg := testConfig(s)
			if tt.setup != nil {
				tt.setup(s, &cfg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var opened string
			browser := func(u string) error {
				opened = u
				if tt.wantErr == errBrowser {
					// The provider shows an error page and never redirects;
					// the user gives up.
					defer cancel()
				}
				return s.Browser()(u)
			}
			tok, err := oauth.Login(ctx, cfg, oauth.LoginOptions{OpenBrowser: browser, LoginHint: "alice@example.test"})
			if !strings.Contains(opened, "code_challenge_method=S256") || !strings.Contains(opened, "state=") {
				t.Errorf("authorization URL lacks PKCE or state: %s", opened)
			}
			if tt.wantErr == errBrowser {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Login = %v, want context.Canceled", err)
				}
				return
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Login error = %v, want %v", err, tt.wantErr)
				}
				for _, secret := range s.Issued() {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error message leaks a code or token: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if tok.RefreshToken == "" || tok.AccessToken == "" {
				t.Fatalf("token lacks parts: access %t refresh %t", tok.AccessToken != "", tok.RefreshToken != "")
			}
			if err := s.CheckAccessToken("alice@example.test", tok.AccessToken); err != nil {
				t.Errorf("server does not accept the access token: %v", err)
			}
		})
	}
}

var errBrowser = errors.New("browser never came back")

func TestRedirectListenerIsOneShot(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	var redirect string
	browser := func(u string) error {
		redirect = u
		return s.Browser()(u)
	}
	if _, err := oauth.Login(context.Background(), testConfig(s), oauth.LoginOptions{OpenBrowser: browser}); err != nil {
		t.Fatal(err)
	}
	i := strings.Index(redirect, "redirect_uri=")
	if i < 0 {
		t.Fatal("no redirect_uri in the authorization URL")
	}
	// After Login returns, the listener must be gone.
	host := strings.TrimPrefix(redirect[i:], "redirect_uri=http%3A%2F%2F")
	host = host[:strings.Index(host, "%2F")]
	host = strings.ReplaceAll(host, "%3A", ":")
	if conn, err := net.Dial("tcp", host); err == nil {
		conn.Close()
		t.Errorf("redirect listener %s still accepts connections after sign-in", host)
	}
}

func TestTokenSource(t *testing.T) {
	tests := []struct {
		name    string
		change  func(s *oauthtest.Server)
		wantErr error
	}{
		{name: "refreshes and rotates"},
		{name: "expired refresh token", change: func(s *oauthtest.Server) { s.Advance(31 * 24 * time.Hour) }, wantErr: oauth.ErrSignInAgain},
		{name: "revoked refresh token", change: func(s *oauthtest.Server) { s.RevokeAll() }, wantErr: oauth.ErrSignInAgain},
		{name: "token endpoint down", change: func(s *oauthtest.Server) { s.Close() }, wantErr: oauth.ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := oauthtest.New("alice@example.test")
			defer s.Close()
			cfg := testConfig(s)
			tok, err := oauth.Login(context.Background(), cfg, oauth.LoginOptions{OpenBrowser: s.Browser()})
			if err != nil {
				t.Fatal(err)
			}
			store := &memStore{rt: tok.RefreshToken}
			if tt.change != nil {
				tt.change(s)
			}
			ts, err := oauth.TokenSource(context.Background(), cfg, store, nil)
			if err != nil {
				t.Fatal(err)
			}
			at, err := ts.Token()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Token error = %v, want %v", err, tt.wantErr)
				}
				for _, secret := range s.Issued() {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error message leaks a token: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CheckAccessToken("alice@example.test", at.AccessToken); err != nil {
				t.Errorf("refreshed access token refused: %v", err)
			}
			if store.rt == tok.RefreshToken || store.saves != 1 {
				t.Errorf("rotated refresh token not saved (saves=%d)", store.saves)
			}
			// A second call reuses the cached access token.
			if _, err := ts.Token(); err != nil {
				t.Fatal(err)
			}
			if n := s.Refreshes(); n != 1 {
				t.Errorf("refreshes = %d, want 1 (access token should be cached)", n)
			}
		})
	}
}

func TestTokenSourceRefreshesWhenExpired(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	cfg := testConfig(s)
	tok, err := oauth.Login(context.Background(), cfg, oauth.LoginOptions{OpenBrowser: s.Browser()})
	if err != nil {
		t.Fatal(err)
	}
	// Tokens that live under oauth2's expiry margin count as expired at once.
	s.SetAccessTTL(5 * time.Second)
	store := &memStore{rt: tok.RefreshToken}
	ts, err := oauth.TokenSource(context.Background(), cfg, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Refreshes(); n != 3 {
		t.Errorf("refreshes = %d, want 3", n)
	}
}

func TestTokenSourceWithoutRefreshToken(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	ts, err := oauth.TokenSource(context.Background(), testConfig(s), &memStore{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); !errors.Is(err, oauth.ErrSignInAgain) {
		t.Fatalf("Token = %v, want ErrSignInAgain", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  oauth.Config
		ok   bool
	}{
		{"microsoft preset", oauth.Microsoft("contoso.onmicrosoft.com").Config("id", ""), true},
		{"google preset", oauth.Google().Config("id", "s"), true},
		{"loopback http", oauth.Config{ClientID: "id", AuthURL: "http://127.0.0.1:1/a", TokenURL: "http://localhost:1/t"}, true},
		{"remote http refused", oauth.Config{ClientID: "id", AuthURL: "https://idp.example/a", TokenURL: "http://idp.example/t"}, false},
		{"no client", oauth.Config{AuthURL: "https://idp.example/a", TokenURL: "https://idp.example/t"}, false},
		{"no endpoints", oauth.Config{ClientID: "id"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok=%t", err, tt.ok)
			}
		})
	}
}

func TestPresets(t *testing.T) {
	m := oauth.Microsoft("")
	if m.SMTP != "smtp.office365.com:587" || m.SMTPSecurity != "starttls" || m.IMAP != "outlook.office365.com:993" {
		t.Errorf("microsoft servers: %+v", m)
	}
	if !strings.HasPrefix(m.TokenURL, "https://login.microsoftonline.com/organizations/oauth2/v2.0/") {
		t.Errorf("microsoft token URL: %s", m.TokenURL)
	}
	if strings.Join(m.Scopes, " ") != "https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All offline_access" {
		t.Errorf("microsoft scopes: %v", m.Scopes)
	}
	g := oauth.Google()
	if g.SMTP != "smtp.gmail.com:465" || g.SMTPSecurity != "tls" || g.IMAP != "imap.gmail.com:993" || g.Scopes[0] != "https://mail.google.com/" {
		t.Errorf("google: %+v", g)
	}
}
