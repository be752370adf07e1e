package pgp_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// realKeychain returns the OS keychain under a service unique to the test,
// or skips when there is none (run via scripts/with-keyring.sh).
func realKeychain(t *testing.T) *keychain.Keychain {
	t.Helper()
	kc := keychain.New("securesend-test:" + t.Name() + ":" + time.Now().Format("150405.000000000"))
	if err := kc.Set("probe", "x"); err != nil {
		if os.Getenv("SECURESEND_IN_KEYRING") == "1" {
			t.Fatalf("keychain: %v", err)
		}
		t.Skipf("no OS keychain (run via scripts/with-keyring.sh): %v", err)
	}
	kc.Delete("probe")
	return kc
}

func TestStoreImportBindsAddress(t *testing.T) {
	s, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := pgptest.Key(t, "Pharmacy", "rx@pharmacy.test")
	pub := pgptest.Armored(t, k.Public())

	if _, err := s.Import(bytes.NewReader(pub), pgp.ImportOptions{Emails: []string{"other@pharmacy.test"}}); !errors.Is(err, pgp.ErrAddressNotInKey) {
		t.Fatalf("import for a foreign address: err = %v, want ErrAddressNotInKey", err)
	}
	e, err := s.Import(bytes.NewReader(pub), pgp.ImportOptions{Emails: []string{"RX@pharmacy.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Trust != pgp.Unverified || len(e.Emails) != 1 || e.Emails[0] != "rx@pharmacy.test" {
		t.Errorf("entry = %+v", e)
	}
	got, ent, err := s.Lookup("Rx <rx@PHARMACY.test>")
	if err != nil || got.Fingerprint() != k.Public().Fingerprint() || ent.Trust != pgp.Unverified {
		t.Fatalf("Lookup = %v, %+v, %v", got, ent, err)
	}
	if err := s.Pin(e.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Entry(e.Fingerprint); e.Trust != pgp.Pinned {
		t.Errorf("after Pin trust = %s", e.Trust)
	}
	// Re-import keeps the pin.
	if e, err := s.Import(bytes.NewReader(pub), pgp.ImportOptions{}); err != nil || e.Trust != pgp.Pinned {
		t.Errorf("re-import: %+v, %v", e, err)
	}
	if _, _, err := s.Lookup("nobody@pharmacy.test"); !errors.Is(err, pgp.ErrNotFound) {
		t.Errorf("Lookup unknown: %v", err)
	}
	if err := s.Delete(e.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lookup("rx@pharmacy.test"); !errors.Is(err, pgp.ErrNotFound) {
		t.Errorf("Lookup after delete: %v", err)
	}
}

func TestStoreNeverEncryptsToRevokedKey(t *testing.T) {
	s, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := pgptest.Key(t, "Revoked", "gone@test.invalid")
	if err := k.Entity().RevokeKey(packet.KeyRetired, "retired", pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := k.Entity().Serialize(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(&b, pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lookup("gone@test.invalid"); !errors.Is(err, pgp.ErrRevoked) {
		t.Errorf("Lookup revoked key: err = %v, want ErrRevoked", err)
	}
}

// TestSecretKeyNeedsKeychain checks the key protection: the on-disk file
// alone does not yield the key, the keychain passphrase does, and without
// the keychain entry the key is locked.
func TestSecretKeyNeedsKeychain(t *testing.T) {
	kc := realKeychain(t)
	dir := t.TempDir()
	s, err := pgp.OpenStore(dir, kc, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Generate("Dr Own", "own@test.invalid")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Delete(e.Fingerprint) })
	if !e.Secret || e.Trust != pgp.Pinned {
		t.Errorf("own entry = %+v", e)
	}
	k, err := s.SecretKey("")
	if err != nil {
		t.Fatal(err)
	}
	if k.Public().Fingerprint() != e.Fingerprint {
		t.Fatalf("unlocked %s, want %s", k.Public().Fingerprint(), e.Fingerprint)
	}

	// The file on disk is locked: no passphrase or a guess does not open it.
	path := filepath.Join(dir, "secret", string(e.Fingerprint)+".asc")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "PRIVATE KEY BLOCK") {
		t.Fatalf("secret file is not an armored secret key")
	}
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !el[0].PrivateKey.Encrypted {
		t.Fatal("secret key on disk is not encrypted")
	}
	for _, guess := range [][]byte{nil, []byte(""), []byte("password")} {
		if _, err := pgp.ReadSecretKey(bytes.NewReader(data), guess); !errors.Is(err, pgp.ErrWrongPassphrase) {
			t.Errorf("file opened with %q: %v", guess, err)
		}
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, %v", info.Mode(), err)
	}

	// Without the keychain entry the key stays locked.
	if err := kc.Delete("pgp-passphrase:" + string(e.Fingerprint)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SecretKey(e.Fingerprint); !errors.Is(err, pgp.ErrSecretLocked) {
		t.Errorf("SecretKey without keychain entry: err = %v, want ErrSecretLocked", err)
	}
}

func TestStoreImportSecretFromGnuPG(t *testing.T) {
	kc := realKeychain(t)
	g := pgptest.New(t)
	fpr := g.GenerateKey("Gpg User <gpg@test.invalid>", "pw")
	exported := g.Run(nil, "--passphrase", "pw", "--armor", "--export-secret-keys", string(fpr))
	s, err := pgp.OpenStore(t.TempDir(), kc, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.ImportSecret(bytes.NewReader(exported), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Delete(e.Fingerprint) })
	if e.Fingerprint != fpr {
		t.Errorf("fingerprint %s, want %s", e.Fingerprint, fpr)
	}
	if _, err := s.SecretKey(fpr); err != nil {
		t.Fatal(err)
	}
}

// TestStoreWritersTakeTurns imports keys through two Store values on one
// directory at once, as the GUI and a CLI command would from two
// processes; each Store has its own mutex, so only the lock file orders
// them. No import may be lost.
func TestStoreWritersTakeTurns(t *testing.T) {
	dir := t.TempDir()
	var stores [2]*pgp.Store
	for i := range stores {
		s, err := pgp.OpenStore(dir, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	const n = 16
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = pgptest.Armored(t, pgptest.Key(t, "Recipient", fmt.Sprintf("r%d@pharmacy.test", i)).Public())
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := stores[i%2].Import(bytes.NewReader(keys[i]), pgp.ImportOptions{Pin: i%3 == 0}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	es, err := stores[0].List()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != n {
		t.Fatalf("%d keys in the store after %d concurrent imports", len(es), n)
	}
}
