package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/profile"
)

// AccountManager is the home's account store with the use cases the
// command line and the Settings tab share: it is the account.Store (its
// read methods as they are) whose changes are checked against the
// organisation policy where it has a say and recorded in the audit log
// (account.change). Get it from Desk.ManageAccounts.
type AccountManager struct {
	*account.Store
	d *Desk
}

// ManageAccounts returns the home's account store as an AccountManager.
func (d *Desk) ManageAccounts() *AccountManager {
	return &AccountManager{Store: d.Accounts(), d: d}
}

// Add adds account a with its secrets (kept in the OS keychain) when the
// organisation policy allows its servers, sign-in and TLS settings, and
// records the change. What a leaves empty is filled first (AccountDefaults):
// the policy checks what is stored.
func (m *AccountManager) Add(a account.Account, c account.Credentials) error {
	AccountDefaults(&a)
	pol, _, err := m.d.Policy(profile.UserSettings{})
	if err != nil {
		return err
	}
	if err := pol.CheckAccount(gate.AccountRoute(&a).Server); err != nil {
		return err
	}
	if err := m.Store.Add(a, c); err != nil {
		return err
	}
	m.d.auditAccount(a.Name, a.Email, "add")
	return nil
}

// Remove removes account name and its keychain entries, and records the
// change.
func (m *AccountManager) Remove(name string) error {
	a, err := m.Get(name)
	if err != nil {
		return err
	}
	if err := m.Store.Remove(a.Name); err != nil {
		return err
	}
	m.d.auditAccount(a.Name, a.Email, "remove")
	return nil
}

// SignIn runs the browser sign-in of OAuth account name (bounded by
// ctx), keeps the sign-in in the OS keychain and records it.
func (m *AccountManager) SignIn(ctx context.Context, name string, opts oauth.LoginOptions) error {
	if err := m.Store.SignIn(ctx, name, opts); err != nil {
		return err
	}
	if a, err := m.Get(name); err == nil {
		m.d.auditAccount(a.Name, a.Email, "sign-in")
	}
	return nil
}

// ErrOAuthAccount refuses a password for an account that signs in with
// OAuth.
var ErrOAuthAccount = errors.New("the account signs in with OAuth, not a password")

// SetPassword replaces the password of password account name in the OS
// keychain and records the change.
func (m *AccountManager) SetPassword(name, password string) error {
	a, err := m.Get(name)
	if err != nil {
		return err
	}
	if a.IsOAuth() {
		return fmt.Errorf("%s signs in with %s; use 'securesend account login %s': %w", name, a.Auth, name, ErrOAuthAccount)
	}
	if err := m.Store.SetPassword(name, password); err != nil {
		return err
	}
	m.d.auditAccount(a.Name, a.Email, "password")
	return nil
}

// Test connects to the servers of account name over the policy's lowest
// TLS version or later and signs in; it sends no mail. An account the
// policy does not allow is refused before its secrets are read. The
// report is returned with an error too, as far as the test got.
func (m *AccountManager) Test(ctx context.Context, name string) (*account.TestReport, error) {
	a, err := m.Get(name)
	if err != nil {
		return nil, err
	}
	pol, _, err := m.d.Policy(profile.UserSettings{})
	if err != nil {
		return nil, err
	}
	if err := gate.New(pol, nil).CheckRoute(gate.AccountRoute(a)); err != nil {
		return nil, err
	}
	rep, err := a.Test(ctx, m.Secrets(), account.TestOptions{MinTLSVersion: pol.MinTLS()})
	if err != nil {
		return rep, fmt.Errorf("%s: %w", a.Name, err)
	}
	return rep, nil
}

// auditAccount appends an account.change event to the audit log. The
// change has already happened, so a failure is a warning, not undone.
func (d *Desk) auditAccount(name, email, change string) {
	err := d.record(audit.AccountChange, audit.Fields{"account": name, "address": email, "setting": change})
	if err != nil {
		d.warn(fmt.Errorf("the audit log could not record this change: %w", err))
	}
}

// AccountDefaults fills the settings of a that the user left empty: the
// servers of a Microsoft 365 or Google account from the provider's
// preset, and a server's security from its port: implicit TLS on 465
// (SMTP) and 993 (IMAP), STARTTLS on any other.
func AccountDefaults(a *account.Account) {
	a.ApplyPreset()
	defaultSecurity(&a.SMTP, "465")
	defaultSecurity(&a.IMAP, "993")
}

// defaultSecurity picks s's security from its port when none is given:
// implicitPort means implicit TLS, anything else STARTTLS.
func defaultSecurity(s *account.Server, implicitPort string) {
	if s.Security != "" || s.Address == "" {
		return
	}
	s.Security = account.StartTLS
	if strings.HasSuffix(s.Address, ":"+implicitPort) {
		s.Security = account.ImplicitTLS
	}
}
