package pgp_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

// Attacks on the key store by a correspondent with a hostile key: each
// test is an attempt to get a key bound, pinned or used for an address
// that the user confirmed for someone else.

// pinAlice returns a store in which Alice's key is pinned for
// alice@clinic.test, and that key.
func pinAlice(t *testing.T) (*pgp.Store, *pgp.Key) {
	t.Helper()
	s := openStore(t)
	alice := pgptest.Key(t, "Dr Alice", "alice@clinic.test")
	if _, err := importKey(t, s, alice.Public(), pgp.ImportOptions{Pin: true, Emails: []string{"alice@clinic.test"}}); err != nil {
		t.Fatal(err)
	}
	return s, alice
}

// revoked returns a copy of k's public key revoked by its owner.
func revoked(t *testing.T, k *pgp.Key) *pgp.PublicKey {
	t.Helper()
	if err := k.Entity().RevokeKey(packet.KeyCompromised, "lost laptop", pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

// TestAttackPlainImportOfAddressPinnedElsewhere: Mallory's key has a
// single user ID claiming Alice's address (in any case). Imported without
// a pin (a refresh, a file mailed as "my new key"), it must not be bound
// to that address: the address is pinned to Alice's key, and a binding is
// what Lookup encrypts to.
func TestAttackPlainImportOfAddressPinnedElsewhere(t *testing.T) {
	for _, claim := range []string{"alice@clinic.test", "ALICE@Clinic.TEST"} {
		t.Run(claim, func(t *testing.T) {
			s, alice := pinAlice(t)
			mallory := pgptest.Key(t, "Dr Alice", claim)
			e, err := importKey(t, s, mallory.Public(), pgp.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Emails) != 0 {
				t.Errorf("Mallory's key bound to %v, want nothing (the address is pinned to Alice's key)", e.Emails)
			}
			if !slices.Equal(e.Claimed, []string{"alice@clinic.test"}) {
				t.Errorf("claimed = %v", e.Claimed)
			}
			k, _, err := s.Lookup("alice@clinic.test")
			if err != nil || k.Fingerprint() != alice.Public().Fingerprint() {
				t.Fatalf("Lookup = %v, %v; want Alice's key", k, err)
			}
		})
	}
}

// TestAttackLookupFallsBackToImpostor: Mallory's single-address key for
// alice@clinic.test was imported before the user pinned Alice's key (so it
// is bound, unverified). When Alice revokes her key, Lookup must not fall
// back to Mallory's key: the user confirmed Alice's key for the address,
// and a revoked pin means "no usable key", not "any key that claims it".
func TestAttackLookupFallsBackToImpostor(t *testing.T) {
	s := openStore(t)
	mallory := pgptest.Key(t, "Dr Alice", "alice@clinic.test")
	if e, err := importKey(t, s, mallory.Public(), pgp.ImportOptions{}); err != nil || !slices.Equal(e.Emails, []string{"alice@clinic.test"}) {
		t.Fatalf("Mallory's first import: %+v, %v", e, err)
	}
	alice := pgptest.Key(t, "Dr Alice", "alice@clinic.test")
	if _, err := importKey(t, s, alice.Public(), pgp.ImportOptions{Pin: true, Emails: []string{"alice@clinic.test"}}); err != nil {
		t.Fatal(err)
	}
	if k, _, err := s.Lookup("alice@clinic.test"); err != nil || k.Fingerprint() != alice.Public().Fingerprint() {
		t.Fatalf("Lookup before revocation = %v, %v; want Alice's key", k, err)
	}
	// Alice revokes her key; the user refreshes it.
	if _, err := importKey(t, s, revoked(t, alice), pgp.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	k, _, err := s.Lookup("alice@clinic.test")
	if err == nil {
		t.Fatalf("Lookup after Alice revoked her pinned key = %s (Mallory's: %v), want an error", k.Fingerprint().Grouped(), k.Fingerprint() == mallory.Public().Fingerprint())
	}
	if !errors.Is(err, pgp.ErrRevoked) {
		t.Errorf("Lookup error = %v, want ErrRevoked (the pinned key's own reason)", err)
	}
}

// TestAttackAddressTricks: addresses that look like, or route like, a
// pinned address are not the pinned address, and a key cannot be bound to
// an address it does not carry through any of these spellings.
func TestAttackAddressTricks(t *testing.T) {
	tests := []struct {
		name  string
		claim string // Mallory's only user ID address
		bind  string // the address the attacker asks to bind
		ok    bool   // binding is accepted (to the claimed address itself)
	}{
		{"subaddress does not stand for the base address", "alice+rx@clinic.test", "alice@clinic.test", false},
		{"base address does not stand for a subaddress", "alice@clinic.test", "alice+rx@clinic.test", false},
		{"trailing dot in the domain", "alice@clinic.test", "alice@clinic.test.", false},
		{"Cyrillic a (homoglyph)", "\u0430lice@clinic.test", "alice@clinic.test", false},
		{"Latin a for a Cyrillic claim", "alice@clinic.test", "\u0430lice@clinic.test", false},
		{"other domain", "alice@clinic.test.evil.test", "alice@clinic.test", false},
		{"address literal", "alice@[192.0.2.1]", "alice@clinic.test", false},
		{"case differs only", "Alice@CLINIC.test", "aLiCe@clinic.TEST", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			k := pgptest.Key(t, "Mallory", tt.claim)
			_, err := importKey(t, s, k.Public(), pgp.ImportOptions{Pin: true, Emails: []string{tt.bind}})
			if tt.ok {
				if err != nil {
					t.Fatalf("bind %q: %v", tt.bind, err)
				}
				return
			}
			if !errors.Is(err, pgp.ErrAddressNotInKey) {
				t.Fatalf("bind %q to a key claiming %q: err = %v, want ErrAddressNotInKey", tt.bind, tt.claim, err)
			}
			if got, _ := s.PinnedFor(tt.bind); len(got) != 0 {
				t.Fatalf("PinnedFor(%q) = %+v", tt.bind, got)
			}
		})
	}
}

// TestAttackPinnedKeyDoesNotCoverLookalikes: Alice's key, pinned for
// alice@clinic.test, is not pinned (and not used) for a look-alike or a
// subaddress; only the case-folded spelling is the same address.
func TestAttackPinnedKeyDoesNotCoverLookalikes(t *testing.T) {
	s, alice := pinAlice(t)
	for _, addr := range []string{"alice+x@clinic.test", "\u0430lice@clinic.test", "alice@clinic.test.", "alice@clinic.test.evil.test"} {
		if got, _ := s.PinnedFor(addr); len(got) != 0 {
			t.Errorf("PinnedFor(%q) = %+v", addr, got)
		}
		if _, _, err := s.Lookup(addr); !errors.Is(err, pgp.ErrNotFound) {
			t.Errorf("Lookup(%q): err = %v, want ErrNotFound", addr, err)
		}
	}
	got, _ := s.PinnedFor("ALICE@Clinic.Test")
	if len(got) != 1 || got[0].Fingerprint != alice.Public().Fingerprint() {
		t.Errorf("PinnedFor(upper case) = %+v", got)
	}
}

// TestAttackReimportCannotWidenOrSteal: Mallory pinned for her own
// address re-imports a copy that also claims Alice's address: nothing is
// added, with or without naming it (naming it without --pin is refused).
func TestAttackReimportCannotWidenOrSteal(t *testing.T) {
	s, alice := pinAlice(t)
	m := pgptest.Key(t, "Mallory", "mallory@evil.test")
	if _, err := importKey(t, s, m.Public(), pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
	if err := m.Entity().AddUserId("Dr Alice", "", "alice@clinic.test", pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	e, err := importKey(t, s, m.Public(), pgp.ImportOptions{})
	if err != nil || !slices.Equal(e.Emails, []string{"mallory@evil.test"}) {
		t.Fatalf("plain re-import: %+v, %v", e.Emails, err)
	}
	if _, err := importKey(t, s, m.Public(), pgp.ImportOptions{Emails: []string{"alice@clinic.test"}}); !errors.Is(err, pgp.ErrBindNeedsPin) {
		t.Fatalf("re-import naming Alice's address without a pin: err = %v, want ErrBindNeedsPin", err)
	}
	if _, err := importKey(t, s, m.Public(), pgp.ImportOptions{Pin: true, Emails: []string{"alice@clinic.test"}}); !errors.Is(err, pgp.ErrPinConflict) {
		t.Fatalf("pin of Alice's address without --replace: err = %v, want ErrPinConflict", err)
	}
	got, _ := s.PinnedFor("alice@clinic.test")
	if len(got) != 1 || got[0].Fingerprint != alice.Public().Fingerprint() {
		t.Fatalf("PinnedFor(alice) = %+v", got)
	}
}
