package profile

import (
	"errors"
	"fmt"

	"github.com/securesend/securesend/internal/asciifold"
)

// ErrAccountNotAllowed: the organisation locks accounts, and this account's
// servers, security or sign-in method match none of the profile's templates.
var ErrAccountNotAllowed = errors.New("your organisation's profile locks the mail accounts: use one of its account templates")

// AccountSettings is the server side of a mail account, as CheckAccount
// compares it with the profile's templates.
type AccountSettings struct {
	SMTPHost     string
	SMTPPort     int
	SMTPSecurity string // "tls" or "starttls"
	IMAPHost     string // empty for a send-only account
	IMAPPort     int
	IMAPSecurity string
	// Auth is "password", or the OAuth provider: "microsoft" or "google"
	// (the account package's AuthMethod values).
	Auth string
}

// Templates returns the profile's account templates (nil without a profile).
func (p Policy) Templates() []AccountTemplate {
	if p.org == nil {
		return nil
	}
	return append([]AccountTemplate(nil), p.org.Accounts...)
}

// CheckAccount is what account set-up (CLI and GUI) and every use of an
// account call: when the profile locks accounts, a must match one of its
// templates in servers, ports, security and sign-in method; otherwise any
// account is allowed (TLS is enforced by send and the IMAP client anyway).
func (p Policy) CheckAccount(a AccountSettings) error {
	if !p.Locked(LockAccounts) {
		return nil
	}
	for _, t := range p.org.Accounts {
		if t.matches(a) {
			return nil
		}
	}
	return &Violation{Kind: ErrAccountNotAllowed, Subject: fmt.Sprintf("%s:%d", a.SMTPHost, a.SMTPPort)}
}

func (t AccountTemplate) matches(a AccountSettings) bool {
	auth := t.Auth
	if auth == "oauth2" {
		auth = t.OAuthProvider
	}
	if !asciifold.Equal(t.SMTPHost, a.SMTPHost) || t.SMTPPort != a.SMTPPort || t.SMTPSecurity != a.SMTPSecurity || auth != a.Auth {
		return false
	}
	if a.IMAPHost == "" {
		return true
	}
	return asciifold.Equal(t.IMAPHost, a.IMAPHost) && t.IMAPPort == a.IMAPPort && t.IMAPSecurity == a.IMAPSecurity
}
