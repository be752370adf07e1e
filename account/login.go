package account

import (
	"context"
	"fmt"

	"github.com/securesend/securesend/account/oauth"
)

// SignIn runs the OAuth 2.0 sign-in of account name in the browser (see
// oauth.Login) and keeps the refresh token in the keychain, replacing any
// earlier one. The keychain is checked before the browser opens, so a
// locked keychain never costs the user a sign-in.
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
	tok, err := oauth.Login(ctx, cfg, opts)
	if err != nil {
		return fmt.Errorf("account %s: sign-in: %w", name, err)
	}
	if err := RefreshStore(a, s.secrets).Save(tok.RefreshToken); err != nil {
		return fmt.Errorf("account %s: keep the sign-in: %w", name, err)
	}
	return nil
}
