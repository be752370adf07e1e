package receive_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

var (
	update     = flag.Bool("update", false, "regenerate the committed .eml fixtures in testdata/ (keeping the keys)")
	updateKeys = flag.Bool("update-keys", false, "also regenerate the TEST ONLY keys in testdata/keys (changes every fingerprint)")
)

// The cast of the fixtures. All keys are TEST ONLY, committed unprotected
// in testdata/keys/.
//   - alice: a clinician whose key the user pinned (the good sender)
//   - bob: the user (pharmacist); his secret key decrypts
//   - carol: a key imported but not pinned (unverified)
//   - dave: a pinned key of someone else (for sender mismatch)
//   - mallory: a key the user has never seen
var cast = []struct{ name, uid, email string }{
	{"alice", "Dr Alice Test", "alice@clinic.test"},
	{"bob", "Bob Pharmacist Test", "bob@pharmacy.test"},
	{"carol", "Carol Unverified Test", "carol@clinic.test"},
	{"dave", "Dave Pinned Test", "dave@lab.test"},
	{"mallory", "Mallory Unknown Test", "mallory@evil.test"},
}

type keys map[string]*pgp.Key

// loadKeys reads the TEST ONLY keys, generating missing ones (all of them
// with -update-keys).
func loadKeys(t testing.TB) keys {
	t.Helper()
	ks := keys{}
	for _, c := range cast {
		path := filepath.Join("testdata", "keys", "test_only_"+c.name+".sec.asc")
		if _, err := os.Stat(path); err != nil || *updateKeys {
			k, err := pgp.Generate(c.uid, c.email, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, pgptest.ArmoredSecret(t, k), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to generate)", err)
		}
		k, err := pgp.ReadSecretKey(bytes.NewReader(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		ks[c.name] = k
	}
	return ks
}

// bobStore is the user's key store: alice and dave pinned, carol
// unverified, bob's own public key; mallory absent.
func bobStore(t testing.TB, ks keys) *pgp.Store {
	t.Helper()
	s, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, pin := range map[string]bool{"alice": true, "dave": true, "carol": false, "bob": true} {
		if _, err := s.Import(bytes.NewReader(pgptest.Armored(t, ks[name].Public())), pgp.ImportOptions{Pin: pin}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// aliceGPG returns a gpg home (the real peer) holding alice's secret key
// and bob's public key.
func aliceGPG(t testing.TB, ks keys) *pgptest.GPG {
	t.Helper()
	g := pgptest.New(t)
	g.Import(pgptest.ArmoredSecret(t, ks["alice"]))
	g.Import(pgptest.Armored(t, ks["bob"].Public()))
	return g
}

// gpgSignEncrypt has gpg (an aliceGPG home) sign inner as alice and
// encrypt it to bob, with the extra options, and returns the armored
// OpenPGP message.
func gpgSignEncrypt(t testing.TB, g *pgptest.GPG, inner string, extra ...string) []byte {
	t.Helper()
	plain := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(plain, []byte(inner), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--armor", "--sign", "--encrypt"}, extra...)
	args = append(args, "--local-user", "alice@clinic.test", "--recipient", "bob@pharmacy.test", "--output", "-", plain)
	return g.Run(nil, args...)
}
