package account_test

import (
	"fmt"
	"github.com/securesend/securesend/crypto/keychain/keychaintest"
	"strings"
	"testing"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/home"
)

// testKeychain is the real OS keychain, in a namespace of the test's own.
// Run the tests with scripts/with-keyring.sh; without a keychain they fail.
func testKeychain(t *testing.T) *keychain.Keychain { return keychaintest.Require(t) }

func testHome(t *testing.T) home.Home {
	t.Helper()
	h := home.Home{Dir: t.TempDir()}
	return h
}

// deadKeychain fails like a locked or missing Secret Service.
type deadKeychain struct{}

func (deadKeychain) Get(name string) (string, error) { return "", unavailable(name) }
func (deadKeychain) Set(name, _ string) error        { return unavailable(name) }
func (deadKeychain) Delete(name string) error        { return unavailable(name) }

func unavailable(name string) error {
	return fmt.Errorf("keychain: %q: %w", name, keychain.ErrUnavailable)
}

var _ account.Secrets = deadKeychain{}

func mustNotLeak(t *testing.T, what string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(what, s) {
			t.Errorf("a secret appears in %q", what)
		}
	}
}
