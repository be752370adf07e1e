package desk

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

// TestKeyManager: importing and pinning are recorded in the audit log;
// export finds keys by fingerprint, by a bound address and (the user's
// own) by nothing, and explains an address a key merely claims; the
// user's own key is deleted only when confirmed.
func TestKeyManager(t *testing.T) {
	requireKeychain(t)
	d, warnings := testDesk(t)
	m, err := d.ManageKeys()
	if err != nil {
		t.Fatal(err)
	}
	own, err := m.Generate("Bob Pharmacist", "bob@pharmacy.test")
	if err != nil {
		t.Fatal(err)
	}
	mallory := twoAddressKey(t)
	ent, err := m.Import(bytes.NewReader(pgptest.Armored(t, mallory)), pgp.ImportOptions{})
	if err != nil || len(ent.Emails) != 0 {
		t.Fatalf("import of a two-address key without --email: %+v, %v", ent, err)
	}
	if _, err := m.Import(bytes.NewReader(pgptest.Armored(t, mallory)), pgp.ImportOptions{Pin: true}); !errors.Is(err, pgp.ErrPinNeedsAddress) {
		t.Errorf("pin without an address: %v", err)
	}
	tests := []struct {
		sel     string
		want    []pgp.Fingerprint
		wantErr string
	}{
		{"", []pgp.Fingerprint{own.Fingerprint}, ""},
		{string(mallory.Fingerprint()), []pgp.Fingerprint{mallory.Fingerprint()}, ""},
		{"mallory@evil.test", nil, "claims it but is not bound to it"},
		{"nobody@evil.test", nil, "no key is bound to nobody@evil.test"},
		{"@", nil, "not an e-mail address"},
		{"not a fingerprint", nil, ""},
	}
	check := func() {
		t.Helper()
		for _, tt := range tests {
			keys, err := m.Export(tt.sel)
			var got []pgp.Fingerprint
			for _, k := range keys {
				got = append(got, k.Fingerprint())
			}
			switch {
			case tt.want == nil && err == nil:
				t.Errorf("export %q: %v, want an error", tt.sel, got)
			case tt.want == nil && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("export %q: %v, want one saying %q", tt.sel, err, tt.wantErr)
			case tt.want != nil && (err != nil || len(got) != len(tt.want) || got[0] != tt.want[0]):
				t.Errorf("export %q: %v, %v; want %v", tt.sel, got, err, tt.want)
			}
		}
	}
	check()
	if err := m.PinAddresses(mallory.Fingerprint(), []string{"mallory@evil.test"}, false); err != nil {
		t.Fatal(err)
	}
	tests[2] = struct {
		sel     string
		want    []pgp.Fingerprint
		wantErr string
	}{"Mallory@Evil.test", []pgp.Fingerprint{mallory.Fingerprint()}, ""}
	check()

	l, err := d.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := l.Export(&log, audit.JSON, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(log.String(), string(audit.KeyImport)) != 1 || strings.Count(log.String(), string(audit.KeyPin)) != 1 {
		t.Errorf("want one key.import and one key.pin:\n%s", log.String())
	}

	if err := m.Delete(own.Fingerprint, false); !errors.Is(err, ErrOwnKey) {
		t.Errorf("own key deleted without confirmation: %v", err)
	}
	if err := m.Delete(mallory.Fingerprint(), false); err != nil {
		t.Errorf("delete a correspondent's key: %v", err)
	}
	if err := m.Delete(own.Fingerprint, true); err != nil {
		t.Errorf("delete own key, confirmed: %v", err)
	}
	if len(*warnings) != 0 {
		t.Errorf("warnings: %v", *warnings)
	}
}

// TestKeyManagerConfirming: a pin that needs the addresses of a key
// claiming two asks the front end's confirm about that key, and pins only
// what it confirmed; a refusal pins nothing; without confirm the need is
// reported (pgp.ErrPinNeedsAddress); --replace must name the addresses.
func TestKeyManagerConfirming(t *testing.T) {
	requireKeychain(t)
	d, _ := testDesk(t)
	m, err := d.ManageKeys()
	if err != nil {
		t.Fatal(err)
	}
	mallory := twoAddressKey(t)
	armored := pgptest.Armored(t, mallory)
	var asked []pgp.Fingerprint
	only := func(addrs ...string) ConfirmAddresses {
		return func(k *pgp.PublicKey) ([]string, error) {
			asked = append(asked, k.Fingerprint())
			if len(addrs) == 0 {
				return nil, errors.New("no address confirmed; nothing pinned")
			}
			return addrs, nil
		}
	}
	pin := pgp.ImportOptions{Pin: true}
	if _, err := m.ImportConfirming(bytes.NewReader(armored), pin, nil); !errors.Is(err, pgp.ErrPinNeedsAddress) {
		t.Fatalf("no confirm: %v", err)
	}
	if _, err := m.ImportConfirming(bytes.NewReader(armored), pin, only()); err == nil || !strings.Contains(err.Error(), "nothing pinned") {
		t.Fatalf("nothing confirmed: %v", err)
	}
	if ent, err := m.Entry(mallory.Fingerprint()); err == nil && ent.Trust == pgp.Pinned {
		t.Fatalf("pinned although nothing was confirmed: %+v", ent)
	}
	ent, err := m.ImportConfirming(bytes.NewReader(armored), pin, only("mallory@evil.test"))
	if err != nil || ent.Trust != pgp.Pinned || len(ent.Emails) != 1 || ent.Emails[0] != "mallory@evil.test" {
		t.Fatalf("import confirming one address: %+v, %v", ent, err)
	}
	if len(asked) != 2 || asked[0] != mallory.Fingerprint() || asked[1] != mallory.Fingerprint() {
		t.Errorf("confirm was asked about %v", asked)
	}

	eve := pgptest.Key(t, "Eve", "eve@evil.test")
	if err := eve.Entity().AddUserId("Dr Alice", "", "alice@clinic.test", pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	other := eve.Public()
	if _, err := m.Import(bytes.NewReader(pgptest.Armored(t, other)), pgp.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.PinConfirming(other.Fingerprint(), nil, true, only("alice@clinic.test")); err == nil || !strings.Contains(err.Error(), "--replace needs the addresses") {
		t.Errorf("replace without addresses: %v", err)
	}
	ent, err = m.PinConfirming(other.Fingerprint(), nil, false, only("alice@clinic.test"))
	if err != nil || ent.Trust != pgp.Pinned || len(ent.Emails) != 1 || ent.Emails[0] != "alice@clinic.test" {
		t.Fatalf("pin confirming one address: %+v, %v", ent, err)
	}
}
