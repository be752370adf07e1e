package desk

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/profile/author"
	"github.com/securesend/securesend/send"
)

// ProfileSource says which organisation profile a show or a dry run
// ("admin profile show", "admin policy check") works on: the one in force
// (the zero value; Profile), only the one baked into this binary
// (Embedded), or a signed bundle on disk under review (Bundle).
type ProfileSource struct {
	Embedded bool
	Bundle   *author.Bundle
}

// ErrNoBakedProfile is ProfileFrom's answer for Embedded in a build that
// carries no profile.
var ErrNoBakedProfile = errors.New("this securesend build has no baked organisation profile (it was not built by 'securesend admin package')")

// ProfileFrom loads and verifies the profile src names. Only the profile
// in force raises the rollback floors (Profile); a baked profile or a
// bundle is checked against its own pinned key alone.
func (d *Desk) ProfileFrom(src ProfileSource) (*profile.Loaded, error) {
	switch {
	case src.Bundle != nil:
		return src.Bundle.Load()
	case src.Embedded:
		var b profile.Baked
		if d.opts.Baked != nil {
			var err error
			if b, err = d.opts.Baked(); err != nil {
				return nil, err
			}
		}
		if len(b.Profile) == 0 {
			return nil, ErrNoBakedProfile
		}
		return profile.Load(profile.LoadOptions{Baked: b})
	}
	return d.Profile()
}

// PolicyFrom is Policy for the profile src names: its policy tightened by
// the user's security.toml, then by flags.
func (d *Desk) PolicyFrom(src ProfileSource, flags profile.UserSettings) (profile.Policy, *profile.Loaded, error) {
	l, err := d.ProfileFrom(src)
	if err != nil {
		return profile.Policy{}, nil, err
	}
	file, err := d.UserSettings()
	if err != nil {
		return profile.Policy{}, nil, err
	}
	return profile.Effective(l.Profile, file, flags), l, nil
}

// auditProfileChange records a newly seen organisation profile serial in
// the audit log (a policy.change by the admin key); a failure to record is
// a warning. Profile calls it: the serial floor is raised only once, so
// each new serial is recorded once, by whichever front end saw it first.
func (d *Desk) auditProfileChange(l *profile.Loaded) {
	if !l.Managed() || !l.Changed {
		return
	}
	err := d.record(audit.PolicyChange, audit.Fields{
		"setting": "organisation profile serial", "old": strconv.FormatInt(l.PreviousSerial, 10),
		"new": strconv.FormatInt(l.Profile.Serial, 10), "actor": l.Fingerprint,
	})
	if err != nil {
		d.warn(fmt.Errorf("the audit log could not record the new organisation profile: %w", err))
	}
}

// CheckPolicyOf dry-runs Send's policy gate for m (CheckPolicy) under the
// policy PolicyFrom gives for src and flags, with the keys that count
// under it: the directory's always, the home's key store only when that
// policy lets users add keys.
func (d *Desk) CheckPolicyOf(src ProfileSource, flags profile.UserSettings, m *send.Message) (*PolicyVerdict, error) {
	pol, _, err := d.PolicyFrom(src, flags)
	if err != nil {
		return nil, err
	}
	var keys *pgp.Store
	if pol.MayAddKeys() {
		if keys, err = d.Keys(); err != nil {
			return nil, err
		}
	}
	return CheckPolicy(pol, keys, m)
}
