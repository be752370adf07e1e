package account

import (
	"context"

	"github.com/securesend/securesend/send"
)

// SendOptions returns the options for sending from a with send.Submit: the
// account's SMTP server and security mode, TLS 1.2 or later, its CA file as
// extra roots, REQUIRETLS when the account requires it, and the sign-in (see
// Authenticator). Secrets are read from the keychain; with the keychain
// unavailable this fails with keychain.ErrUnavailable.
func (a *Account) SendOptions(ctx context.Context, secrets Secrets) (send.Options, error) {
	if err := a.Validate(); err != nil {
		return send.Options{}, err
	}
	roots, err := a.extraRoots()
	if err != nil {
		return send.Options{}, err
	}
	auth, err := a.Authenticator(ctx, secrets, a.SMTP.Address)
	if err != nil {
		return send.Options{}, err
	}
	sec := send.ImplicitTLS
	if a.SMTP.Security == StartTLS {
		sec = send.StartTLS
	}
	return send.Options{
		Server:     a.SMTP.Address,
		Security:   sec,
		RootCAs:    roots,
		Auth:       auth,
		RequireTLS: a.RequireTLS,
	}, nil
}
