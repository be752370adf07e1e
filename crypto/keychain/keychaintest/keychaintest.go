// Package keychaintest gives tests the real OS keychain (gnome-keyring over
// D-Bus in CI: scripts/with-keyring.sh), in a namespace of the test's own.
package keychaintest

import (
	"os"
	"testing"

	"github.com/securesend/securesend/crypto/keychain"
)

// NoKeychainOK is the environment variable that says the environment is
// known to lack a keychain: the tests that need one are then skipped
// instead of failing.
const NoKeychainOK = "SECURESEND_NO_KEYCHAIN_OK"

// Require returns the OS keychain under the service name
// "securesend-test:" + the test's name, after checking that it can store
// a secret. Without a running, unlocked Secret Service the test fails
// (or, with $SECURESEND_NO_KEYCHAIN_OK=1, is skipped).
func Require(t testing.TB) *keychain.Keychain {
	t.Helper()
	k := keychain.New("securesend-test:" + t.Name())
	if err := k.Set("probe", "x"); err != nil {
		if os.Getenv(NoKeychainOK) == "1" {
			t.Skipf("no keychain: %v", err)
		}
		t.Fatalf("the tests need a running, unlocked Secret Service (run them with scripts/with-keyring.sh): %v", err)
	}
	t.Cleanup(func() { k.Delete("probe") })
	return k
}
