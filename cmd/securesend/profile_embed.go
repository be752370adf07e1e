package main

import (
	"embed"
	"fmt"
	"io/fs"
	"runtime"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
)

// bakedFiles is the organisation profile and pinned admin key that
// "securesend admin package" bakes into an installer build with
// go build -overlay (see baked/README.md). In a build from source the
// directory holds only its README: the build is unconfigured.
//
//go:embed baked
var bakedFiles embed.FS

// bakedProfile returns what this binary carries.
func bakedProfile() (profile.Baked, error) {
	sub, err := fs.Sub(bakedFiles, "baked")
	if err != nil {
		return profile.Baked{}, err
	}
	return profile.BakedFromFS(sub)
}

// profileStateFile is where the home remembers the highest profile serial
// seen. It is one of four floors (see loadOrgProfile): deleting it, or
// starting from a fresh home, does not reset the others.
func profileStateFile(h home.Home) string { return h.Path("profile-serials") }

// loadOrgProfile finds and verifies the organisation profile as the app does
// at start: the profile baked into this binary, the one in the OS's
// system-wide directory and the one in $SECURESEND_SYSTEM_DIR, each verified
// against the pinned admin key, highest serial wins. A build that pins an
// admin key refuses to run without a profile. No rollback: the serial must
// not be lower than the highest recorded in the home (profile-serials) or
// in the OS keychain (profile.SerialKeychainService, shared by all homes of
// this OS user), and a profile in $SECURESEND_SYSTEM_DIR must not be lower
// than the baked or OS system-wide one either.
// Every command that sends, receives or configures accounts, and the GUI,
// must call it first and stop on error: a tampered, unsigned or wrongly
// signed profile means nothing may be sent.
func loadOrgProfile(e *env) (*profile.Loaded, error) {
	baked := bakedProfile
	if e.baked != nil {
		baked = e.baked
	}
	b, err := baked()
	if err != nil {
		return nil, err
	}
	h, err := home.Resolve(e.getenv)
	if err != nil {
		return nil, err
	}
	l, err := profile.Load(profile.LoadOptions{
		Baked:       b,
		SystemDir:   profile.SystemDir(runtime.GOOS, e.getenv),
		OSSystemDir: profile.OSSystemDir(runtime.GOOS, e.getenv),
		StateFile:   profileStateFile(h),
		Serials:     profile.KeychainSerials(keychain.New(profile.SerialKeychainService)),
	})
	if err != nil {
		return nil, fmt.Errorf("organisation profile: %w", err)
	}
	return l, nil
}

// policyForCommand loads the organisation profile (an error means the
// command must stop: the profile is tampered, unsigned, wrongly signed or
// rolled back) and returns the effective policy: the profile's policy
// tightened by the user's security.toml, then by the command's flags.
func policyForCommand(e *env, flags profile.UserSettings) (profile.Policy, *profile.Loaded, error) {
	l, err := loadOrgProfile(e)
	if err != nil {
		return profile.Policy{}, nil, err
	}
	file, err := userSecuritySettings(e)
	if err != nil {
		return profile.Policy{}, nil, err
	}
	return profile.Effective(l.Profile, file, flags), l, nil
}

// userSecuritySettings reads security.toml from the securesend home; a
// missing file is no preference.
func userSecuritySettings(e *env) (profile.UserSettings, error) {
	h, err := home.Resolve(e.getenv)
	if err != nil {
		return profile.UserSettings{}, err
	}
	return profile.ReadUserSettings(h.Path(profile.UserSettingsFile))
}
