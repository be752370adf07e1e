// Package oauthtest is a small but real OAuth 2.0 authorization server for
// tests: authorization code flow with PKCE (S256 only), loopback redirect
// URIs, state passed through, one-time codes, expiring and rotating refresh
// tokens, and access tokens that SMTP/IMAP test servers can check. Its clock
// is injectable so that tests expire tokens without sleeping.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ClientID is the client the server accepts.
const ClientID = "securesend-test-client"

// Server is a running authorization server.
type Server struct {
	// URL is the base URL; AuthURL and TokenURL are the endpoints.
	URL, AuthURL, TokenURL string
	// User is the account that signs in at the consent page.
	User string

	srv *httptest.Server
	mu  sync.Mutex
	now time.Time

	deny        bool
	tamperState bool
	accessTTL   time.Duration
	refreshTTL  time.Duration

	codes    map[string]grant
	refresh  map[string]time.Time // refresh token -> expiry
	access   map[string]time.Time // access token -> expiry
	refreshN int
	issued   []string // every token and code ever issued
}

type grant struct {
	challenge, redirect, scope string
}

// New starts a server on 127.0.0.1 for user. Access tokens live one hour
// and refresh tokens thirty days, by the server's clock (see Advance).
func New(user string) *Server {
	s := &Server{
		User:       user,
		now:        time.Now(),
		accessTTL:  time.Hour,
		refreshTTL: 30 * 24 * time.Hour,
		codes:      map[string]grant{},
		refresh:    map[string]time.Time{},
		access:     map[string]time.Time{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	s.AuthURL = s.URL + "/authorize"
	s.TokenURL = s.URL + "/token"
	return s
}

// Close stops the server; its endpoints are then unreachable.
func (s *Server) Close() { s.srv.Close() }

// Deny makes the consent page decline (error=access_denied).
func (s *Server) Deny(v bool) { s.mu.Lock(); s.deny = v; s.mu.Unlock() }

// TamperState makes the redirect carry a different state, as a forged
// redirect would.
func (s *Server) TamperState(v bool) { s.mu.Lock(); s.tamperState = v; s.mu.Unlock() }

// SetAccessTTL sets the lifetime of access tokens issued from now on. A
// lifetime under ten seconds makes golang.org/x/oauth2 treat the token as
// already expired, so every use refreshes.
func (s *Server) SetAccessTTL(d time.Duration) { s.mu.Lock(); s.accessTTL = d; s.mu.Unlock() }

// Advance moves the server's clock forward, expiring tokens.
func (s *Server) Advance(d time.Duration) { s.mu.Lock(); s.now = s.now.Add(d); s.mu.Unlock() }

// RevokeAll revokes every refresh token.
func (s *Server) RevokeAll() { s.mu.Lock(); s.refresh = map[string]time.Time{}; s.mu.Unlock() }

// Refreshes is the number of successful refresh-token grants.
func (s *Server) Refreshes() int { s.mu.Lock(); defer s.mu.Unlock(); return s.refreshN }

// Issued returns every code and token the server ever issued, for tests
// that search files and output for leaked secrets.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// CheckAccessToken reports whether token is a valid, unexpired access token
// for user. SMTP and IMAP test servers call it.
func (s *Server) CheckAccessToken(user, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.access[token]
	switch {
	case !ok:
		return fmt.Errorf("oauthtest: unknown access token")
	case !s.now.Before(exp):
		return fmt.Errorf("oauthtest: access token expired")
	case user != s.User:
		return fmt.Errorf("oauthtest: token is not for %q", user)
	}
	return nil
}

// Browser returns an OpenBrowser function that plays the user: it GETs the
// authorization URL and follows the redirect to the loopback listener.
func (s *Server) Browser() func(string) error {
	return func(u string) error {
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	if err != nil || ru.Scheme != "http" || ru.Hostname() != "127.0.0.1" || ru.Port() == "" {
		http.Error(w, "redirect_uri must be a loopback address with a port", http.StatusBadRequest)
		return
	}
	if q.Get("client_id") != ClientID || q.Get("response_type") != "code" {
		http.Error(w, "unknown client or response type", http.StatusBadRequest)
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "PKCE S256 is required", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	state := q.Get("state")
	if s.tamperState {
		state += "x"
	}
	v := url.Values{"state": {state}}
	if s.deny {
		v.Set("error", "access_denied")
		v.Set("error_description", "The user declined consent")
	} else {
		code := s.newSecretLocked("code")
		s.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: redirect, scope: q.Get("scope")}
		v.Set("code", code)
	}
	s.mu.Unlock()
	http.Redirect(w, r, redirect+"?"+v.Encode(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", "bad form")
		return
	}
	if r.PostForm.Get("client_id") != ClientID {
		tokenError(w, "invalid_client", "unknown client")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		g, ok := s.codes[code]
		delete(s.codes, code) // one use only
		if !ok {
			tokenError(w, "invalid_grant", "unknown or used code")
			return
		}
		if r.PostForm.Get("redirect_uri") != g.redirect {
			tokenError(w, "invalid_grant", "redirect_uri does not match")
			return
		}
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			tokenError(w, "invalid_grant", "PKCE verification failed")
			return
		}
		s.issueLocked(w, g.scope)
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		exp, ok := s.refresh[rt]
		if !ok || !s.now.Before(exp) {
			delete(s.refresh, rt)
			tokenError(w, "invalid_grant", "The refresh token has expired or was revoked")
			return
		}
		delete(s.refresh, rt) // rotation, as Microsoft does
		s.refreshN++
		s.issueLocked(w, "")
	default:
		tokenError(w, "unsupported_grant_type", "")
	}
}

func (s *Server) issueLocked(w http.ResponseWriter, scope string) {
	at := s.newSecretLocked("at")
	rt := s.newSecretLocked("rt")
	s.access[at] = s.now.Add(s.accessTTL)
	s.refresh[rt] = s.now.Add(s.refreshTTL)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck // test server
		"access_token":  at,
		"token_type":    "Bearer",
		"expires_in":    int(s.accessTTL.Seconds()),
		"refresh_token": rt,
		"scope":         scope,
	})
}

func (s *Server) newSecretLocked(prefix string) string {
	b := make([]byte, 18)
	rand.Read(b) //nolint:errcheck // never fails
	v := prefix + "-" + strings.TrimRight(base64.RawURLEncoding.EncodeToString(b), "=")
	s.issued = append(s.issued, v)
	return v
}

func tokenError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc}) //nolint:errcheck // test server
}
