package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// LoginOptions are the optional parts of Login.
type LoginOptions struct {
	// OpenBrowser shows the provider's sign-in page to the user. The
	// desktop app and CLI use SystemBrowser; tests drive the page with an
	// HTTP client. Required.
	OpenBrowser func(url string) error
	// LoginHint pre-fills the user name on the provider's page.
	LoginHint string
	// HTTPClient, when set, is used for the token endpoint.
	HTTPClient *http.Client
}

// callback is what the redirect listener received.
type callback struct {
	code string
	err  error
}

// Login signs the user in: it starts a one-shot listener on 127.0.0.1 at a
// random port, opens the provider's authorization page with a PKCE S256
// challenge and a random state, waits for the redirect, checks the state and
// exchanges the code (with the PKCE verifier) for tokens. It returns the
// token, whose RefreshToken the caller must store in the keychain.
//
// It returns ErrState for a redirect with the wrong state, ErrDenied when the
// user declined, ErrUnreachable/ErrProvider when the exchange fails, and the
// context's error when ctx ends first (the user never finished).
func Login(ctx context.Context, cfg Config, opts LoginOptions) (*oauth2.Token, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.OpenBrowser == nil {
		return nil, errors.New("oauth: no way to open a browser")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("oauth: start the sign-in listener: %w", err)
	}
	redirect := fmt.Sprintf("http://%s/", ln.Addr().String())
	state, err := randomString()
	if err != nil {
		ln.Close()
		return nil, err
	}
	verifier := oauth2.GenerateVerifier()
	conf := cfg.oauth2(redirect)

	done := make(chan callback, 1)
	srv := &http.Server{
		Handler:           redirectHandler(state, done),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go srv.Serve(ln) //nolint:errcheck // Serve returns when Shutdown is called.
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx) //nolint:errcheck // best effort; the listener is closed either way.
	}()

	params := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for k, v := range cfg.AuthParams {
		params = append(params, oauth2.SetAuthURLParam(k, v))
	}
	if opts.LoginHint != "" {
		params = append(params, oauth2.SetAuthURLParam("login_hint", opts.LoginHint))
	}
	if err := opts.OpenBrowser(conf.AuthCodeURL(state, params...)); err != nil {
		return nil, fmt.Errorf("oauth: open the browser: %w", err)
	}

	var cb callback
	select {
	case cb = <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("oauth: waiting for the browser sign-in: %w", ctx.Err())
	}
	if cb.err != nil {
		return nil, cb.err
	}
	if opts.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, opts.HTTPClient)
	}
	tok, err := conf.Exchange(ctx, cb.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, classify("exchange the sign-in code", err)
	}
	if tok.RefreshToken == "" {
		return nil, fmt.Errorf("oauth: %w (no refresh token was issued; is offline access granted?)", ErrProvider)
	}
	return tok, nil
}

// redirectHandler answers the provider's redirect to "/" exactly once:
// the first request with a state or an error ends the sign-in, whatever it
// carries. Other paths (favicon.ico) get 404 and change nothing.
func redirectHandler(state string, done chan<- callback) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		var cb callback
		switch {
		case q.Get("state") != state:
			cb.err = fmt.Errorf("oauth: %w", ErrState)
		case q.Get("error") != "":
			detail := q.Get("error")
			if d := q.Get("error_description"); d != "" {
				detail += ": " + d
			}
			cb.err = fmt.Errorf("oauth: %w (%s)", ErrDenied, detail)
		case q.Get("code") == "":
			cb.err = fmt.Errorf("oauth: %w (the redirect carried no code)", ErrProvider)
		default:
			cb.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		msg := "Signed in. You can close this window and return to securesend."
		if cb.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			msg = "The sign-in did not complete: " + cb.err.Error()
		}
		fmt.Fprintf(w, "<!doctype html><title>securesend</title><p>%s</p>\n", html.EscapeString(msg))
		select {
		case done <- cb:
		default: // a second redirect after the first: ignored.
		}
	})
}

func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("oauth: random state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
