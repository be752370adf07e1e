package oauth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/securesend/securesend/internal/asciifold"
)

// idClaims are the claims of an OpenID Connect ID token that say who
// signed in. Microsoft puts the sign-in name in preferred_username (and upn
// in v1 tokens) and the mailbox address, when configured, in email; Google
// puts the address in email with email_verified.
type idClaims struct {
	Audience          audience `json:"aud"`
	Expiry            int64    `json:"exp"`
	Email             string   `json:"email"`
	EmailVerified     verified `json:"email_verified"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
}

// verified is the email_verified claim: true only for the JSON value true
// (or the string "true", which some providers send); absent, false or
// anything else is false.
type verified bool

func (v *verified) UnmarshalJSON(b []byte) error {
	*v = verified(string(b) == "true" || string(b) == `"true"`)
	return nil
}

// microsoftLoginHosts are the hosts of Microsoft Entra ID's token
// endpoints (the global cloud, US Government, China).
var microsoftLoginHosts = []string{"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn", "login.chinacloudapi.cn"}

// userNameClaims reports whether the provider whose token endpoint is
// tokenURL (reached over TLS) is Microsoft Entra ID, whose
// preferred_username and upn name the work account the tenant verified.
// Elsewhere they are free text (OpenID Connect Core 1.0 section 5.1:
// preferred_username "MAY be any valid JSON string"), so they do not count.
func userNameClaims(tokenURL string) bool {
	u, err := url.Parse(tokenURL)
	if err != nil || u.Scheme != "https" {
		return false
	}
	for _, h := range microsoftLoginHosts {
		if strings.EqualFold(u.Hostname(), h) {
			return true
		}
	}
	return false
}

// audience is the aud claim: one string or a list.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// checkIdentity reads the ID token that came with tok and checks that it
// was issued to clientID, has not expired, and names one of want (without
// regard to the case of ASCII letters) in a claim the provider vouches
// for: email only with email_verified true (Google); preferred_username or
// upn only when microsoft is true (the token endpoint is Microsoft Entra
// ID's, see userNameClaims). Microsoft's email claim comes without
// email_verified and is not verified (a user or tenant admin can set it
// to any address: the "nOAuth" attack), so it never counts.
//
// The token's signature is not checked: it came straight from the token
// endpoint over TLS in exchange for this sign-in's code and PKCE verifier,
// which OpenID Connect Core 1.0 section 3.1.3.7 accepts in place of the
// signature. The check guards against signing in with the wrong account
// (a personal one, a colleague's); the mail server still decides what the
// access token may do.
func checkIdentity(tok *oauth2.Token, clientID string, microsoft bool, want []string, now time.Time) error {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return fmt.Errorf("oauth: %w (no ID token was returned), so the sign-in could not be checked against %s; nothing was stored", ErrNoIdentity, want[0])
	}
	c, err := parseIDToken(raw)
	if err != nil {
		return fmt.Errorf("oauth: %w (%v); nothing was stored", ErrNoIdentity, err)
	}
	if !containsFold(c.Audience, clientID) {
		return fmt.Errorf("oauth: %w (the ID token was issued to another application); nothing was stored", ErrNoIdentity)
	}
	if c.Expiry != 0 && now.After(time.Unix(c.Expiry, 0).Add(5*time.Minute)) {
		return fmt.Errorf("oauth: %w (the ID token has expired; is this computer's clock right?); nothing was stored", ErrNoIdentity)
	}
	var got []string
	if c.Email != "" && c.EmailVerified {
		got = append(got, c.Email)
	}
	if microsoft {
		for _, v := range []string{c.PreferredUsername, c.UPN} {
			if v != "" {
				got = append(got, v)
			}
		}
	}
	if len(got) == 0 {
		return fmt.Errorf("oauth: %w (the ID token names no verified e-mail address or, from Microsoft, no user name), so the sign-in could not be checked against %s; nothing was stored", ErrNoIdentity, want[0])
	}
	for _, g := range got {
		if containsFold(want, strings.TrimSpace(g)) {
			return nil
		}
	}
	return fmt.Errorf("oauth: you signed in as %s, but the account is %s: %w; nothing was stored. Sign in again as %s (use \"sign in with another account\" on the provider's page)",
		printable(got[0]), want[0], ErrWrongUser, want[0])
}

// parseIDToken decodes the claims of a JWT (header.claims.signature)
// without checking its signature (see checkIdentity).
func parseIDToken(raw string) (*idClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("the ID token is not a JWT")
	}
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("the ID token's claims are not base64url")
	}
	var c idClaims
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("the ID token's claims are not JSON")
	}
	return &c, nil
}

// containsFold reports whether list holds s, with ASCII letters compared
// without regard to case. Other characters must be the same:
// strings.EqualFold would let look-alikes such as the Kelvin sign (U+212A)
// pass for "k".
func containsFold(list []string, s string) bool {
	for _, v := range list {
		if asciifold.Equal(v, s) {
			return true
		}
	}
	return false
}

// printable makes a string from a provider (a user name, an error
// description) safe to show on a terminal or in the GUI: control and
// formatting characters (including bidirectional overrides) become '?',
// and it is cut to 200 characters.
func printable(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 200 {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) || unicode.Is(unicode.Cf, r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
