package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// RefreshStore keeps the refresh token of one account. securesend's
// implementation is the OS keychain; Load returns ErrSignInAgain (wrapped)
// when there is none.
type RefreshStore interface {
	Load() (string, error)
	Save(refreshToken string) error
}

// RefreshLocker is implemented by a RefreshStore that other processes share
// (the keychain: the GUI, the CLI and the hot folder use one account at
// once). Source holds the lock from loading the refresh token until the
// rotated one is saved, so that two processes never spend the same refresh
// token: providers that rotate refresh tokens (Microsoft Entra) or detect
// their reuse would otherwise sign the user out. LockRefresh waits for the
// lock until ctx ends.
type RefreshLocker interface {
	LockRefresh(ctx context.Context) (unlock func(), err error)
}

// Source hands out access tokens for one account: the cached one while it is
// valid, otherwise a new one from a refresh with the refresh token in its
// RefreshStore (the rotated refresh token is saved back). It is safe for
// concurrent use.
type Source struct {
	ctx   context.Context
	conf  *oauth2.Config
	store RefreshStore

	mu  sync.Mutex
	tok *oauth2.Token
}

// TokenSource returns a Source for cfg whose refresh token lives in store.
// ctx bounds every refresh request (and the wait for a RefreshLocker's
// lock); httpClient may be nil. An expired or revoked refresh token yields
// ErrSignInAgain.
func TokenSource(ctx context.Context, cfg Config, store RefreshStore, httpClient *http.Client) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if httpClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, httpClient)
	}
	return &Source{ctx: ctx, conf: cfg.oauth2(""), store: store}, nil
}

// Token returns a valid access token, refreshing it when the cached one
// has expired (or was refused, see Refused).
func (s *Source) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Valid() {
		return s.tok, nil
	}
	tok, err := s.refresh()
	if err != nil {
		return nil, err
	}
	s.tok = tok
	return tok, nil
}

// Refused tells the source that a mail server refused accessToken although
// it had not expired by the client's clock (revoked, or the clocks
// disagree): when it is the cached token, it is dropped, so the next Token
// refreshes. A token other than the cached one changes nothing.
func (s *Source) Refused(accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == accessToken {
		s.tok = nil
	}
}

// refreshTimeout bounds a refresh whose context has no deadline: the
// oauth2 package's default HTTP client has none.
const refreshTimeout = time.Minute

// refresh runs load -> refresh -> save under the store's lock. When the
// provider says the refresh token is no longer valid (invalid_grant) and
// the store now holds a different one, another process (one that does not
// take the lock, such as an older securesend) rotated it meanwhile: the
// refresh is retried once with that one.
func (s *Source) refresh() (*oauth2.Token, error) {
	ctx := s.ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, refreshTimeout)
		defer cancel()
	}
	if l, ok := s.store.(RefreshLocker); ok {
		unlock, err := l.LockRefresh(ctx)
		if err != nil {
			return nil, fmt.Errorf("oauth: wait for another securesend to finish refreshing the sign-in: %w", err)
		}
		defer unlock()
	}
	rt, err := s.load()
	if err != nil {
		return nil, err
	}
	tok, err := s.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	if isInvalidGrant(err) {
		again, lerr := s.load()
		if lerr == nil && again != rt {
			rt = again
			tok, err = s.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
		}
	}
	if err != nil {
		return nil, classify("refresh the access token", err)
	}
	if tok.RefreshToken != "" && tok.RefreshToken != rt {
		if err := s.store.Save(tok.RefreshToken); err != nil {
			return nil, fmt.Errorf("oauth: keep the new refresh token: %w", err)
		}
	}
	if tok.AccessToken == "" {
		return nil, errors.New("oauth: the identity provider returned no access token")
	}
	return tok, nil
}

func (s *Source) load() (string, error) {
	rt, err := s.store.Load()
	if err != nil {
		return "", err
	}
	if rt == "" {
		return "", fmt.Errorf("oauth: %w", ErrSignInAgain)
	}
	return rt, nil
}

func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}
