package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
)

// RefreshStore keeps the refresh token of one account. securesend's
// implementation is the OS keychain; Load returns ErrSignInAgain (wrapped)
// when there is none.
type RefreshStore interface {
	Load() (string, error)
	Save(refreshToken string) error
}

// TokenSource returns an oauth2.TokenSource that hands out the cached access
// token while it is valid and otherwise refreshes it with the refresh token
// from store. When the provider rotates the refresh token, the new one is
// saved to store. An expired or revoked refresh token yields ErrSignInAgain.
// ctx bounds every refresh request; httpClient may be nil.
func TokenSource(ctx context.Context, cfg Config, store RefreshStore, httpClient *http.Client) (oauth2.TokenSource, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if httpClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, httpClient)
	}
	return oauth2.ReuseTokenSource(nil, &refresher{ctx: ctx, conf: cfg.oauth2(""), store: store}), nil
}

// refresher performs one refresh per call, reading the refresh token from
// the store each time so that a sign-in elsewhere is picked up.
type refresher struct {
	ctx   context.Context
	conf  *oauth2.Config
	store RefreshStore
	mu    sync.Mutex
}

func (r *refresher) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt, err := r.store.Load()
	if err != nil {
		return nil, err
	}
	if rt == "" {
		return nil, fmt.Errorf("oauth: %w", ErrSignInAgain)
	}
	// The oauth2 package's own source refreshes because the token has no
	// access token; it does not cache beyond this call.
	tok, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		return nil, classify("refresh the access token", err)
	}
	if tok.RefreshToken != "" && tok.RefreshToken != rt {
		if err := r.store.Save(tok.RefreshToken); err != nil {
			return nil, fmt.Errorf("oauth: keep the new refresh token: %w", err)
		}
	}
	if tok.AccessToken == "" {
		return nil, errors.New("oauth: the identity provider returned no access token")
	}
	return tok, nil
}
