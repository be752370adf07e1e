package main

import (
	"fmt"
	"github.com/securesend/securesend/desk"
	"strings"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/profile"
)

// importDirectoryKeys pins the organisation directory's recipient keys in
// the key store ks, so that receiving (inbox, verify) counts mail signed by
// them as from a pinned key: the directory is signed by the organisation,
// which is what pinning means. Without a profile it does nothing.
func importDirectoryKeys(l *profile.Loaded, ks *pgp.Store) error {
	if !l.Managed() {
		return nil
	}
	for _, r := range l.Profile.Recipients {
		// Bound to exactly the directory's address, whatever else the key
		// claims; the directory is authoritative for it, so it replaces a
		// key pinned there before (e.g. the previous directory key).
		opts := pgp.ImportOptions{Emails: []string{r.Email}, Pin: true, Replace: true}
		if _, err := ks.Import(strings.NewReader(r.PublicKey), opts); err != nil {
			return fmt.Errorf("organisation directory key for %s: %w", r.Email, err)
		}
	}
	return nil
}

// receivePolicy loads the organisation profile for a receiving command,
// pins its directory keys in ks (nil: skip) and returns the policy, whose
// MinTLS the IMAP connection must use.
func receivePolicy(e *env, ks *pgp.Store) (profile.Policy, error) {
	pol, l, err := policyForCommand(e, profile.UserSettings{})
	if err != nil {
		return profile.Policy{}, err
	}
	if ks != nil {
		if err := importDirectoryKeys(l, ks); err != nil {
			return profile.Policy{}, err
		}
	}
	return pol, nil
}

// imapOptions are the IMAP options the policy demands for account a: an
// error when the policy does not allow the account.
func imapOptions(pol profile.Policy, a *account.Account) (account.IMAPOptions, error) {
	if err := pol.CheckAccount(desk.AccountSettings(a)); err != nil {
		return account.IMAPOptions{}, fmt.Errorf("account %s: %w", a.Name, err)
	}
	return account.IMAPOptions{MinTLSVersion: pol.MinTLS()}, nil
}
