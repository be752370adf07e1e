package main

import (
	"embed"
	"fmt"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
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

// enforceSendPolicy is the policy gate of every sending path: it refuses m
// when the policy does (domains, directory, missing keys where encryption is
// required, document sizes), raises opts to the policy's minimum TLS version
// and REQUIRETLS, and reports whether the message must be encrypted. haveKey
// says whether a key the policy accepts exists for an address (see
// profile.Policy.KeyAllowed); nil means none.
func enforceSendPolicy(pol profile.Policy, m *send.Message, opts *send.Options, haveKey func(addr string) bool) (mustEncrypt bool, err error) {
	out := profile.Outgoing{From: m.From.Address, HaveKey: haveKey}
	for _, a := range append(append([]mail.Address(nil), m.To...), m.Cc...) {
		out.To = append(out.To, a.Address)
	}
	for _, d := range m.Documents {
		fi, err := os.Stat(d.Path)
		if err != nil {
			return false, fmt.Errorf("policy: %w", err)
		}
		name := d.Name
		if name == "" {
			name = filepath.Base(d.Path)
		}
		out.Documents = append(out.Documents, profile.Document{Name: name, Size: fi.Size()})
	}
	if err := pol.CheckSend(out); err != nil {
		return false, err
	}
	opts.MinTLSVersion = max(opts.MinTLSVersion, pol.MinTLS())
	opts.RequireTLS = opts.RequireTLS || pol.RequireTLS()
	return pol.MustEncrypt(out.To), nil
}

// policyKeys finds encryption keys as the policy allows: for a directory
// recipient always the directory's key (pinned by the signed profile); for
// anyone else the key store's key, and only when the policy lets users add
// keys. It implements send.KeyLookup, so the send path passes it to
// send.PlanProtection, and its Has method to enforceSendPolicy.
type policyKeys struct {
	pol   profile.Policy
	store *pgp.Store // nil: no user keys
	now   func() time.Time
}

var _ send.KeyLookup = policyKeys{}

// Lookup returns the key to encrypt to addr (send.KeyLookup).
func (k policyKeys) Lookup(addr string) (*pgp.PublicKey, pgp.Entry, error) {
	now := time.Now
	if k.now != nil {
		now = k.now
	}
	if r, ok := k.pol.Profile().Recipient(addr); ok {
		key, err := pgp.ReadPublicKey(strings.NewReader(r.PublicKey))
		if err != nil {
			return nil, pgp.Entry{}, fmt.Errorf("directory key for %s: %w", addr, err)
		}
		if err := key.UsableForEncryption(now()); err != nil {
			return nil, pgp.Entry{}, fmt.Errorf("directory key for %s: %w", addr, err)
		}
		return key, pgp.Entry{Fingerprint: key.Fingerprint(), Emails: []string{r.Email}, Trust: pgp.Pinned}, nil
	}
	if !k.pol.MayAddKeys() || k.store == nil {
		return nil, pgp.Entry{}, fmt.Errorf("%s: %w: %w", addr, profile.ErrKeyNotPinned, pgp.ErrNotFound)
	}
	return k.store.Lookup(addr)
}

// Has reports whether Lookup finds a usable key for addr (CheckSend's
// HaveKey).
func (k policyKeys) Has(addr string) bool {
	_, _, err := k.Lookup(addr)
	return err == nil
}
