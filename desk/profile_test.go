package desk

import (
	"bytes"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/profile/author"
	"github.com/securesend/securesend/send"
)

// bakedDesk is sendDesk in a binary that carries baked.
func bakedDesk(t *testing.T, baked profile.Baked) *Desk {
	t.Helper()
	d := sendDesk(t)
	d.opts.Baked = func() (profile.Baked, error) { return baked, nil }
	return d
}

// signedProfileDesk is a Desk in a new home whose binary carries the
// organisation profile data, signed with a new TEST ONLY admin key of
// org (email).
func signedProfileDesk(t *testing.T, org, email string, data []byte) *Desk {
	t.Helper()
	pass := []byte("TEST ONLY admin passphrase")
	admin, err := profile.GenerateAdminKey(org, email, pass)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := profile.Sign(data, admin.Private, pass)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	d, err := Open(Options{
		Getenv: func(k string) string {
			if k == home.EnvVar {
				return dir
			}
			return ""
		},
		Baked: func() (profile.Baked, error) {
			return profile.Baked{Fingerprint: admin.Fingerprint, AdminKey: admin.Public, Profile: data, Signature: sig}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// adminBundle writes the example profile, changed by edit, signed with a
// new TEST ONLY admin key, into a new folder, and returns its bundle.
func adminBundle(t *testing.T, edit func(string) string) author.Bundle {
	t.Helper()
	dir := t.TempDir()
	pass := author.Passphrase{Given: []byte("TEST ONLY admin passphrase")}
	k, err := author.GenerateKey(dir, "Kowhai IT", "it@kowhai.example.nz", pass, false)
	if err != nil {
		t.Fatal(err)
	}
	b := author.Bundle{Profile: filepath.Join(dir, "profile.toml"), Key: k.Public, Fingerprint: k.Fingerprint}
	if err := os.WriteFile(b.Profile, []byte(edit(string(profile.Example("Kowhai Medical Centre")))), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := author.SignFile(b.Profile, k.Private, b.Profile+".sig", pass); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProfileChangeAudited: the first journey that sees a new profile
// serial records it as a policy.change by the admin key, once.
func TestProfileChangeAudited(t *testing.T) {
	b := adminBundle(t, func(s string) string { return s })
	baked, err := b.Read()
	if err != nil {
		t.Fatal(err)
	}
	d := bakedDesk(t, baked)
	for range 2 {
		if l, err := d.Profile(); err != nil || !l.Managed() {
			t.Fatalf("profile: %v", err)
		}
	}
	l, err := d.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := l.Export(&log, audit.CSV, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "policy.change"); n != 1 || !strings.Contains(log.String(), baked.Fingerprint) {
		t.Errorf("%d policy.change entries:\n%s", n, log.String())
	}
}

// TestProfileFromAndCheckPolicyOf: a show or dry run works on the source
// it names: no baked profile in an unconfigured build; a bundle on disk,
// verified against its key; and an imported key counts for the policy
// check only when that bundle's policy lets users add keys.
func TestProfileFromAndCheckPolicyOf(t *testing.T) {
	d := bakedDesk(t, profile.Baked{})
	if _, err := d.ProfileFrom(ProfileSource{Embedded: true}); !errors.Is(err, ErrNoBakedProfile) {
		t.Errorf("embedded in an unconfigured build: %v", err)
	}
	if l, err := d.ProfileFrom(ProfileSource{}); err != nil || l.Managed() {
		t.Errorf("in force in an unconfigured build: %+v, %v", l, err)
	}
	recipients := func(s string) string {
		return strings.Replace(s, "users_may_add_recipients = false", "users_may_add_recipients = true", 1)
	}
	noKeys := adminBundle(t, recipients)
	l, err := d.ProfileFrom(ProfileSource{Bundle: &noKeys})
	if err != nil || l.Source != noKeys.Profile || !l.Managed() {
		t.Fatalf("bundle: %+v, %v", l, err)
	}
	wrongKey := noKeys
	wrongKey.Fingerprint = strings.Repeat("A", 40)
	if _, err := d.ProfileFrom(ProfileSource{Bundle: &wrongKey}); err == nil {
		t.Error("a bundle whose key is not the pinned fingerprint was loaded")
	}

	ks, err := d.ManageKeys()
	if err != nil {
		t.Fatal(err)
	}
	other := pgptest.Key(t, "Other Clinic", "reception@other.example.org").Public()
	if _, err := ks.Import(bytes.NewReader(pgptest.Armored(t, other)), pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
	m := &send.Message{From: mail.Address{Address: "dr@kowhai.example.nz"}, To: []mail.Address{{Address: "reception@other.example.org"}}}
	_, err = d.CheckPolicyOf(ProfileSource{Bundle: &noKeys}, profile.UserSettings{}, m)
	var refused *Refused
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "reception@other.example.org") {
		t.Fatalf("users may not add keys, the imported key counted: %v", err)
	}
	ownKeys := adminBundle(t, func(s string) string {
		return strings.Replace(recipients(s), "users_may_add_keys = false", "users_may_add_keys = true", 1)
	})
	v, err := d.CheckPolicyOf(ProfileSource{Bundle: &ownKeys}, profile.UserSettings{}, m)
	if err != nil || !v.MustEncrypt {
		t.Fatalf("users may add keys: %+v, %v", v, err)
	}
}
