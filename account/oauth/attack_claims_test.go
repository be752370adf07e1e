package oauth

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/securesend/securesend/account/oauth/oauthtest"
)

// TestAttackUnverifiedClaims: the identity check accepted claims that the
// provider does not vouch for. Before the fix both tokens below passed
// for alice@example.test (err = nil):
//   - Microsoft sends email without email_verified, and the claim is
//     whatever a user or tenant admin typed ("nOAuth"): mallory's work
//     account with email alice@... passed although preferred_username
//     says who really signed in.
//   - Any other provider's preferred_username is free text (OpenID
//     Connect Core 1.0 section 5.1): a Google-like or self-hosted
//     provider's user who picked "alice@example.test" as user name
//     passed.
//
// Now email counts only with email_verified true, and preferred_username
// and upn only from Microsoft Entra ID's token endpoint.
func TestAttackUnverifiedClaims(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	valid := now.Add(time.Hour).Unix()
	for _, tc := range []struct {
		name      string
		tokenURL  string
		claims    map[string]any
		wantErr   error
		microsoft bool
	}{
		{"microsoft: unverified email names the account, user name another", "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
			map[string]any{"email": "alice@example.test", "preferred_username": "mallory@evil.onmicrosoft.com"}, ErrWrongUser, true},
		{"microsoft: only an email claim", "https://login.microsoftonline.com/common/oauth2/v2.0/token",
			map[string]any{"email": "alice@example.test"}, ErrNoIdentity, true},
		{"microsoft: user name", "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
			map[string]any{"email": "mallory@evil.test", "preferred_username": "Alice@example.test"}, nil, true},
		{"other provider: free-text user name", "https://idp.example.test/token",
			map[string]any{"preferred_username": "alice@example.test"}, ErrNoIdentity, false},
		{"other provider: user name over an unverified email", "https://idp.example.test/token",
			map[string]any{"email": "alice@example.test", "preferred_username": "alice@example.test"}, ErrNoIdentity, false},
		{"google: verified email", "https://oauth2.googleapis.com/token",
			map[string]any{"email": "alice@example.test", "email_verified": true}, nil, false},
		{"look-alike host is not microsoft", "https://login.microsoftonline.com.evil.test/token",
			map[string]any{"preferred_username": "alice@example.test"}, ErrNoIdentity, false},
		{"plain http is not microsoft", "http://login.microsoftonline.com/token",
			map[string]any{"preferred_username": "alice@example.test"}, ErrNoIdentity, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := userNameClaims(tc.tokenURL); got != tc.microsoft {
				t.Fatalf("userNameClaims(%s) = %v", tc.tokenURL, got)
			}
			tc.claims["aud"], tc.claims["exp"] = "client", valid
			tok := (&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{"id_token": oauthtest.IDToken(tc.claims)})
			err := checkIdentity(tok, "client", userNameClaims(tc.tokenURL), []string{"alice@example.test"}, now)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
