package oauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/account/oauth/oauthtest"
)

// TestAttackForeignHost: DNS rebinding. A web page at evil.test whose name
// is made to resolve to 127.0.0.1 can send requests to the sign-in
// listener from the user's browser, with "Host: evil.test:PORT", and read
// the answers as same-origin. Before the fix the listener served them:
// the start page answered 302 with the provider's URL (the state and PKCE
// challenge) to such a request, and the user's own browser then got
// ErrIntercepted. Now any request whose Host is not 127.0.0.1:PORT or
// localhost:PORT gets 400, changes nothing, and the sign-in goes on.
func TestAttackForeignHost(t *testing.T) {
	s := oauthtest.New("alice@example.test")
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	browser := func(start string) error {
		u, err := url.Parse(start)
		if err != nil {
			return err
		}
		port := u.Port()
		for _, host := range []string{"evil.test:" + port, "evil.test", "127.0.0.1.evil.test:" + port, "127.0.0.1:1", "[::1]:" + port} {
			for _, path := range []string{u.Path, "/?state=x&code=y"} {
				req, err := http.NewRequest("GET", u.Scheme+"://"+u.Host+path, nil)
				if err != nil {
					return err
				}
				req.Host = host
				resp, err := noRedirects.Do(req)
				if err != nil {
					return err
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || strings.Contains(string(body), s.AuthURL) {
					t.Errorf("Host %q %s: status %d, Location %q", host, path, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		}
		// The user's browser may use either loopback name.
		return s.Browser()(strings.Replace(start, "127.0.0.1", "localhost", 1))
	}
	tok, err := oauth.Login(ctx, testConfig(s), oauth.LoginOptions{OpenBrowser: browser})
	if err != nil {
		t.Fatalf("Login after requests with a foreign Host: %v", err)
	}
	if err := s.CheckAccessToken("alice@example.test", tok.AccessToken); err != nil {
		t.Error(err)
	}
}

// TestAttackStartPageRace documents the residual risk of the one-time
// start page: another local user who reads the browser's command line
// (/proc/PID/cmdline) and fetches the start page before the browser does
// gets the provider's URL. The user's browser then finds the page used
// and the sign-in stops (ErrIntercepted), unless the attacker finished a
// whole sign-in at the provider, with an account of their own, and
// delivered its redirect before the user's browser asked for the start
// page (milliseconds after it was opened). Even then the identity check
// (LoginOptions.Identities, which securesend always sets) refuses the
// attacker's account: the login-CSRF stores nothing.
func TestAttackStartPageRace(t *testing.T) {
	for _, identities := range [][]string{nil, {"alice@example.test"}} {
		s := oauthtest.New("alice@example.test")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		browser := func(start string) error {
			s.SignInAs("mallory@example.test") // the attacker's account
			err := s.Browser()(start)          // the attacker wins the whole race
			s.SignInAs("alice@example.test")
			if err != nil {
				return err
			}
			return s.Browser()(start) // the user's browser, too late
		}
		tok, err := oauth.Login(ctx, testConfig(s), oauth.LoginOptions{OpenBrowser: browser, Identities: identities})
		cancel()
		s.Close()
		if identities == nil {
			// The residual risk without the identity check: the attacker's
			// sign-in is the one returned.
			if err != nil || tok == nil {
				t.Fatalf("without Identities: %v", err)
			}
			continue
		}
		if !errors.Is(err, oauth.ErrWrongUser) || tok != nil {
			t.Fatalf("with Identities: Login = %v, %v; want ErrWrongUser", tok, err)
		}
	}
}

// TestAttackHugeTokenResponse: a token endpoint (or something in its
// place on a loopback test setup) answering with an endless body. The
// oauth2 package reads at most 1 MiB of it; the refresh fails with
// ErrProvider quickly, without holding the body in memory.
func TestAttackHugeTokenResponse(t *testing.T) {
	var sent int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"`)
		chunk := []byte(strings.Repeat("A", 64<<10))
		for range 16 << 10 { // up to 1 GiB
			n, err := w.Write(chunk)
			sent += int64(n)
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	cfg := oauth.Config{ClientID: "client", AuthURL: srv.URL + "/auth", TokenURL: srv.URL + "/token"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	src, err := oauth.TokenSource(ctx, cfg, &memStore{rt: "rt"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	begun := time.Now()
	_, err = src.Token()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if err == nil || !errors.Is(err, oauth.ErrProvider) && !errors.Is(err, oauth.ErrUnreachable) {
		t.Fatalf("Token = %v, want ErrProvider or ErrUnreachable", err)
	}
	if d := time.Since(begun); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("allocated %d MiB for the response", grew>>20)
	}
	t.Logf("error: %v; server wrote %d MiB before the client hung up", err, sent>>20)
}
