package author

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/profile"
)

// testdata is the profile package's fixtures (TEST ONLY keys).
const testdata = "../testdata"

const testPassphrase = "TEST ONLY passphrase"

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// copyFixture copies a fixture into dir and returns its path.
func copyFixture(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, fixture(t, name), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testKeychain is a fresh namespace of the real OS keychain, removed
// after the test; the test is skipped outside scripts/with-keyring.sh,
// except in CI, where gnome-keyring is installed and a skip would hide it.
func testKeychain(t *testing.T) *keychain.Keychain {
	t.Helper()
	if os.Getenv("SECURESEND_IN_KEYRING") != "1" {
		if os.Getenv("CI") == "true" {
			t.Fatal("not run via scripts/with-keyring.sh (CI=true, so this is a failure, not a skip)")
		}
		t.Skip("run via scripts/with-keyring.sh to use the real OS keychain")
	}
	b := make([]byte, 6)
	rand.Read(b)
	return keychain.New("securesend-test-author-" + hex.EncodeToString(b))
}

// TestKeyAndSignWithGivenPassphrase: the whole admin flow without the
// keychain: generate the key, write the example, add a recipient, sign,
// then Bundle.Verify and Bundle.Load accept it; an existing key file is
// not replaced without force.
func TestKeyAndSignWithGivenPassphrase(t *testing.T) {
	dir := t.TempDir()
	pass := Passphrase{Given: []byte("correct horse battery staple")}
	k, err := GenerateKey(dir, "Kowhai IT", "it@kowhai.example.nz", pass, false)
	if err != nil {
		t.Fatal(err)
	}
	if k.InKeychain || k.Public != filepath.Join(dir, PublicKeyFile) {
		t.Errorf("key files: %+v", k)
	}
	if fi, err := os.Stat(k.Private); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key file: %v, %v", fi, err)
	}
	if _, err := GenerateKey(dir, "Kowhai IT", "it@kowhai.example.nz", pass, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second key into the same folder: %v", err)
	}
	prof := filepath.Join(dir, "profile.toml")
	if err := WriteExample(prof, "Kowhai Medical Centre", false); err != nil {
		t.Fatal(err)
	}
	p, err := AddRecipient(prof, profile.Recipient{Name: "Harbour Pharmacy", Email: "scripts@harbour-pharmacy.example.nz",
		PublicKey: string(fixture(t, "recipient_harbour_pharmacy.asc"))})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Recipients); n == 0 || p.Recipients[n-1].Fingerprint == "" {
		t.Fatalf("recipient not added: %+v", p.Recipients)
	}
	if _, err := SignFile(prof, k.Private, prof+".sig", Passphrase{Given: []byte("wrong")}); err == nil {
		t.Fatal("signed with a wrong passphrase")
	}
	if _, err := SignFile(prof, k.Private, prof+".sig", pass); err != nil {
		t.Fatal(err)
	}
	b := Bundle{Profile: prof, Key: k.Public, Fingerprint: k.Fingerprint}
	if _, got, err := b.Verify(); err != nil || len(got.Recipients) != len(p.Recipients) {
		t.Fatalf("verify: %v", err)
	}
	l, err := b.Load()
	if err != nil || l.Source != prof || !l.Managed() {
		t.Fatalf("load: %+v, %v", l, err)
	}
}

// TestBundleRefuses: a profile changed after signing, one signed by
// another key than the pinned fingerprint, and an unsigned one are
// refused by Verify and by Load.
func TestBundleRefuses(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "profile.toml")
	if err := os.WriteFile(prof, fixture(t, "good_minimal.toml"), 0o644); err != nil {
		t.Fatal(err)
	}
	priv := copyFixture(t, dir, "admin_TEST_ONLY.private.asc")
	pub := copyFixture(t, dir, "admin_TEST_ONLY.asc")
	other := copyFixture(t, dir, "other_admin_TEST_ONLY.asc")
	if _, err := SignFile(prof, priv, prof+".sig", Passphrase{Given: []byte(testPassphrase)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := (Bundle{Profile: prof, Key: pub}).Verify(); err != nil {
		t.Fatalf("the signed fixture: %v", err)
	}
	_, otherFP, err := profile.ParsePublicKey(fixture(t, "other_admin_TEST_ONLY.asc"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(dir, "tampered.toml")
	data := bytes.Replace(fixture(t, "good_minimal.toml"), []byte("serial = "), []byte("serial = 9"), 1)
	if err := os.WriteFile(tampered, data, 0o644); err != nil {
		t.Fatal(err)
	}
	unsigned := filepath.Join(dir, "unsigned.toml")
	if err := os.WriteFile(unsigned, fixture(t, "good_minimal.toml"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    Bundle
		want error
	}{
		{"changed after signing", Bundle{Profile: tampered, Signature: prof + ".sig", Key: pub}, profile.ErrTampered},
		{"key not the pinned one", Bundle{Profile: prof, Key: other, Fingerprint: otherFP}, profile.ErrWrongKey},
		{"unsigned", Bundle{Profile: unsigned, Key: pub}, profile.ErrUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := tt.b.Verify(); !errors.Is(err, tt.want) {
				t.Errorf("Verify: %v, want %v", err, tt.want)
			}
			if _, err := tt.b.Load(); !errors.Is(err, tt.want) {
				t.Errorf("Load: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestAddRecipientLosesNothing: a recipient whose key cannot encrypt, and
// a profile that does not parse, leave the file byte for byte as it was.
func TestAddRecipientLosesNothing(t *testing.T) {
	tests := []struct {
		name    string
		profile []byte
		key     string
		wantErr string
	}{
		{"sign-only key", fixture(t, "good_minimal.toml"), "recipient_signonly_no_encryption_key.asc", "not added"},
		{"not a key", fixture(t, "good_minimal.toml"), "good_minimal.toml", "not added"},
		{"broken profile", fixture(t, "bad_duplicate_key.toml"), "recipient_harbour_pharmacy.asc", "fix the profile first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prof := filepath.Join(t.TempDir(), "profile.toml")
			if err := os.WriteFile(prof, tt.profile, 0o640); err != nil {
				t.Fatal(err)
			}
			_, err := AddRecipient(prof, profile.Recipient{Name: "Harbour Pharmacy", Email: "scripts@harbour-pharmacy.example.nz", PublicKey: string(fixture(t, tt.key))})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
			}
			if got, _ := os.ReadFile(prof); !bytes.Equal(got, tt.profile) {
				t.Error("the profile file changed")
			}
		})
	}
}

// TestPassphraseInKeychain: without a given passphrase one is generated
// and kept only in the keychain; SignFile finds it there; another
// keychain namespace does not have it, and the passphrase is in no file.
func TestPassphraseInKeychain(t *testing.T) {
	kc := testKeychain(t)
	dir := t.TempDir()
	k, err := GenerateKey(dir, "Kowhai IT", "it@kowhai.example.nz", Passphrase{Keychain: kc}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kc.Delete(PassphraseEntry(k.Fingerprint)) })
	secret, err := kc.Get(PassphraseEntry(k.Fingerprint))
	if err != nil || len(secret) < 40 || !k.InKeychain {
		t.Fatalf("passphrase in the keychain: %d chars, %v", len(secret), err)
	}
	for _, f := range []string{k.Public, k.Private} {
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte(secret)) {
			t.Fatalf("the passphrase is in %s", f)
		}
	}
	prof := filepath.Join(dir, "profile.toml")
	if err := WriteExample(prof, "Kowhai Medical Centre", false); err != nil {
		t.Fatal(err)
	}
	if _, err := SignFile(prof, k.Private, prof+".sig", Passphrase{Keychain: kc}); err != nil {
		t.Fatal(err)
	}
	other := testKeychain(t)
	if _, err := SignFile(prof, k.Private, prof+".sig", Passphrase{Keychain: other}); !errors.Is(err, ErrNoPassphrase) {
		t.Fatalf("signed with another keychain: %v", err)
	}
}

// TestFindSource: found from a subfolder of the module, by its module
// line only; not found above a go.mod of another module.
func TestFindSource(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		gomod string
		found bool
	}{
		{"module github.com/securesend/securesend\n\ngo 1.24\n", true},
		{"module \"github.com/securesend/securesend\"\n", true},
		{"module github.com/securesend/securesend-fork\n", false},
		{"// module github.com/securesend/securesend\nmodule example.org/x\n", false},
	}
	for _, tt := range tests {
		if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte(tt.gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := FindSource(sub)
		if tt.found && (err != nil || got != root) {
			t.Errorf("%q: %q, %v; want %q", tt.gomod, got, err, root)
		}
		if !tt.found && got == root {
			t.Errorf("%q: found, want not", tt.gomod)
		}
	}
}
