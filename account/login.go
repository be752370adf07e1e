package account

import (
	"context"
	"fmt"
	"strings"

	"github.com/securesend/securesend/account/oauth"
)

// SignIn runs the OAuth 2.0 sign-in of account name in the browser (see
// oauth.Login) and keeps the refresh token in the keychain, replacing any
// earlier one. The keychain is checked before the browser opens, so a
// locked keychain never costs the user a sign-in.
//
// The sign-in must be for the account: the provider's ID token must name
// the account's user name or address (opts.Identities is set to these,
// whatever the caller gave), otherwise SignIn fails with oauth.ErrWrongUser
// or oauth.ErrNoIdentity and nothing is stored. The new refresh token is
// saved under the account's refresh lock, so that a process refreshing the
// old sign-in at that moment does not overwrite it.
func (s *Store) SignIn(ctx context.Context, name string, opts oauth.LoginOptions) error {
	a, err := s.Get(name)
	if err != nil {
		return err
	}
	cs, err := clientSecret(a, s.secrets)
	if err != nil {
		return fmt.Errorf("account %s: %w", name, err)
	}
	cfg, err := a.OAuthConfig(cs)
	if err != nil {
		return fmt.Errorf("account %s: %w", name, err)
	}
	if opts.LoginHint == "" {
		opts.LoginHint = a.Login()
	}
	opts.Identities = []string{a.Login()}
	if !strings.EqualFold(a.Email, a.Login()) {
		opts.Identities = append(opts.Identities, a.Email)
	}
	tok, err := oauth.Login(ctx, cfg, opts)
	if err != nil {
		return fmt.Errorf("account %s: sign-in: %w", name, err)
	}
	rs := RefreshStore(a, s.secrets)
	if l, ok := rs.(oauth.RefreshLocker); ok {
		unlock, err := l.LockRefresh(context.WithoutCancel(ctx))
		if err != nil {
			return fmt.Errorf("account %s: keep the sign-in: %w", name, err)
		}
		defer unlock()
	}
	if err := rs.Save(tok.RefreshToken); err != nil {
		return fmt.Errorf("account %s: keep the sign-in: %w", name, err)
	}
	return nil
}
