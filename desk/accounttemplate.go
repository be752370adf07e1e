package desk

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
)

// ErrNoTemplate: the organisation's profile has no account template of
// the name given.
var ErrNoTemplate = errors.New("no such account template in your organisation's profile")

// AccountFromTemplate is the account that name and email complete the
// organisation's template t to: the template's servers, their security,
// and its sign-in (password, or the OAuth provider with the template's
// client ID and tenant). Its CA, if any, is not yet kept:
// KeepTemplateCA does that when the account is added.
func AccountFromTemplate(t profile.AccountTemplate, name, email string) account.Account {
	sec := func(s string) account.Security {
		if s == "starttls" {
			return account.StartTLS
		}
		return account.ImplicitTLS
	}
	a := account.Account{Name: name, Email: email, Auth: account.AuthPassword,
		SMTP: account.Server{Address: net.JoinHostPort(t.SMTPHost, strconv.Itoa(t.SMTPPort)), Security: sec(t.SMTPSecurity)}}
	if t.IMAPHost != "" {
		a.IMAP = account.Server{Address: net.JoinHostPort(t.IMAPHost, strconv.Itoa(t.IMAPPort)), Security: sec(t.IMAPSecurity)}
	}
	if t.Auth == "oauth2" {
		a.Auth = account.AuthMethod(t.OAuthProvider)
		a.OAuth = &account.OAuthSettings{ClientID: t.OAuthClientID, Tenant: t.OAuthTenant}
	}
	return a
}

// KeepTemplateCA keeps the organisation's own CA of template t, when it
// has one, in home h beside the accounts (ca-NAME.pem, written
// atomically) and makes a, made from t, trust it (Account.CAFile).
func KeepTemplateCA(h home.Home, t profile.AccountTemplate, a *account.Account) error {
	if t.CAPEM == "" {
		return nil
	}
	p := h.Path("ca-" + a.Name + ".pem")
	err := h.Ensure()
	if err == nil {
		err = atomicfile.WriteFile(p, []byte(t.CAPEM))
	}
	if err != nil {
		return fmt.Errorf("the organisation's certificate could not be saved: %w", err)
	}
	a.CAFile = p
	return nil
}

// Templates are the organisation's account templates (none without a
// profile).
func (m *AccountManager) Templates() ([]profile.AccountTemplate, error) {
	pol, _, err := m.d.Policy(profile.UserSettings{})
	if err != nil {
		return nil, err
	}
	return pol.Templates(), nil
}

// Template is the organisation's account template called name (any
// case); the error (ErrNoTemplate) lists the templates there are.
func (m *AccountManager) Template(name string) (profile.AccountTemplate, error) {
	ts, err := m.Templates()
	if err != nil {
		return profile.AccountTemplate{}, err
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		if strings.EqualFold(strings.TrimSpace(name), t.Name) {
			return t, nil
		}
		names[i] = strconv.Quote(t.Name)
	}
	if len(names) == 0 {
		return profile.AccountTemplate{}, fmt.Errorf("%q: %w (it has none)", name, ErrNoTemplate)
	}
	return profile.AccountTemplate{}, fmt.Errorf("%q: %w (it has %s)", name, ErrNoTemplate, strings.Join(names, ", "))
}

// AddFromTemplate adds account name, address email, on the organisation's
// template t with its secrets (Add: the policy check, the keychain, the
// audit log), and keeps the template's CA for it. The template's sign-in
// decides which secret is needed: a password for "password" templates.
func (m *AccountManager) AddFromTemplate(t profile.AccountTemplate, name, email string, c account.Credentials) (account.Account, error) {
	a := AccountFromTemplate(t, name, email)
	if !a.IsOAuth() && c.Password == "" {
		return a, fmt.Errorf("the template %s signs in with a password: give the mailbox's password", t.Name)
	}
	if err := a.Validate(); err != nil {
		return a, err // before anything is written
	}
	// An account of that name keeps its own CA file: ca-NAME.pem is
	// not overwritten for an Add that would refuse the name.
	if _, err := m.Get(name); err == nil {
		return a, fmt.Errorf("account %q: %w", name, account.ErrExists)
	} else if !errors.Is(err, account.ErrNotFound) {
		return a, err
	}
	if err := KeepTemplateCA(m.d.home, t, &a); err != nil {
		return a, err
	}
	if err := m.Add(a, c); err != nil {
		if a.CAFile != "" {
			os.Remove(a.CAFile) // written above for this account only
		}
		return a, err
	}
	return a, nil
}
