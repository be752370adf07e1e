package desk

import (
	"bytes"
	"slices"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/profile"
)

// twoAddressKey is a TEST ONLY key of Mallory's that also claims Dr
// Alice's address.
func twoAddressKey(t *testing.T) *pgp.PublicKey {
	t.Helper()
	k := pgptest.Key(t, "Mallory", "mallory@evil.test")
	if err := k.Entity().AddUserId("Dr Alice", "", "alice@clinic.test", pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

// TestImportDirectoryKeysBindsOnlyTheDirectoryAddress: a directory key
// that also claims another address is pinned for the directory's address
// only, stays so when imported again, and a new directory key for the
// address takes it over from the old one.
func TestImportDirectoryKeysBindsOnlyTheDirectoryAddress(t *testing.T) {
	mallory := twoAddressKey(t)
	var armored bytes.Buffer
	if err := mallory.WriteArmored(&armored); err != nil {
		t.Fatal(err)
	}
	l := &profile.Loaded{Profile: &profile.Profile{Recipients: []profile.Recipient{
		{Name: "Mallory", Email: "Mallory@evil.test", PublicKey: armored.String()},
	}}}
	ks, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := importDirectoryKeys(l, ks); err != nil {
			t.Fatal(err)
		}
		e, err := ks.Entry(mallory.Fingerprint())
		if err != nil {
			t.Fatal(err)
		}
		if e.Trust != pgp.Pinned || !slices.Equal(e.Emails, []string{"mallory@evil.test"}) {
			t.Fatalf("directory key entry %+v, want pinned for mallory@evil.test only", e)
		}
		if got, _ := ks.PinnedFor("alice@clinic.test"); len(got) != 0 {
			t.Fatalf("alice@ pinned by a directory entry for mallory@: %+v", got)
		}
	}
	// The directory rotates the key for the address.
	next := pgptest.Key(t, "Mallory", "mallory@evil.test")
	l.Profile.Recipients[0].PublicKey = string(pgptest.Armored(t, next.Public()))
	if err := importDirectoryKeys(l, ks); err != nil {
		t.Fatal(err)
	}
	got, err := ks.PinnedFor("mallory@evil.test")
	if err != nil || len(got) != 1 || got[0].Fingerprint != next.Public().Fingerprint() {
		t.Errorf("after rotation PinnedFor = %+v, %v; want only the new key", got, err)
	}
}
