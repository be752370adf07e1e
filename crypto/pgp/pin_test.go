package pgp_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

// impostorKey is a TEST ONLY key of mallory@evil.test that also claims,
// in a second self-signed user ID, to be "Dr Alice <alice@clinic.test>".
func impostorKey(t *testing.T) *pgp.Key {
	t.Helper()
	k := pgptest.Key(t, "Mallory", "mallory@evil.test")
	if err := k.Entity().AddUserId("Dr Alice", "", "alice@clinic.test", pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	if got := k.Public().Emails(); len(got) != 2 {
		t.Fatalf("impostor key has addresses %v, want 2", got)
	}
	return k
}

func openStore(t *testing.T) *pgp.Store {
	t.Helper()
	s, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func importKey(t *testing.T, s *pgp.Store, k *pgp.PublicKey, opts pgp.ImportOptions) (pgp.Entry, error) {
	t.Helper()
	return s.Import(bytes.NewReader(pgptest.Armored(t, k)), opts)
}

// TestPinBindsOnlyNamedAddresses: pinning a key that claims an address
// besides its own binds only what the user named; without a name a key
// with two addresses is refused with a message that lists them and says
// to name them, and a key with one address is pinned for it.
func TestPinBindsOnlyNamedAddresses(t *testing.T) {
	mallory := impostorKey(t)
	single := pgptest.Key(t, "Rx", "rx@pharmacy.test")
	tests := []struct {
		name      string
		key       *pgp.PublicKey
		opts      pgp.ImportOptions
		wantErr   error
		wantBound []string
	}{
		{"pin without --email, two addresses", mallory.Public(), pgp.ImportOptions{Pin: true}, pgp.ErrPinNeedsAddress, nil},
		{"pin named address", mallory.Public(), pgp.ImportOptions{Pin: true, Emails: []string{"Mallory@Evil.test"}}, nil, []string{"mallory@evil.test"}},
		{"pin an address the key lacks", mallory.Public(), pgp.ImportOptions{Pin: true, Emails: []string{"bob@clinic.test"}}, pgp.ErrAddressNotInKey, nil},
		{"pin not an address", mallory.Public(), pgp.ImportOptions{Pin: true, Emails: []string{"not an address"}}, pgp.ErrAddressNotInKey, nil},
		{"pin single address key", single.Public(), pgp.ImportOptions{Pin: true}, nil, []string{"rx@pharmacy.test"}},
		{"plain import, two addresses", mallory.Public(), pgp.ImportOptions{}, nil, nil},
		{"plain import, one address", single.Public(), pgp.ImportOptions{}, nil, []string{"rx@pharmacy.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			e, err := importKey(t, s, tt.key, tt.opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Import: err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if es, _ := s.List(); len(es) != 0 {
					t.Errorf("refused import left entries %+v", es)
				}
				return
			}
			if !slices.Equal(e.Emails, tt.wantBound) {
				t.Errorf("bound %v, want %v", e.Emails, tt.wantBound)
			}
			if !slices.Equal(e.Claimed, tt.key.Emails()) {
				t.Errorf("claimed %v, want %v", e.Claimed, tt.key.Emails())
			}
			// alice@ is claimed by Mallory's key but never bound.
			if _, _, err := s.Lookup("alice@clinic.test"); !errors.Is(err, pgp.ErrNotFound) {
				t.Errorf("Lookup(alice) err = %v, want ErrNotFound", err)
			}
			if got, _ := s.PinnedFor("alice@clinic.test"); len(got) != 0 {
				t.Errorf("PinnedFor(alice) = %+v", got)
			}
		})
	}

	s := openStore(t)
	_, err := importKey(t, s, mallory.Public(), pgp.ImportOptions{Pin: true})
	var need *pgp.PinNeedsAddressError
	if !errors.As(err, &need) {
		t.Fatalf("err = %v, want *PinNeedsAddressError", err)
	}
	for _, want := range []string{"alice@clinic.test", "mallory@evil.test", "--email"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestReimportNeverWidens: a refresh (plain or --pin) of a key pinned for
// one address keeps exactly that binding, even when the key claims more.
func TestReimportNeverWidens(t *testing.T) {
	mallory := impostorKey(t)
	s := openStore(t)
	if _, err := importKey(t, s, mallory.Public(), pgp.ImportOptions{Pin: true, Emails: []string{"mallory@evil.test"}}); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []pgp.ImportOptions{{}, {Pin: true}} {
		e, err := importKey(t, s, mallory.Public(), opts)
		if err != nil {
			t.Fatalf("re-import %+v: %v", opts, err)
		}
		if e.Trust != pgp.Pinned || !slices.Equal(e.Emails, []string{"mallory@evil.test"}) {
			t.Errorf("after re-import %+v: %+v", opts, e)
		}
	}
	// Naming alice without pinning is refused for a pinned key.
	if _, err := importKey(t, s, mallory.Public(), pgp.ImportOptions{Emails: []string{"alice@clinic.test"}}); !errors.Is(err, pgp.ErrBindNeedsPin) {
		t.Errorf("unpinned import naming a new address: err = %v, want ErrBindNeedsPin", err)
	}
	if _, _, err := s.Lookup("alice@clinic.test"); !errors.Is(err, pgp.ErrNotFound) {
		t.Errorf("Lookup(alice) err = %v", err)
	}
	// Naming it with --pin adds it: the user confirmed it.
	e, err := importKey(t, s, mallory.Public(), pgp.ImportOptions{Pin: true, Emails: []string{"alice@clinic.test"}})
	if err != nil || !slices.Equal(e.Emails, []string{"mallory@evil.test", "alice@clinic.test"}) {
		t.Errorf("pin naming a second address: %+v, %v", e, err)
	}
}

// TestPinUnverifiedKey: Store.Pin of a key imported without a pin binds
// the addresses named at import, or its only address; a key with more
// addresses needs PinAddress, which drops nothing pinned before.
func TestPinUnverifiedKey(t *testing.T) {
	mallory := impostorKey(t)
	s := openStore(t)
	e, err := importKey(t, s, mallory.Public(), pgp.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Emails) != 0 || e.Trust != pgp.Unverified {
		t.Fatalf("plain import of a two-address key: %+v", e)
	}
	if err := s.Pin(e.Fingerprint); !errors.Is(err, pgp.ErrPinNeedsAddress) {
		t.Fatalf("Pin: err = %v, want ErrPinNeedsAddress", err)
	}
	if e, _ := s.Entry(e.Fingerprint); e.Trust != pgp.Unverified || len(e.Emails) != 0 {
		t.Errorf("refused pin changed the entry: %+v", e)
	}
	if err := s.PinAddress(e.Fingerprint, "nobody@evil.test", false); !errors.Is(err, pgp.ErrAddressNotInKey) {
		t.Errorf("PinAddress foreign: %v", err)
	}
	if err := s.PinAddress(e.Fingerprint, "mallory@evil.test", false); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Entry(e.Fingerprint); e.Trust != pgp.Pinned || !slices.Equal(e.Emails, []string{"mallory@evil.test"}) {
		t.Errorf("after PinAddress: %+v", e)
	}

	// An import that named an address, unverified, then Pin: exactly it.
	s2 := openStore(t)
	e, err = importKey(t, s2, mallory.Public(), pgp.ImportOptions{Emails: []string{"mallory@evil.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Pin(e.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if e, _ := s2.Entry(e.Fingerprint); e.Trust != pgp.Pinned || !slices.Equal(e.Emails, []string{"mallory@evil.test"}) {
		t.Errorf("after Pin: %+v", e)
	}
}

// TestPinConflictAndReplace: an address pinned to one key is not pinned
// to another unless replaced; replacing unbinds it from the first key,
// so encryption and PinnedFor see only the new key. The user's own
// key's addresses are never moved.
func TestPinConflictAndReplace(t *testing.T) {
	alice := pgptest.Key(t, "Dr Alice", "alice@clinic.test")
	mallory := impostorKey(t)
	s := openStore(t)
	if _, err := importKey(t, s, alice.Public(), pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
	_, err := importKey(t, s, mallory.Public(), pgp.ImportOptions{Pin: true, Emails: []string{"alice@clinic.test"}})
	var conflict *pgp.PinConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, pgp.ErrPinConflict) {
		t.Fatalf("err = %v, want *PinConflictError", err)
	}
	if conflict.Address != "alice@clinic.test" || conflict.Other != alice.Public().Fingerprint() {
		t.Errorf("conflict = %+v", conflict)
	}
	if !strings.Contains(err.Error(), alice.Public().Fingerprint().Grouped()) || !strings.Contains(err.Error(), "--replace") {
		t.Errorf("error %q does not name the other key and --replace", err)
	}
	if got, _ := s.PinnedFor("alice@clinic.test"); len(got) != 1 || got[0].Fingerprint != alice.Public().Fingerprint() {
		t.Errorf("PinnedFor after refused pin = %+v", got)
	}

	// The same through PinAddress on an imported, unpinned key.
	if _, err := importKey(t, s, mallory.Public(), pgp.ImportOptions{Emails: []string{"mallory@evil.test"}}); err != nil {
		t.Fatal(err)
	}
	mfpr := mallory.Public().Fingerprint()
	if err := s.PinAddress(mfpr, "alice@clinic.test", false); !errors.Is(err, pgp.ErrPinConflict) {
		t.Fatalf("PinAddress without replace: %v", err)
	}
	if err := s.PinAddress(mfpr, "alice@clinic.test", true); err != nil {
		t.Fatal(err)
	}
	got, err := s.PinnedFor("Alice@Clinic.test")
	if err != nil || len(got) != 1 || got[0].Fingerprint != mfpr {
		t.Fatalf("PinnedFor after replace = %+v, %v", got, err)
	}
	if e, _ := s.Entry(alice.Public().Fingerprint()); len(e.Emails) != 0 {
		t.Errorf("replaced key still bound to %v", e.Emails)
	}
	if k, _, err := s.Lookup("alice@clinic.test"); err != nil || k.Fingerprint() != mfpr {
		t.Errorf("Lookup after replace = %v, %v", k, err)
	}
	// Pinning is per address: mallory@ was bound unverified, not confirmed.
	if e, _ := s.Entry(mfpr); !slices.Equal(e.Emails, []string{"alice@clinic.test"}) {
		t.Errorf("after PinAddress the key is bound to %v, want only alice", e.Emails)
	}
	// Import with Replace works too, back to Alice's key.
	if _, err := importKey(t, s, alice.Public(), pgp.ImportOptions{Pin: true, Replace: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PinnedFor("alice@clinic.test"); len(got) != 1 || got[0].Fingerprint != alice.Public().Fingerprint() {
		t.Errorf("PinnedFor after import --replace = %+v", got)
	}
}

func TestPinNeverMovesOwnAddress(t *testing.T) {
	kc := realKeychain(t)
	s, err := pgp.OpenStore(t.TempDir(), kc, nil)
	if err != nil {
		t.Fatal(err)
	}
	own, err := s.Generate("Dr Alice", "alice@clinic.test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Delete(own.Fingerprint) })
	mallory := impostorKey(t)
	_, err = importKey(t, s, mallory.Public(), pgp.ImportOptions{Pin: true, Replace: true, Emails: []string{"alice@clinic.test"}})
	var conflict *pgp.PinConflictError
	if !errors.As(err, &conflict) || !conflict.OtherIsOwn || !strings.Contains(err.Error(), "your own key") {
		t.Fatalf("err = %v, want a conflict with the own key", err)
	}
}

// TestLookupOnlyBoundAddresses: a key is used to encrypt only to the
// addresses it is bound to, not to those it merely claims, nor to one
// whose user ID is gone from a refreshed copy.
func TestLookupOnlyBoundAddresses(t *testing.T) {
	mallory := impostorKey(t)
	s := openStore(t)
	if _, err := importKey(t, s, mallory.Public(), pgp.ImportOptions{Emails: []string{"mallory@evil.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lookup("mallory@evil.test"); err != nil {
		t.Errorf("Lookup bound address: %v", err)
	}
	if _, _, err := s.Lookup("alice@clinic.test"); !errors.Is(err, pgp.ErrNotFound) {
		t.Errorf("Lookup claimed address: err = %v, want ErrNotFound", err)
	}
}

// TestLookupSkipsRevokedUserID: a key bound to two addresses, refreshed
// with a copy (made by gpg) in which the owner revoked one user ID, keeps
// its bindings but is no longer used to encrypt to the revoked address.
func TestLookupSkipsRevokedUserID(t *testing.T) {
	g := pgptest.New(t)
	fpr := g.GenerateKey("Rx Old <old@pharmacy.test>", "")
	g.Run(nil, "--passphrase", "", "--quick-add-uid", string(fpr), "Rx New <new@pharmacy.test>")
	s := openStore(t)
	opts := pgp.ImportOptions{Pin: true, Emails: []string{"old@pharmacy.test", "new@pharmacy.test"}}
	if _, err := s.Import(bytes.NewReader(g.Run(nil, "--armor", "--export", string(fpr))), opts); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"old@pharmacy.test", "new@pharmacy.test"} {
		if _, _, err := s.Lookup(a); err != nil {
			t.Fatalf("Lookup(%s) before the revocation: %v", a, err)
		}
	}
	// gpg dates a new self-signature at least a second after the last
	// one, which may be in the future for us: let the clock pass them.
	time.Sleep(2 * time.Second)
	g.Run(nil, "--passphrase", "", "--quick-revoke-uid", string(fpr), "Rx Old <old@pharmacy.test>")
	e, err := s.Import(bytes.NewReader(g.Run(nil, "--armor", "--export", string(fpr))), pgp.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(e.Claimed, "old@pharmacy.test") {
		t.Errorf("revoked user ID still claimed: %v", e.Claimed)
	}
	if _, _, err := s.Lookup("old@pharmacy.test"); !errors.Is(err, pgp.ErrNotUsable) {
		t.Errorf("Lookup(revoked address) err = %v, want ErrNotUsable", err)
	}
	if _, _, err := s.Lookup("new@pharmacy.test"); err != nil {
		t.Errorf("Lookup(new) after the revocation: %v", err)
	}
}

// TestBoundToAndPinnedFor: BoundTo returns every key bound to an address,
// in any spelling of it, pinned ones first; PinnedFor only the pinned
// ones; neither returns anything for an empty or unknown address.
func TestBoundToAndPinnedFor(t *testing.T) {
	s := openStore(t)
	unpinned := pgptest.Key(t, "Alice Old", "alice@clinic.test")
	pinnedKey := pgptest.Key(t, "Dr Alice", "alice@clinic.test")
	if _, err := importKey(t, s, unpinned.Public(), pgp.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := importKey(t, s, pinnedKey.Public(), pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
	fprs := func(es []pgp.Entry) []pgp.Fingerprint {
		var out []pgp.Fingerprint
		for _, e := range es {
			out = append(out, e.Fingerprint)
		}
		return out
	}
	both := []pgp.Fingerprint{pinnedKey.Public().Fingerprint(), unpinned.Public().Fingerprint()}
	for _, tt := range []struct {
		addr        string
		bound, pins []pgp.Fingerprint
	}{
		{"alice@clinic.test", both, both[:1]},
		{"Dr Alice <ALICE@Clinic.Test>", both, both[:1]},
		{"", nil, nil},
		{"not an address", nil, nil},
		{"bob@pharmacy.test", nil, nil},
	} {
		got, err := s.BoundTo(tt.addr)
		if err != nil || !slices.Equal(fprs(got), tt.bound) {
			t.Errorf("BoundTo(%q) = %v, %v; want %v", tt.addr, fprs(got), err, tt.bound)
		}
		got, err = s.PinnedFor(tt.addr)
		if err != nil || !slices.Equal(fprs(got), tt.pins) {
			t.Errorf("PinnedFor(%q) = %v, %v; want %v", tt.addr, fprs(got), err, tt.pins)
		}
	}
}
