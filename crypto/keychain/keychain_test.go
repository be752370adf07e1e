package keychain

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
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
