package oauth

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/securesend/securesend/account/oauth/oauthtest"
)

func TestCheckIdentity(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	valid := now.Add(time.Hour).Unix()
	tests := []struct {
		name      string
		microsoft bool // the token endpoint is Microsoft Entra ID's
		idToken   string
		wantErr   error
	}{
		{"verified email", false, oauthtest.IDToken(map[string]any{"aud": "client", "exp": valid, "email": "Alice@Example.test", "email_verified": true}), nil},
		{"verified email as a string", false, oauthtest.IDToken(map[string]any{"aud": "client", "exp": valid, "email": "alice@example.test", "email_verified": "true"}), nil},
		{"microsoft preferred_username, audience list", true, oauthtest.IDToken(map[string]any{"aud": []string{"x", "client"}, "exp": valid, "preferred_username": "alice@example.test"}), nil},
		{"microsoft v1 upn", true, oauthtest.IDToken(map[string]any{"aud": "client", "exp": valid, "upn": "alice@example.test"}), nil},
		{"unverified email does not count", false, oauthtest.IDToken(map[string]any{"aud": "client", "exp": valid, "email": "alice@example.test", "email_verified": false}), ErrNoIdentity},
		{"unverified email, microsoft user name of another", true, oauthtest.IDToken(map[string]any{"aud": "client", "exp": valid, "email": "alice@example.test", "email_verified": false, "preferred_username": "bob@example.test"}), ErrWrongUser},
		{"other user", false, oauthtest.IDToken(map[string]any{"aud": "client", "exp": valid, "email": "bob@example.test", "email_verified": true}), ErrWrongUser},
		{"other audience", false, oauthtest.IDToken(map[string]any{"aud": "other-app", "exp": valid, "email": "alice@example.test", "email_verified": true}), ErrNoIdentity},
		{"expired", false, oauthtest.IDToken(map[string]any{"aud": "client", "exp": now.Add(-time.Hour).Unix(), "email": "alice@example.test", "email_verified": true}), ErrNoIdentity},
		{"no claims", true, oauthtest.IDToken(map[string]any{"aud": "client", "exp": valid}), ErrNoIdentity},
		{"not a JWT", false, "abc", ErrNoIdentity},
		{"claims not base64", false, "a.!!!.c", ErrNoIdentity},
		{"no ID token", false, "", ErrNoIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := (&oauth2.Token{AccessToken: "at"}).WithExtra(map[string]any{"id_token": tt.idToken})
			err := checkIdentity(tok, "client", tt.microsoft, []string{"alice@example.test"}, now)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("checkIdentity = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"bob@example.test":          "bob@example.test",
		"bob\x1b[2J\x07@x":          "bob?[2J?@x",
		"evil\u202egnp.exe@x":       "evil?gnp.exe@x",
		string(make([]byte, 300)):   "",
		"ünïcödé name@example.test": "ünïcödé name@example.test",
	} {
		got := printable(in)
		if in == string(make([]byte, 300)) {
			if len([]rune(got)) != 201 {
				t.Errorf("printable of 300 NULs has %d runes, want 200 and an ellipsis", len([]rune(got)))
			}
			continue
		}
		if got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}
