package account

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"

	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/account/xoauth2"
	"github.com/securesend/securesend/send"
)

// Authenticator returns how a signs in to server (host:port), as a
// send.Authenticator that both SMTP and IMAP use: PLAIN or LOGIN with the
// keychain password, or OAUTHBEARER/XOAUTH2 with an access token refreshed
// from the keychain's refresh token. For OAuth accounts a fresh access
// token is fetched now, so an expired sign-in is reported here (as
// oauth.ErrSignInAgain) rather than as a refused login.
func (a *Account) Authenticator(ctx context.Context, secrets Secrets, server string) (send.Authenticator, error) {
	if !a.IsOAuth() {
		pw, err := password(a, secrets)
		if err != nil {
			return nil, err
		}
		return passwordAuth(a.Login(), pw), nil
	}
	ts, err := a.TokenSource(ctx, secrets)
	if err != nil {
		return nil, err
	}
	if _, err := ts.Token(); err != nil {
		return nil, fmt.Errorf("account %s: %w", a.Name, err)
	}
	host, portStr, _ := net.SplitHostPort(server)
	port, _ := strconv.Atoi(portStr)
	return OAuthAuth(a.Login(), ts, host, port), nil
}

// TokenSource returns the account's OAuth access tokens, refreshed when
// needed with the refresh token in the keychain (and the rotated one saved
// back, under the account's cross-process refresh lock for an account from
// a Store). ctx bounds every refresh.
func (a *Account) TokenSource(ctx context.Context, secrets Secrets) (*oauth.Source, error) {
	cs, err := clientSecret(a, secrets)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", a.Name, err)
	}
	cfg, err := a.OAuthConfig(cs)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", a.Name, err)
	}
	return oauth.TokenSource(ctx, cfg, RefreshStore(a, secrets), nil)
}

// OAuthAuth returns a send.Authenticator that signs user in with an access
// token from ts: OAUTHBEARER (RFC 7628) when the server offers it, else
// XOAUTH2. host and port are sent in OAUTHBEARER's initial response.
//
// When the server refuses the token (its error challenge), the SASL client
// tells ts (through a Refused(accessToken string) method, as *oauth.Source
// has) and its TokenRefused method reports true, once per Authenticator:
// the caller then calls the Authenticator again, which signs in with a
// freshly refreshed token (see RetryRefusedToken).
func OAuthAuth(user string, ts oauth2.TokenSource, host string, port int) send.Authenticator {
	var retried atomic.Bool
	return func(mechs []string) (sasl.Client, string, error) {
		var mech string
		switch {
		case hasMech(mechs, sasl.OAuthBearer):
			mech = sasl.OAuthBearer
		case hasMech(mechs, xoauth2.Mechanism):
			mech = xoauth2.Mechanism
		default:
			return nil, "", fmt.Errorf("%w: the server offers neither OAUTHBEARER nor XOAUTH2 (it offers %s)", ErrAuth, strings.Join(mechs, ", "))
		}
		tok, err := ts.Token()
		if err != nil {
			return nil, "", err
		}
		r := &refusal{ts: ts, token: tok.AccessToken, retried: &retried}
		if mech == sasl.OAuthBearer {
			c := sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: tok.AccessToken, Host: host, Port: port})
			return &oauthBearer{Client: c, refusal: r}, mech, nil
		}
		return &xoauth2Client{Client: xoauth2.NewClient(user, tok.AccessToken), refusal: r}, mech, nil
	}
}

// RetryRefusedToken reports whether the SASL exchange of client failed
// because the server refused its OAuth access token, for the first time
// with this Authenticator: the cached token has then been dropped, and
// calling the Authenticator again and repeating the exchange once uses a
// freshly refreshed token. It is false for a password sign-in.
func RetryRefusedToken(client sasl.Client) bool {
	r, ok := client.(interface{ TokenRefused() bool })
	return ok && r.TokenRefused()
}

// refusal records that the server refused an access token.
type refusal struct {
	ts      oauth2.TokenSource
	token   string
	refused bool
	retried *atomic.Bool // shared by the clients of one Authenticator
}

// refuse notes the server's error challenge and drops the token from ts.
func (r *refusal) refuse() {
	r.refused = true
	if s, ok := r.ts.(interface{ Refused(string) }); ok {
		s.Refused(r.token)
	}
}

// TokenRefused reports whether the server refused the token and no retry
// has been granted yet for this Authenticator.
func (r *refusal) TokenRefused() bool {
	return r.refused && r.retried.CompareAndSwap(false, true)
}

// xoauth2Client is the XOAUTH2 client that notes the server's refusal.
type xoauth2Client struct {
	sasl.Client
	*refusal
}

func (x *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	x.refuse()
	return x.Client.Next(challenge)
}

// oauthBearer is go-sasl's OAUTHBEARER client, answering the server's
// error challenge with the dummy response %x01 as RFC 7628 section 3.2.3
// requires (go-sasl returns an error instead, which aborts the exchange
// with "*" and turns a refused token into a protocol error). The server
// then fails the exchange with its own reply (535 on SMTP, NO on IMAP).
type oauthBearer struct {
	sasl.Client
	*refusal
	failed error
}

func (o *oauthBearer) Next(challenge []byte) ([]byte, error) {
	if o.failed != nil {
		return nil, o.failed
	}
	o.refuse()
	_, err := o.Client.Next(challenge)
	if err == nil {
		err = fmt.Errorf("%w: unexpected OAUTHBEARER challenge", ErrAuth)
	}
	o.failed = err
	return []byte{0x01}, nil
}

// passwordAuth is send.PasswordAuth (PLAIN, or LOGIN when PLAIN is not
// offered) whose refusal also matches ErrAuth.
func passwordAuth(user, pass string) send.Authenticator {
	inner := send.PasswordAuth(user, pass)
	return func(mechs []string) (sasl.Client, string, error) {
		c, m, err := inner(mechs)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrAuth, err)
		}
		return c, m, nil
	}
}

func hasMech(mechs []string, m string) bool {
	return slices.ContainsFunc(mechs, func(x string) bool { return strings.EqualFold(x, m) })
}
