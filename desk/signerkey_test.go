package desk

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/securesend/securesend/receive"
)

// TestSaveSignerKey: the key a message carries is written to a new file
// that only its owner can read, an existing file is never overwritten,
// and nothing is written when the message carries no key.
func TestSaveSignerKey(t *testing.T) {
	dir := t.TempDir()
	const key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nTEST ONLY\n-----END PGP PUBLIC KEY BLOCK-----\n"
	v := &Verification{Report: &receive.Report{Verdict: receive.UnknownSigner, SignerKey: key}}
	path := filepath.Join(dir, "signer.asc")
	if ok, err := v.SaveSignerKey(path); !ok || err != nil {
		t.Fatalf("SaveSignerKey: %t, %v", ok, err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != key {
		t.Fatalf("file holds %q (%v), want the key", got, err)
	}
	if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if ok, err := v.SaveSignerKey(path); ok || !errors.Is(err, fs.ErrExist) {
		t.Errorf("second save over the file: %t, %v; want a refusal (file exists)", ok, err)
	}
	none := &Verification{Report: &receive.Report{Verdict: receive.Verified}}
	other := filepath.Join(dir, "none.asc")
	if ok, err := none.SaveSignerKey(other); ok || err != nil {
		t.Errorf("no key: %t, %v", ok, err)
	}
	if _, err := os.Stat(other); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no key, yet %s was created", other)
	}
}
