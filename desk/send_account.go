package desk

import (
	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/profile"
)

// AccountAllowed checks, before any secret of a is read, that the
// organisation's policy in force now allows a's servers and sign-in (as
// for sending: gate.CheckRoute), and returns that policy, whose TLS floor
// every connection of a must use.
func (d *Desk) AccountAllowed(a *account.Account) (profile.Policy, error) {
	pol, err := d.side().policy(profile.UserSettings{})
	if err != nil {
		return profile.Policy{}, err
	}
	if err := gate.New(pol, nil).CheckRoute(gate.AccountRoute(a)); err != nil {
		return profile.Policy{}, err
	}
	return pol, nil
}

// AccountSettings is the server side of a as the policy compares it with
// the profile's account templates (profile.Policy.CheckAccount).
func AccountSettings(a *account.Account) profile.AccountSettings {
	return gate.AccountRoute(a).Server
}
