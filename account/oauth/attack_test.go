package oauth

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/securesend/securesend/account/oauth/oauthtest"
)

// TestAttackIdentityUnicodeFold: an ID token naming a look-alike user
// must not pass for the account. strings.EqualFold folds the Kelvin sign
// (U+212A) to "k" and the long s (U+017F) to "s", so a provider account
// named "\u212Aate@..." (a name some providers let users choose, as the
// unverified email claim is) passed for kate@...; a sign-in to the wrong
// mailbox was then stored. Only ASCII letters match without regard to
// case now.
func TestAttackIdentityUnicodeFold(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	valid := now.Add(time.Hour).Unix()
	for _, tc := range []struct {
		name, claim string
		want        error
	}{
		{"ASCII case", "KATE@Pharmacy.TEST", nil},
		{"Kelvin sign", "\u212Aate@pharmacy.test", ErrWrongUser},
		{"long s", "kate@pharmacy.te\u017Ft", ErrWrongUser},
		{"same non-ASCII", "zoë@pharmacy.test", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := []string{"kate@pharmacy.test", "zoë@pharmacy.test"}
			tok := (&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{
				"id_token": oauthtest.IDToken(map[string]any{"aud": "client", "exp": valid, "preferred_username": tc.claim}),
			})
			err := checkIdentity(tok, "client", true, want, now)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
