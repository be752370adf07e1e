package profile

import (
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"
)

const (
	mainst  = "orders@mainst-pharmacy.example.nz"
	harbour = "scripts@harbour-pharmacy.example.nz"
	other   = "reception@other.example.org"
)

// orgProfile is the two-pharmacy fixture: TLS 1.2 floor (locked), encryption
// required for both pharmacies (locked), three allowed domains, 20 MB,
// directory only.
func orgProfile(t *testing.T) *Profile {
	return mustParse(t, "testdata/good_two_pharmacies_must_encrypt.toml")
}

// unlocked is the fixture with nothing locked.
func unlocked(t *testing.T) *Profile {
	p := orgProfile(t)
	p.Locked = nil
	return p
}

// Whatever the user's config file or CLI flags say, they cannot lower the
// minimum TLS version, turn off required encryption, or open a domain.
func TestUserCannotLoosen(t *testing.T) {
	loosen := []UserSettings{
		{MinTLS: "1.0"},
		{MinTLS: "1.1"},
		{MinTLS: "1.2"},
		{Encryption: EncryptAuto},
		{Encryption: "never"},
		{Encryption: "off"},
		{AllowedRecipientDomains: []string{"gmail.com"}},
		{AllowedRecipientDomains: []string{"gmail.com", "mainst-pharmacy.example.nz"}},
		{MaxAttachmentMB: 1000},
		{MaxAttachmentMB: -1},
	}
	for _, org := range []*Profile{orgProfile(t), unlocked(t)} {
		org.Policy.MinTLS = "1.3"
		for _, u := range loosen {
			// as the config file, as CLI flags, and both
			for _, layers := range [][]UserSettings{{u}, {{}, u}, {u, u}} {
				p := Effective(org, layers...)
				if p.MinTLS() != tls.VersionTLS13 {
					t.Errorf("%+v lowered min TLS to %x", u, p.MinTLS())
				}
				if p.Encryption() != EncryptDomains || !p.EncryptFor(mainst) || !p.EncryptFor(harbour) {
					t.Errorf("%+v weakened encryption to %q", u, p.Encryption())
				}
				if p.Allowed("someone@gmail.com") {
					t.Errorf("%+v allowed gmail.com", u)
				}
				if p.MaxAttachmentBytes() != 20<<20 {
					t.Errorf("%+v changed the attachment limit to %d", u, p.MaxAttachmentBytes())
				}
				err := p.CheckSend(Outgoing{From: "dr@kowhai.example.nz", To: []string{mainst}})
				if !errors.Is(err, ErrEncryptionRequired) {
					t.Errorf("%+v: unencrypted send to a must-encrypt pharmacy: %v", u, err)
				}
				if err := p.CheckSend(Outgoing{From: "dr@kowhai.example.nz", To: []string{"x@gmail.com"}, HaveKey: func(string) bool { return true }}); !errors.Is(err, ErrDomainNotAllowed) {
					t.Errorf("%+v: send to gmail.com: %v", u, err)
				}
			}
		}
	}
}

func TestUserMayTighten(t *testing.T) {
	org := unlocked(t)
	p := Effective(org, UserSettings{MinTLS: "1.3"}, UserSettings{
		Encryption: EncryptAlways, RequireREQUIRETLS: true,
		AllowedRecipientDomains: []string{"mainst-pharmacy.example.nz", "gmail.com"}, MaxAttachmentMB: 5,
	})
	if p.MinTLS() != tls.VersionTLS13 || !p.RequireTLS() || p.Encryption() != EncryptAlways || !p.EncryptFor(other) {
		t.Errorf("tightening ignored: %+v", p)
	}
	if d, ok := p.AllowedDomains(); !ok || !slices.Equal(d, []string{"mainst-pharmacy.example.nz"}) {
		t.Errorf("allowed %v %v: want the intersection", d, ok)
	}
	if p.MaxAttachmentBytes() != 5<<20 || len(p.Notes()) != 1 || !strings.Contains(p.Notes()[0], "gmail.com") {
		t.Errorf("limit %d notes %q", p.MaxAttachmentBytes(), p.Notes())
	}
	// the user's own encrypt domain turns "auto" into "domains"
	q := Effective(&Profile{Policy: OrgPolicy{MinTLS: "1.2", Encryption: EncryptAuto}}, UserSettings{EncryptDomains: []string{"Lab.Example.NZ"}})
	if q.Encryption() != EncryptDomains || !q.EncryptFor("x@lab.example.nz") || !q.EncryptFor("x@sub.lab.example.nz") || q.EncryptFor("x@example.nz") {
		t.Errorf("user encrypt domain: %q %v", q.Encryption(), q.EncryptDomains())
	}
}

func TestLockedSettingsIgnoreEvenTighterValues(t *testing.T) {
	p := Effective(orgProfile(t), UserSettings{MinTLS: "1.3", Encryption: EncryptAlways})
	if p.MinTLS() != tls.VersionTLS12 || p.Encryption() != EncryptDomains || len(p.Notes()) != 2 {
		t.Errorf("locked settings changed: %x %q %q", p.MinTLS(), p.Encryption(), p.Notes())
	}
	if !p.Locked(LockAccounts) || p.Locked(LockDirectory) {
		t.Error("Locked")
	}
}

func TestNoProfileDefaults(t *testing.T) {
	p := Effective(nil)
	if p.MinTLS() != tls.VersionTLS12 || p.RequireTLS() || p.Encryption() != EncryptAuto || !p.MayAddKeys() || !p.MayAddRecipients() || p.MaxAttachmentBytes() != 0 {
		t.Errorf("defaults: %+v", p)
	}
	if err := p.CheckSend(Outgoing{From: "a@b.nz", To: []string{"c@d.nz"}, Documents: []Document{{"big.pdf", 1 << 33}}}); err != nil {
		t.Errorf("unmanaged send refused: %v", err)
	}
	if p := Effective(nil, UserSettings{MinTLS: "1.1"}); p.MinTLS() != tls.VersionTLS12 {
		t.Error("a user lowered the built-in floor")
	}
}

func TestCheckSend(t *testing.T) {
	org := orgProfile(t)
	pol := Effective(org)
	dirKeys := func(a string) bool { _, ok := org.Recipient(a); return ok }
	big := Document{Name: "scan.tiff", Size: 21 << 20}
	small := Document{Name: "rx.pdf", Size: 300 << 10}
	cases := []struct {
		name string
		o    Outgoing
		want []error
	}{
		{"encrypted to a pharmacy", Outgoing{From: "dr@kowhai.example.nz", To: []string{"Main St <" + mainst + ">"}, Documents: []Document{small}, HaveKey: dirKeys}, nil},
		{"both pharmacies", Outgoing{From: "dr@kowhai.example.nz", To: []string{mainst, harbour}, HaveKey: dirKeys}, nil},
		{"no key for a must-encrypt pharmacy", Outgoing{From: "dr@kowhai.example.nz", To: []string{harbour}}, []error{ErrEncryptionRequired}},
		{"recipient not in directory", Outgoing{From: "dr@kowhai.example.nz", To: []string{other}, HaveKey: dirKeys}, []error{ErrRecipientNotInDirectory}},
		{"other domain mixed with pharmacy needs keys for all", Outgoing{From: "dr@kowhai.example.nz", To: []string{mainst, other}, HaveKey: dirKeys}, []error{ErrRecipientNotInDirectory, ErrEncryptionRequired}},
		{"domain not allowed", Outgoing{From: "dr@kowhai.example.nz", To: []string{"x@gmail.com"}}, []error{ErrDomainNotAllowed, ErrRecipientNotInDirectory}},
		{"too large", Outgoing{From: "dr@kowhai.example.nz", To: []string{mainst}, Documents: []Document{small, big}, HaveKey: dirKeys}, []error{ErrAttachmentTooLarge}},
		{"no recipients", Outgoing{From: "dr@kowhai.example.nz"}, []error{ErrNoRecipients}},
		{"bad address", Outgoing{From: "dr@kowhai.example.nz", To: []string{"not an address"}}, []error{ErrInvalidAddress}},
		{"bad from", Outgoing{From: "", To: []string{mainst}, HaveKey: dirKeys}, []error{ErrInvalidAddress}},
	}
	all := []error{ErrNoRecipients, ErrInvalidAddress, ErrDomainNotAllowed, ErrRecipientNotInDirectory, ErrEncryptionRequired, ErrAttachmentTooLarge}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := pol.CheckSend(c.o)
			for _, k := range all {
				if got, want := errors.Is(err, k), slices.Contains(c.want, k); got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, k, got, want)
				}
			}
			var v *Violation
			if c.want != nil && !errors.As(err, &v) {
				t.Errorf("%v is not a *Violation", err)
			}
		})
	}
	if !pol.MustEncrypt([]string{other, mainst}) || pol.MustEncrypt([]string{other}) {
		t.Error("MustEncrypt")
	}
}

func TestKeyAllowed(t *testing.T) {
	org := orgProfile(t)
	r, _ := org.Recipient(mainst)
	pol := Effective(org)
	if err := pol.KeyAllowed(mainst, r.Fingerprint); err != nil {
		t.Errorf("directory key refused: %v", err)
	}
	if err := pol.KeyAllowed(mainst, strings.Repeat("AB", 20)); !errors.Is(err, ErrKeyNotPinned) {
		t.Errorf("substitute key: %v", err)
	}
	org.Policy.UsersMayAddKeys = true
	if err := Effective(org).KeyAllowed(other, strings.Repeat("AB", 20)); err != nil {
		t.Errorf("user key when allowed: %v", err)
	}
	org.Locked = append(org.Locked, LockDirectory)
	if err := Effective(org).KeyAllowed(mainst, strings.Repeat("AB", 20)); !errors.Is(err, ErrKeyNotPinned) {
		t.Errorf("locked directory key replaced: %v", err)
	}
}
