package oauth_test

import (
	"context"
	"errors"
	"net"
	"net/http"
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
		wantErr []error
	}{
		{name: "happy path"},
		// A redirect with another state is refused and the sign-in waits
		// for the real one, until the context ends.
		{name: "wrong state", setup: func(s *oauthtest.Server, _ *oauth.Config) { s.TamperState(true) }, wantErr: []error{oauth.ErrState, context.DeadlineExceeded}},
		{name: "denied consent", setup: func(s *oauthtest.Server, _ *oauth.Config) { s.Deny(true) }, wantErr: []error{oauth.ErrDenied}},
		{name: "token endpoint down", setup: func(_ *oauthtest.Server, c *oauth.Config) { c.TokenURL = closedURL }, wantErr: []error{oauth.ErrUnreachable}},
		{name: "unknown client", setup: func(_ *oauthtest.Server, c *oauth.Config) { c.ClientID = "someone-else" }, wantErr: []error{context.DeadlineExceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := oauthtest.New("alice@example.test")
			defer s.Close()
			cfg := testConfig(s)
			if tt.setup != nil {
				tt.setup(s, &cfg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var opened string
			browser := func(u string) error {
				opened = u
				return s.Browser()(u)
			}
			tok, err := oauth.Login(ctx, cfg, oauth.LoginOptions{OpenBrowser: browser, LoginHint: "alice@example.test"})
			// The browser's command line shows a one-time local page, not
			// the state, the PKCE challenge or the provider.
			if !strings.HasPrefix(opened, "http://127.0.0.1:") || !strings.Contains(opened, "/start/") ||
				strings.Contains(opened, "state") || strings.Contains(opened, "challenge") || strings.Contains(opened, s.URL) {
				t.Errorf("the browser was given %s, want only a one-time local start page", opened)
			}
			if q := s.LastAuthorization(); q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("login_hint") != "alice@example.test" {
				t.Errorf("authorization request lacks PKCE, state or hint: %v", q)
			}
			if tt.wantErr != nil {
				for _, want := range tt.wantErr {
					if !errors.Is(err, want) {
						t.Fatalf("Login error = %v, want %v", err, want)
					}
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

// startBase is the listener's base URL, from the start page's URL.
func startBase(t *testing.T, start string) string {
	t.Helper()
	i := strings.Index(start, "/start/")
	if i < 0 {
		t.Fatalf("not a start page: %s", start)
	}
	return start[:i]
}

// noRedirects is an HTTP client that shows redirects instead of following
// them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestLoginIgnoresStrayRequests: requests to the redirect listener that do
// not carry this sign-in's state get 400 and do not end the sign-in; the
// user's real redirect afterwards signs in.
func TestLoginIgnoresStrayRequests(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	browser := func(start string) error {
		base := startBase(t, start)
		for _, stray := range []struct{ method, path string }{
			{"GET", "/favicon.ico"},
			{"GET", "/"},
			{"GET", "/?state=forged&code=attacker-code"},
			{"GET", "/?error=access_denied&error_description=forged"},
			{"GET", "/start/not-the-token"},
			{"POST", "/"},
		} {
			req, err := http.NewRequest(stray.method, base+stray.path, nil)
			if err != nil {
				return err
			}
			resp, err := noRedirects.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %s: status %d, want 400", stray.method, stray.path, resp.StatusCode)
			}
		}
		return s.Browser()(start)
	}
	tok, err := oauth.Login(ctx, testConfig(s), oauth.LoginOptions{OpenBrowser: browser})
	if err != nil {
		t.Fatalf("Login after stray requests: %v", err)
	}
	if err := s.CheckAccessToken("alice@example.test", tok.AccessToken); err != nil {
		t.Error(err)
	}
}

// TestLoginStartPageIsOneTime: the start page redirects to the provider
// once; a second request for it (someone who read the browser's command
// line got there first) stops the sign-in.
func TestLoginStartPageIsOneTime(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	browser := func(start string) error {
		resp, err := noRedirects.Get(start) // the eavesdropper
		if err != nil {
			return err
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, s.AuthURL) {
			t.Errorf("start page: %d to %q, want 302 to the provider", resp.StatusCode, loc)
		}
		return s.Browser()(start) // the user's browser comes second
	}
	_, err := oauth.Login(ctx, testConfig(s), oauth.LoginOptions{OpenBrowser: browser})
	if !errors.Is(err, oauth.ErrIntercepted) {
		t.Fatalf("Login = %v, want ErrIntercepted", err)
	}
	if n := s.Refreshes(); n != 0 {
		t.Errorf("refreshes = %d", n)
	}
}

// TestLoginTimeout: a browser that never comes back ends the sign-in when
// the context does, and the listener is closed.
func TestLoginTimeout(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var start string
	begun := time.Now()
	_, err := oauth.Login(ctx, testConfig(s), oauth.LoginOptions{OpenBrowser: func(u string) error { start = u; return nil }})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, oauth.ErrState) {
		t.Fatalf("Login = %v, want only DeadlineExceeded", err)
	}
	if d := time.Since(begun); d > 3*time.Second {
		t.Errorf("Login took %v after a 300ms deadline", d)
	}
	if _, err := http.Get(start); err == nil {
		t.Errorf("the sign-in listener still answers after the timeout")
	}
}

// TestLoginIdentity: with Identities set, the ID token must name one of
// them; otherwise nothing is returned.
func TestLoginIdentity(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(s *oauthtest.Server)
		identities []string
		wantErr    error
		wantText   []string
	}{
		{name: "same user, other case", identities: []string{"Alice@Example.TEST"}},
		{name: "second identity", identities: []string{"clinic-login", "alice@example.test"}},
		{name: "other user", setup: func(s *oauthtest.Server) { s.SignInAs("bob@example.test") }, identities: []string{"alice@example.test"},
			wantErr: oauth.ErrWrongUser, wantText: []string{"you signed in as bob@example.test, but the account is alice@example.test"}},
		{name: "control characters in the user name", setup: func(s *oauthtest.Server) { s.SignInAs("bob\x1b]0;pwned\x07@example.test") }, identities: []string{"alice@example.test"},
			wantErr: oauth.ErrWrongUser, wantText: []string{"bob?]0;pwned?@example.test"}},
		{name: "no ID token", setup: func(s *oauthtest.Server) { s.NoIDToken(true) }, identities: []string{"alice@example.test"},
			wantErr: oauth.ErrNoIdentity, wantText: []string{"could not be checked against alice@example.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := oauthtest.New("alice@example.test")
			defer s.Close()
			if tt.setup != nil {
				tt.setup(s)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tok, err := oauth.Login(ctx, testConfig(s), oauth.LoginOptions{OpenBrowser: s.Browser(), Identities: tt.identities})
			if scope := s.LastAuthorization().Get("scope"); !strings.Contains(scope, "openid") || !strings.Contains(scope, "email") {
				t.Errorf("scope %q lacks openid email", scope)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || tok != nil {
				t.Fatalf("Login = %v, %v; want %v", tok, err, tt.wantErr)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.ContainsAny(err.Error(), "\x1b\x07") {
				t.Errorf("error carries control characters: %q", err)
			}
		})
	}
}

func TestRedirectListenerIsOneShot(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	var start string
	browser := func(u string) error {
		start = u
		return s.Browser()(u)
	}
	if _, err := oauth.Login(context.Background(), testConfig(s), oauth.LoginOptions{OpenBrowser: browser}); err != nil {
		t.Fatal(err)
	}
	// After Login returns, the listener must be gone.
	host := strings.TrimPrefix(startBase(t, start), "http://")
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
