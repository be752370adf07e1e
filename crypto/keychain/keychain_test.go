package keychain

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

// The tests use the real OS keychain (gnome-keyring over D-Bus in CI, see
// scripts/with-keyring.sh). Without one they fail, unless
// SECURESEND_NO_KEYCHAIN_OK=1 says the environment is known to lack one.
func newTestKeychain(t *testing.T) *Keychain {
	t.Helper()
	k := New("securesend-test:" + t.Name())
	if err := k.Set("probe", "x"); err != nil {
		if os.Getenv("SECURESEND_NO_KEYCHAIN_OK") == "1" {
			t.Skipf("no keychain: %v", err)
		}
		t.Fatalf("the tests need a running, unlocked Secret Service: %v", err)
	}
	t.Cleanup(func() { k.Delete("probe") })
	return k
}

func TestSetGetDelete(t *testing.T) {
	k := newTestKeychain(t)
	if err := k.Set("smtp-password", "s3cret"); err != nil {
		t.Fatal(err)
	}
	got, err := k.Get("smtp-password")
	if err != nil || got != "s3cret" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if err := k.Delete("smtp-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get("smtp-password"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete: err = %v, want ErrNotFound", err)
	}
	if err := k.Delete("smtp-password"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestNamespaces(t *testing.T) {
	a := newTestKeychain(t)
	b := New(a.Service() + "-other")
	if err := a.Set("n", "a"); err != nil {
		t.Fatal(err)
	}
	defer a.Delete("n")
	if _, err := b.Get("n"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other namespace sees secret: %v", err)
	}
}

func TestKeyStable(t *testing.T) {
	k := newTestKeychain(t)
	defer k.Delete("store-key")
	k1, err := k.Key("store-key")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := k.Key("store-key")
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 || !bytes.Equal(k1, k2) {
		t.Fatalf("Key not stable: %x vs %x", k1, k2)
	}
}

// TestLookupKey: LookupKey finds what Key made and never creates a key.
func TestLookupKey(t *testing.T) {
	k := newTestKeychain(t)
	defer k.Delete("audit-key")
	if _, err := k.LookupKey("audit-key"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before Key: %v, want ErrNotFound", err)
	}
	if _, err := k.Get("audit-key"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LookupKey created a key: %v", err)
	}
	made, err := k.Key("audit-key")
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.LookupKey("audit-key")
	if err != nil || !bytes.Equal(got, made) {
		t.Fatalf("LookupKey = %x, %v; want %x", got, err, made)
	}
	k.Set("audit-key", "not a key")
	if _, err := k.LookupKey("audit-key"); err == nil || strings.Contains(err.Error(), "not a key") {
		t.Fatalf("malformed entry: %v", err)
	}
}

func TestErrorHasNoSecret(t *testing.T) {
	k := New("securesend-test:none")
	_, err := k.Get("absent-entry")
	if err == nil {
		t.Fatal("expected an error")
	}
	if bytes.Contains([]byte(err.Error()), []byte("s3cret")) {
		t.Fatal("secret in error")
	}
}

// TestLongSecretInParts: Windows' Credential Manager refuses a secret of
// more than 2560 bytes (go-keyring's ErrSetDataTooBig), which a long OAuth
// refresh token or password can exceed (issue 18). Set splits it over
// several entries and Get puts it back together. On Windows this runs
// against the real Credential Manager with its real limit (e2e/windows
// runs this test binary under Wine); elsewhere with a 100-byte part.
func TestLongSecretInParts(t *testing.T) {
	k := newTestKeychain(t)
	if k.part == 0 {
		k.part = 100
	}
	p := k.part
	secret := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i%36]
		}
		return string(b)
	}
	for _, n := range []int{1, p - 1, p, p + 1, 2 * p, 3*p + 17, maxParts * p} {
		t.Run(fmt.Sprint(n, " bytes"), func(t *testing.T) {
			want := secret(n)
			if err := k.Set("token", want); err != nil {
				t.Fatal(err)
			}
			if got, err := k.Get("token"); err != nil || got != want {
				t.Fatalf("Get = %d bytes, %v; want %d bytes back", len(got), err, n)
			}
		})
	}
	// A shorter secret replaces a longer one entirely: no part is left.
	if err := k.Set("token", "short"); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Get("token"); err != nil || got != "short" {
		t.Fatalf("after replacing: %q, %v", got, err)
	}
	if _, err := keyring.Get(k.service, partName("token", 2)); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("part 2 of the old secret is still stored: %v", err)
	}
	if err := k.Set("token", secret(3*p)); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete("token"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"token", partName("token", 2), partName("token", 3)} {
		if _, err := keyring.Get(k.service, name); !errors.Is(err, keyring.ErrNotFound) {
			t.Errorf("after Delete, %q is still stored: %v", name, err)
		}
	}
	if err := k.Set("token", secret(maxParts*p+1)); !errors.Is(err, ErrTooBig) {
		t.Errorf("a secret of more than %d parts: %v, want ErrTooBig", maxParts, err)
	}
	if maxBlob > 0 {
		// The platform limit this works around, for the record.
		err := keyring.Set(k.service, "direct", secret(maxBlob+1))
		t.Logf("go-keyring with %d bytes: %v", maxBlob+1, err)
		keyring.Delete(k.service, "direct")
	}
}
