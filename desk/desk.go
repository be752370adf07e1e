// Package desk is one user's securesend: the use cases that the command
// line, the desktop app, the hot folder, the relay and the watch all call.
//
// A Desk is one home (internal/home) with what lives in it: the key store,
// the mail accounts, the organisation profile and the policy it yields, the
// outbox, the inbox and the audit log. It owns the journeys that combine
// them, "send these documents securely" (policy gate, protection, the
// outbox job, delivery, audit) and "fetch and verify what arrived" (keys,
// the verdict rules, the inbox store, opening a document), and it takes
// every security decision of a journey in one place, through the gate
// package for sending and receive.Verify for receiving.
//
// It leaves the mechanisms to the packages below it: composing and
// submitting mail to send/, the outbox's crash-safe queue to send/outbox,
// verification to receive/, OpenPGP and the keychain to crypto/, the
// profile's signature and policy to profile/, accounts and sign-in to
// account/, the tamper-evident log to audit/. Front ends (cmd/securesend,
// app/) parse input, call a Desk and show the result; they take no
// security decision of their own.
package desk

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
)

// Options say which home a Desk opens and what the binary carries.
type Options struct {
	// Getenv reads the environment (the home's location, the system
	// profile directory override); os.Getenv when nil.
	Getenv func(string) string
	// Baked returns the organisation profile and admin key baked into
	// this binary; an unconfigured build when nil.
	Baked func() (profile.Baked, error)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Warn, when set, receives what went wrong without stopping a
	// journey (an audit record that could not be written, a key that
	// could not be unlocked); dropped when nil.
	Warn func(error)
}

// Desk is one user's securesend home and its journeys. Its methods are
// safe for concurrent use unless they say otherwise.
type Desk struct {
	opts Options
	home home.Home
	kc   *keychain.Keychain

	mu    sync.Mutex
	keys  *pgp.Store
	audit *audit.Log
	inbox *receive.Store

	// mail, when set, replaces the home's policy, keys, accounts and
	// outbox for the send journeys (a demo Desk: OpenDemo).
	mail mailSide
}

// Open resolves the home (creating it, 0700) and returns its Desk. It does
// not load the organisation profile: call Profile or Policy, which every
// journey does first.
func Open(opts Options) (*Desk, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Getenv == nil {
		opts.Getenv = osGetenv
	}
	h, err := home.Resolve(opts.Getenv)
	if err != nil {
		return nil, err
	}
	if err := h.Ensure(); err != nil {
		return nil, err
	}
	return &Desk{opts: opts, home: h, kc: keychain.New(h.KeychainService())}, nil
}

// Home is the securesend home this Desk works in.
func (d *Desk) Home() home.Home { return d.home }

// Keychain is the home's namespace in the OS keychain.
func (d *Desk) Keychain() *keychain.Keychain { return d.kc }

// Now is the Desk's clock.
func (d *Desk) Now() time.Time { return d.opts.Now() }

// warn passes err to Options.Warn.
func (d *Desk) warn(err error) {
	if d.opts.Warn != nil && err != nil {
		d.opts.Warn(err)
	}
}

// Getenv reads the Desk's environment.
func (d *Desk) Getenv(name string) string { return d.opts.Getenv(name) }

// Keys opens (once) the home's key store.
func (d *Desk) Keys() (*pgp.Store, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keys != nil {
		return d.keys, nil
	}
	dir, err := d.home.Sub("keys")
	if err != nil {
		return nil, err
	}
	ks, err := pgp.OpenStore(dir, d.kc, nil)
	if err != nil {
		return nil, err
	}
	d.keys = ks
	return ks, nil
}

// Accounts is the home's account store (a demo Desk's: its demo
// accounts, with their passwords in memory).
func (d *Desk) Accounts() *account.Store {
	if d.mail != nil {
		return d.mail.accounts()
	}
	return account.NewStore(d.home, d.kc)
}

// Audit opens (once) the home's audit log (home/audit.log, keyed in the
// keychain). A demo Desk has none (ErrDemoNoAudit).
func (d *Desk) Audit() (*audit.Log, error) {
	if d.mail != nil {
		return nil, ErrDemoNoAudit
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.audit != nil {
		return d.audit, nil
	}
	l, err := audit.Open(d.home.Path("audit.log"), d.kc, audit.Options{})
	if err != nil {
		return nil, err
	}
	d.audit = l
	return l, nil
}

// Profile finds and verifies the organisation profile: the one baked into
// the binary, the OS's system-wide one and the one in
// $SECURESEND_SYSTEM_DIR, each verified against the pinned admin key,
// highest serial wins. A build that pins an admin key refuses to run
// without a profile. No rollback: the serial must not be lower than the
// highest recorded in the home (profile-serials) or in the OS keychain
// (profile.SerialKeychainService, shared by all homes of this OS user).
// Every journey calls it first and stops on error: a tampered, unsigned,
// wrongly signed or rolled-back profile means nothing may be sent.
func (d *Desk) Profile() (*profile.Loaded, error) {
	var b profile.Baked
	if d.opts.Baked != nil {
		var err error
		if b, err = d.opts.Baked(); err != nil {
			return nil, err
		}
	}
	l, err := profile.Load(profile.LoadOptions{
		Baked:       b,
		SystemDir:   profile.SystemDir(runtime.GOOS, d.opts.Getenv),
		OSSystemDir: profile.OSSystemDir(runtime.GOOS, d.opts.Getenv),
		StateFile:   d.home.Path("profile-serials"),
		Serials:     profile.KeychainSerials(keychain.New(profile.SerialKeychainService)),
	})
	if err != nil {
		return nil, fmt.Errorf("organisation profile: %w", err)
	}
	d.auditProfileChange(l)
	return l, nil
}

// UserSettings reads security.toml from the home; a missing file is no
// preference.
func (d *Desk) UserSettings() (profile.UserSettings, error) {
	return profile.ReadUserSettings(d.home.Path(profile.UserSettingsFile))
}

// Policy loads the organisation profile and returns the effective policy:
// the profile's policy tightened by the user's security.toml, then by
// flags (a command's or a form's own tightening). A demo Desk's policy is
// the demo's (OpenDemo), whatever the OS or the home holds.
func (d *Desk) Policy(flags profile.UserSettings) (profile.Policy, *profile.Loaded, error) {
	if d.mail != nil {
		// A demo Desk: the demo's own policy, no organisation profile.
		pol, err := d.mail.policy(flags)
		return pol, &profile.Loaded{}, err
	}
	return d.PolicyFrom(ProfileSource{}, flags)
}
