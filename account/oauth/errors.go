package oauth

import (
	"errors"
	"fmt"

	"golang.org/x/oauth2"
)

// Error kinds; every error from Login and from a TokenSource wraps one of
// them (or a context error), so callers branch with errors.Is.
var (
	// ErrSignInAgain: there is no refresh token, or the provider says it
	// expired or was revoked. The user must sign in again in the browser.
	ErrSignInAgain = errors.New("the sign-in for this account has expired or was revoked; sign in again with 'securesend account login'")
	// ErrDenied: the user (or the organisation's policy) declined the
	// sign-in at the provider.
	ErrDenied = errors.New("the sign-in was declined at the identity provider")
	// ErrState: requests that did not belong to this sign-in (a forged or
	// stale redirect, a wrong state) reached the redirect listener; they
	// were answered 400 and nothing was exchanged for them. Login wraps it,
	// with the context's error, when the sign-in then timed out.
	ErrState = errors.New("the sign-in response did not match this sign-in attempt (state mismatch), so it was refused; try again")
	// ErrUnreachable: the provider's token endpoint could not be reached.
	ErrUnreachable = errors.New("could not reach the identity provider's token endpoint; check the network and try again")
	// ErrProvider: the provider answered with an error other than the above.
	ErrProvider = errors.New("the identity provider refused the request")
)

// classify maps an error from golang.org/x/oauth2 to one of the kinds above,
// keeping only the provider's error code and description (the raw response
// body is dropped: it is not ours to print).
func classify(op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		detail := printable(re.ErrorCode)
		if re.ErrorDescription != "" {
			detail += ": " + printable(re.ErrorDescription)
		}
		if detail == "" && re.Response != nil {
			detail = re.Response.Status
		}
		switch re.ErrorCode {
		case "invalid_grant":
			return fmt.Errorf("oauth: %s: %w (%s)", op, ErrSignInAgain, detail)
		}
		if re.Response != nil && re.Response.StatusCode >= 500 {
			return fmt.Errorf("oauth: %s: %w (%s)", op, ErrUnreachable, detail)
		}
		return fmt.Errorf("oauth: %s: %w (%s)", op, ErrProvider, detail)
	}
	if errors.Is(err, ErrSignInAgain) {
		return err
	}
	return fmt.Errorf("oauth: %s: %w: %w", op, ErrUnreachable, err)
}

// Error kinds of the sign-in's safety checks.
var (
	// ErrIntercepted: the one-time start page of a sign-in was requested
	// twice, so another program may have read its address; the sign-in was
	// stopped and nothing was exchanged.
	ErrIntercepted = errors.New("the sign-in page was opened twice (another program may have read its address), so the sign-in was stopped; try again")
	// ErrWrongUser: the user signed in at the provider as someone other
	// than the account's user. Nothing was stored.
	ErrWrongUser = errors.New("signed in as a different user than the account's")
	// ErrNoIdentity: the provider did not say who signed in (no ID token
	// with an e-mail address or user name), so the sign-in could not be
	// checked against the account. Nothing was stored.
	ErrNoIdentity = errors.New("the identity provider did not say who signed in")
)
