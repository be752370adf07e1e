// Package profile reads, verifies and enforces the organisation profile: the
// file an organisation's admin writes and signs to hand staff an app that is
// already configured and cannot be weakened.
//
// It is a top-level package because the profile and the policy it carries are
// shared by send, receive (inbox), account set-up and the GUI, and belong to
// none of them.
//
// A profile (see docs/profile.md) is a versioned TOML file with the
// organisation's name and branding, mail-server account templates, a security
// policy, a recipient directory whose OpenPGP keys count as pinned, and a list
// of locked settings. Parse rejects unknown fields, wrong types and missing
// required fields with a *FieldError naming the field and line.
//
// Trust: a profile is only ever used after Verify has checked its detached
// OpenPGP signature against the admin key whose fingerprint was pinned into
// the binary when the installer was built. Load finds the profile baked into
// the binary or in the system-wide directory, refuses tampered, unsigned or
// wrongly signed files (ErrTampered, ErrUnsigned, ErrWrongKey) and refuses a
// serial older than the highest already seen (ErrRollback).
//
// Policy: Effective combines the profile's policy with user settings (config
// file, CLI flags) so that users may only tighten it: a higher minimum TLS
// version, stronger encryption, fewer allowed domains. Policy.CheckSend is the
// single check every sending path calls before a byte leaves the machine.
//
// The package holds no mutable package-level state.
package profile
