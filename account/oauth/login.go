package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// LoginOptions are the optional parts of Login.
type LoginOptions struct {
	// OpenBrowser shows the sign-in page to the user. It is given a
	// one-time local address (http://127.0.0.1:PORT/start/TOKEN) that
	// redirects to the provider, never the provider's URL itself. The
	// desktop app and CLI use SystemBrowser; tests drive the page with an
	// HTTP client. Required.
	OpenBrowser func(url string) error
	// LoginHint pre-fills the user name on the provider's page.
	LoginHint string
	// Identities, when not empty, are the user names the sign-in must be
	// for (compared without regard to the case of ASCII letters): the ID
	// token's email claim with email_verified true, or, from Microsoft
	// Entra ID only, its preferred_username or upn claim, must be one of
	// them, or Login fails with ErrWrongUser (or ErrNoIdentity when the
	// provider does not say who signed in). Login then asks for the OpenID Connect scopes openid,
	// email and profile as well.
	Identities []string
	// HTTPClient, when set, is used for the token endpoint.
	HTTPClient *http.Client
}

// oidcScopes are added to the requested scopes when Login checks who
// signed in; they make the provider return an ID token with the user's
// e-mail address and user name.
var oidcScopes = []string{"openid", "email", "profile"}

// callback is what the redirect listener received.
type callback struct {
	code string
	err  error
}

// Login signs the user in: it starts a listener on 127.0.0.1 at a random
// port, opens a one-time local start page that redirects the browser to the
// provider's authorization page (with a PKCE S256 challenge and a random
// state), waits for the redirect back, checks the state, exchanges the code
// (with the PKCE verifier) for tokens and checks who signed in (see
// LoginOptions.Identities). It returns the token, whose RefreshToken the
// caller must store in the keychain.
//
// The provider's URL, which carries the state, the PKCE challenge and the
// port, is never put on a command line (where other local users can read
// it): the browser is given http://127.0.0.1:PORT/start/TOKEN, which works
// once. Should it be requested a second time, someone else may have read it,
// and the sign-in ends with ErrIntercepted. Requests to the listener that do
// not carry this sign-in's state (a stray or forged redirect, a favicon) are
// answered 400 and the sign-in keeps waiting for the real redirect.
//
// It returns ErrDenied when the user declined, ErrUnreachable/ErrProvider
// when the exchange fails, ErrWrongUser or ErrNoIdentity when the identity
// check fails, and the context's error when ctx ends first (the user never
// finished; the error also wraps ErrState if requests with a wrong state
// were refused meanwhile).
func Login(ctx context.Context, cfg Config, opts LoginOptions) (*oauth2.Token, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.OpenBrowser == nil {
		return nil, errors.New("oauth: no way to open a browser")
	}
	if len(opts.Identities) > 0 {
		for _, s := range oidcScopes {
			if !slices.Contains(cfg.Scopes, s) {
				cfg.Scopes = append(slices.Clip(cfg.Scopes), s)
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("oauth: start the sign-in listener: %w", err)
	}
	base := "http://" + ln.Addr().String()
	state, err := randomString()
	if err != nil {
		ln.Close()
		return nil, err
	}
	start, err := randomString()
	if err != nil {
		ln.Close()
		return nil, err
	}
	verifier := oauth2.GenerateVerifier()
	conf := cfg.oauth2(base + "/")

	params := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for k, v := range cfg.AuthParams {
		params = append(params, oauth2.SetAuthURLParam(k, v))
	}
	if opts.LoginHint != "" {
		params = append(params, oauth2.SetAuthURLParam("login_hint", opts.LoginHint))
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	l := &listener{
		hosts:   []string{"127.0.0.1:" + port, "localhost:" + port},
		state:   state,
		start:   start,
		authURL: conf.AuthCodeURL(state, params...),
		done:    make(chan callback, 1),
	}
	srv := &http.Server{
		Handler:           l,
		ReadHeaderTimeout: 30 * time.Second,
	}
	go srv.Serve(ln) //nolint:errcheck // Serve returns when Shutdown is called.
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx) //nolint:errcheck // best effort; the listener is closed either way.
	}()

	if err := opts.OpenBrowser(base + "/start/" + start); err != nil {
		return nil, fmt.Errorf("oauth: open the browser: %w", err)
	}

	var cb callback
	select {
	case cb = <-l.done:
	case <-ctx.Done():
		if n := l.refusedCount(); n > 0 {
			return nil, fmt.Errorf("oauth: no sign-in came back from the browser: %w (and %d request(s) to the sign-in listener were refused: %w)", ctx.Err(), n, ErrState)
		}
		return nil, fmt.Errorf("oauth: no sign-in came back from the browser: %w", ctx.Err())
	}
	if cb.err != nil {
		return nil, cb.err
	}
	xctx := ctx
	if opts.HTTPClient != nil {
		xctx = context.WithValue(ctx, oauth2.HTTPClient, opts.HTTPClient)
	}
	tok, err := conf.Exchange(xctx, cb.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, classify("exchange the sign-in code", err)
	}
	if tok.RefreshToken == "" {
		return nil, fmt.Errorf("oauth: %w (no refresh token was issued; is offline access granted?)", ErrProvider)
	}
	if len(opts.Identities) > 0 {
		if err := checkIdentity(tok, cfg.ClientID, userNameClaims(cfg.TokenURL), opts.Identities, time.Now()); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

// listener serves the one-time start page and the provider's redirect.
type listener struct {
	hosts                 []string // the Host headers it answers
	state, start, authURL string
	done                  chan callback

	mu      sync.Mutex
	started bool // the start page was served
	sent    bool // Login has its callback
	refused int  // requests answered 400
}

func (l *listener) refusedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}

// ServeHTTP answers GET /start/TOKEN once with a redirect to the provider,
// and the redirect to "/" carrying this sign-in's state once; everything
// else gets 400 and changes nothing, except a second request for the start
// page, which ends the sign-in (ErrIntercepted). A request whose Host is
// not 127.0.0.1:PORT or localhost:PORT comes from a page that had its own
// name resolve to this computer (DNS rebinding) and could read the
// answer: it gets 400 before anything else is looked at.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !slices.ContainsFunc(l.hosts, func(h string) bool { return strings.EqualFold(h, r.Host) }) {
		l.refuse(w, "This address only serves the securesend sign-in.")
		return
	}
	if r.Method != http.MethodGet {
		l.refuse(w, "This address only serves the securesend sign-in.")
		return
	}
	if tok, ok := strings.CutPrefix(r.URL.Path, "/start/"); ok && equal(tok, l.start) {
		l.mu.Lock()
		again := l.started
		l.started = true
		l.mu.Unlock()
		if again {
			l.finish(callback{err: fmt.Errorf("oauth: %w", ErrIntercepted)})
			l.page(w, http.StatusBadRequest, "This sign-in page was already opened once, so the sign-in was stopped. Start the sign-in again in securesend.")
			return
		}
		http.Redirect(w, r, l.authURL, http.StatusFound)
		return
	}
	q := r.URL.Query()
	if r.URL.Path != "/" || !equal(q.Get("state"), l.state) {
		l.refuse(w, "This request does not belong to the securesend sign-in in progress.")
		return
	}
	var cb callback
	switch {
	case q.Get("error") != "":
		detail := printable(q.Get("error"))
		if d := q.Get("error_description"); d != "" {
			detail += ": " + printable(d)
		}
		cb.err = fmt.Errorf("oauth: %w (%s)", ErrDenied, detail)
	case q.Get("code") == "":
		cb.err = fmt.Errorf("oauth: %w (the redirect carried no code)", ErrProvider)
	default:
		cb.code = q.Get("code")
	}
	if !l.finish(cb) {
		l.refuse(w, "This sign-in has already finished.")
		return
	}
	if cb.err != nil {
		l.page(w, http.StatusBadRequest, "The sign-in did not complete: "+cb.err.Error())
		return
	}
	l.page(w, http.StatusOK, "Signed in. You can close this window and return to securesend.")
}

// finish hands cb to Login, once; it reports whether it did.
func (l *listener) finish(cb callback) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent {
		return false
	}
	l.sent = true
	l.done <- cb // buffered for one; sent at most once
	return true
}

func (l *listener) refuse(w http.ResponseWriter, msg string) {
	l.mu.Lock()
	l.refused++
	l.mu.Unlock()
	l.page(w, http.StatusBadRequest, msg)
}

func (l *listener) page(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>securesend</title><p>%s</p>\n", html.EscapeString(msg))
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("oauth: random state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
