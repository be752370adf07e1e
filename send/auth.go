package send

import (
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
)

// PasswordAuth returns an Authenticator for a user name and password:
// SASL PLAIN (RFC 4616) when the server offers it, else LOGIN. It fails
// with ErrAuth when the server offers neither. Submit only ever calls it
// inside TLS. Neither the password nor the user name appears in any error.
func PasswordAuth(username, password string) Authenticator {
	return func(mechanisms []string) (sasl.Client, string, error) {
		for _, want := range []string{sasl.Plain, sasl.Login} {
			for _, m := range mechanisms {
				if strings.EqualFold(m, want) {
					if want == sasl.Plain {
						return sasl.NewPlainClient("", username, password), sasl.Plain, nil
					}
					return sasl.NewLoginClient(username, password), sasl.Login, nil
				}
			}
		}
		offered := strings.Join(mechanisms, " ")
		if offered == "" {
			offered = "none"
		}
		return nil, "", authError(fmt.Sprintf("the server offers no password sign-in (PLAIN or LOGIN; it offers: %s)", offered))
	}
}

// authError is an error about signing in that matches ErrAuth.
type authError string

func (e authError) Error() string { return string(e) }

// Is makes errors.Is(err, ErrAuth) true.
func (e authError) Is(target error) bool { return target == ErrAuth }
