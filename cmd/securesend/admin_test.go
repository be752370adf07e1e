package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile/author"
)

// runAdminCLI runs "securesend args..." in-process with its own home.
func runAdminCLI(t *testing.T, homeDir string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string {
		switch k {
		case home.EnvVar:
			return homeDir
		case "SECURESEND_SYSTEM_DIR":
			return filepath.Join(homeDir, "no-system-profile")
		}
		return os.Getenv(k)
	}}
	code := run(context.Background(), e, args)
	return out.String(), errb.String(), code
}

// Without --passphrase-stdin the admin key's passphrase is generated and kept
// only in the OS keychain, and "profile sign" finds it there. Runs inside
// scripts/with-keyring.sh (the real Secret Service).
func TestAdminKeyPassphraseInKeychain(t *testing.T) {
	if os.Getenv("SECURESEND_IN_KEYRING") != "1" {
		t.Skip("run via scripts/with-keyring.sh to use the real OS keychain")
	}
	dir := t.TempDir()
	homeDir := filepath.Join(dir, "home")
	out, errs, code := runAdminCLI(t, homeDir, "admin", "key", "generate", "--name", "Kowhai IT", "--email", "it@kowhai.example.nz", "--out", dir)
	if code != 0 {
		t.Fatalf("key generate: %s", errs)
	}
	fpr := regexp.MustCompile(`fingerprint: ([0-9A-F]{40})`).FindStringSubmatch(out)
	if fpr == nil || !strings.Contains(out, "kept in this computer's OS keychain") {
		t.Fatalf("output: %s", out)
	}
	kc := keychain.New(home.Home{Dir: homeDir}.KeychainService())
	t.Cleanup(func() { kc.Delete(author.PassphraseEntry(fpr[1])) })
	pass, err := kc.Get(author.PassphraseEntry(fpr[1]))
	if err != nil || len(pass) < 40 {
		t.Fatalf("passphrase not in the keychain: %v", err)
	}
	priv, err := os.ReadFile(filepath.Join(dir, "admin-key.private.asc"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "admin-key.private.asc")); fi.Mode().Perm() != 0o600 {
		t.Errorf("private key file mode %v", fi.Mode().Perm())
	}
	if bytes.Contains(priv, []byte(pass)) || strings.Contains(out+errs, pass) {
		t.Fatal("the passphrase leaked into a file or the output")
	}
	prof := filepath.Join(dir, "profile.toml")
	if _, errs, code := runAdminCLI(t, homeDir, "admin", "profile", "init", "--out", prof); code != 0 {
		t.Fatal(errs)
	}
	if _, errs, code := runAdminCLI(t, homeDir, "admin", "profile", "sign", "--profile", prof, "--key", filepath.Join(dir, "admin-key.private.asc")); code != 0 {
		t.Fatalf("sign with the keychain passphrase: %s", errs)
	}
	out, errs, code = runAdminCLI(t, homeDir, "admin", "profile", "verify", "--profile", prof, "--key", filepath.Join(dir, "admin-key.asc"), "--fingerprint", fpr[1])
	if code != 0 || !strings.Contains(out, "OK:") {
		t.Fatalf("verify: %s %s", out, errs)
	}
	// another home has no access to this passphrase
	if _, errs, code := runAdminCLI(t, filepath.Join(dir, "other-home"), "admin", "profile", "sign", "--profile", prof, "--key", filepath.Join(dir, "admin-key.private.asc")); code == 0 || !strings.Contains(errs, "--passphrase-stdin") {
		t.Fatalf("another home signed: %s", errs)
	}
}
