// Package oauthtest is a small but real OAuth 2.0 authorization server for
// tests: authorization code flow with PKCE (S256 only), loopback redirect
// URIs, state passed through, one-time codes, expiring and rotating refresh
// tokens (with reuse detection that revokes the whole sign-in, as providers
// that rotate refresh tokens do), OpenID Connect ID tokens when the openid
// scope is asked for, and access tokens that SMTP/IMAP test servers can
// check. Its clock is injectable so that tests expire tokens without
// sleeping.
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
	"slices"
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

	deny         bool
	tamperState  bool
	detectReuse  bool
	signInAs     string
	noIDToken    bool
	refuseChecks int
	lastAuth     url.Values
	accessTTL    time.Duration
	refreshTTL   time.Duration
	refreshDelay time.Duration

	codes    map[string]grant
	refresh  map[string]issuedToken // refresh token -> its sign-in
	spent    map[string]int         // rotated-away refresh token -> its sign-in
	access   map[string]issuedToken // access token -> its sign-in
	refreshN int
	reuseN   int
	families int
	issued   []string // every token and code ever issued
}

type grant struct {
	challenge, redirect, scope, user string
}

// issuedToken is a refresh or access token: its expiry, user and sign-in
// (family) number.
type issuedToken struct {
	exp    time.Time
	user   string
	family int
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
		refresh:    map[string]issuedToken{},
		spent:      map[string]int{},
		access:     map[string]issuedToken{},
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
func (s *Server) RevokeAll() { s.mu.Lock(); s.refresh = map[string]issuedToken{}; s.mu.Unlock() }

// RevokeAccessTokens revokes every access token issued so far, as a
// provider does after a password change: the mail servers refuse them
// although they have not expired, while refresh tokens still work.
func (s *Server) RevokeAccessTokens() {
	s.mu.Lock()
	s.access = map[string]issuedToken{}
	s.mu.Unlock()
}

// DetectReuse makes the server treat a refresh token that was already
// rotated away as stolen: the request fails with invalid_grant and every
// refresh and access token of that sign-in is revoked, so the user must
// sign in again (as Auth0, Okta and the OAuth 2.0 Security BCP do).
func (s *Server) DetectReuse(v bool) { s.mu.Lock(); s.detectReuse = v; s.mu.Unlock() }

// SetRefreshDelay makes every refresh-token grant wait d before answering
// (without holding up other requests), so that tests can make two
// refreshes overlap.
func (s *Server) SetRefreshDelay(d time.Duration) { s.mu.Lock(); s.refreshDelay = d; s.mu.Unlock() }

// SignInAs makes the consent page sign in as user instead of Server.User,
// as when someone picks another of their accounts at the provider. The
// ID token and the access tokens are then for user.
func (s *Server) SignInAs(user string) { s.mu.Lock(); s.signInAs = user; s.mu.Unlock() }

// NoIDToken makes the server issue no ID token even for the openid scope,
// as a plain OAuth 2.0 provider does.
func (s *Server) NoIDToken(v bool) { s.mu.Lock(); s.noIDToken = v; s.mu.Unlock() }

// RefuseNextAccessChecks makes the next n calls of CheckAccessToken fail,
// as a mail server does with a token that is valid but not yet known to it
// (Microsoft 365 right after consent) or that was revoked.
func (s *Server) RefuseNextAccessChecks(n int) { s.mu.Lock(); s.refuseChecks = n; s.mu.Unlock() }

// LastAuthorization is the query of the last authorization request.
func (s *Server) LastAuthorization() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuth
}

// Refreshes is the number of successful refresh-token grants.
func (s *Server) Refreshes() int { s.mu.Lock(); defer s.mu.Unlock(); return s.refreshN }

// Reuses is the number of refresh requests with a refresh token that had
// already been rotated away.
func (s *Server) Reuses() int { s.mu.Lock(); defer s.mu.Unlock(); return s.reuseN }

// SignedIn reports whether a valid refresh token remains from any sign-in.
func (s *Server) SignedIn() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.refresh {
		if s.now.Before(t.exp) {
			return true
		}
	}
	return false
}

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
	at, ok := s.access[token]
	if s.refuseChecks > 0 {
		s.refuseChecks--
		return fmt.Errorf("oauthtest: access token refused")
	}
	switch {
	case !ok:
		return fmt.Errorf("oauthtest: unknown access token")
	case !s.now.Before(at.exp):
		return fmt.Errorf("oauthtest: access token expired")
	case user != at.user:
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
	s.mu.Lock()
	s.lastAuth = q
	s.mu.Unlock()
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
		who := s.User
		if s.signInAs != "" {
			who = s.signInAs
		}
		s.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: redirect, scope: q.Get("scope"), user: who}
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
		s.families++
		s.issueLocked(w, g.scope, g.user, s.families)
	case "refresh_token":
		if d := s.refreshDelay; d > 0 {
			s.mu.Unlock()
			time.Sleep(d)
			s.mu.Lock()
		}
		rt := r.PostForm.Get("refresh_token")
		if fam, used := s.spent[rt]; used {
			s.reuseN++
			if s.detectReuse {
				s.revokeFamilyLocked(fam)
				tokenError(w, "invalid_grant", "The refresh token was already used; the sign-in was revoked")
				return
			}
		}
		t, ok := s.refresh[rt]
		if !ok || !s.now.Before(t.exp) {
			delete(s.refresh, rt)
			tokenError(w, "invalid_grant", "The refresh token has expired or was revoked")
			return
		}
		delete(s.refresh, rt) // rotation, as Microsoft does
		s.spent[rt] = t.family
		s.refreshN++
		s.issueLocked(w, "", t.user, t.family)
	default:
		tokenError(w, "unsupported_grant_type", "")
	}
}

func (s *Server) revokeFamilyLocked(family int) {
	for k, t := range s.refresh {
		if t.family == family {
			delete(s.refresh, k)
		}
	}
	for k, t := range s.access {
		if t.family == family {
			delete(s.access, k)
		}
	}
}

func (s *Server) issueLocked(w http.ResponseWriter, scope, user string, family int) {
	at := s.newSecretLocked("at")
	rt := s.newSecretLocked("rt")
	s.access[at] = issuedToken{exp: s.now.Add(s.accessTTL), user: user, family: family}
	s.refresh[rt] = issuedToken{exp: s.now.Add(s.refreshTTL), user: user, family: family}
	resp := map[string]any{
		"access_token":  at,
		"token_type":    "Bearer",
		"expires_in":    int(s.accessTTL.Seconds()),
		"refresh_token": rt,
		"scope":         scope,
	}
	if slices.Contains(strings.Fields(scope), "openid") && !s.noIDToken {
		resp["id_token"] = IDToken(map[string]any{
			"iss":                s.URL,
			"aud":                ClientID,
			"sub":                "sub-" + user,
			"iat":                s.now.Unix(),
			"exp":                s.now.Add(time.Hour).Unix(),
			"email":              user,
			"email_verified":     true,
			"preferred_username": user,
		})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(resp) //nolint:errcheck // test server
}

// IDToken encodes claims as an unsigned JWT (alg "none"), as tests of ID
// token handling need; securesend reads ID tokens only from the token
// endpoint's TLS-protected answer and does not check their signature.
func IDToken(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + ".c2ln"
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
